import type { DeviceRule, ResourceLimits } from '../../types/resources.js';
import { parseBytes } from '../units.js';

/** Limits in the units the kernel files take. `undefined`: leave as is. */
export interface NormalizedLimits {
  memory?: number;
  /** Memory + swap; -1 unlimited. */
  memorySwap?: number;
  memoryReservation?: number;
  /** Microseconds per `cpuPeriod`; -1 unlimited. */
  cpuQuota?: number;
  cpuPeriod?: number;
  cpuShares?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  /** -1 unlimited. */
  pidsLimit?: number;
  blkioWeight?: number;
  /** The full allow-list (Docker's defaults plus the caller's); only at creation. */
  devices?: DeviceRule[];
}

/** The CFS period berth uses, in microseconds (as Docker). */
export const CPU_PERIOD_US = 100_000;
const MIN_MEMORY = 6 * 1024 * 1024;

/** Docker's default device allow-list: create any node, use only these. */
export const DEFAULT_DEVICE_RULES: readonly DeviceRule[] = [
  { type: 'c', major: '*', minor: '*', access: 'm' },
  { type: 'b', major: '*', minor: '*', access: 'm' },
  { type: 'c', major: 1, minor: 3, access: 'rwm' }, // null
  { type: 'c', major: 1, minor: 5, access: 'rwm' }, // zero
  { type: 'c', major: 1, minor: 7, access: 'rwm' }, // full
  { type: 'c', major: 1, minor: 8, access: 'rwm' }, // random
  { type: 'c', major: 1, minor: 9, access: 'rwm' }, // urandom
  { type: 'c', major: 5, minor: 0, access: 'rwm' }, // tty
  { type: 'c', major: 5, minor: 1, access: 'rwm' }, // console
  { type: 'c', major: 5, minor: 2, access: 'rwm' }, // ptmx
  { type: 'c', major: 136, minor: '*', access: 'rwm' }, // pts
];

/** A privileged container's device allow-list: every device, every access. */
export const ALL_DEVICES: readonly DeviceRule[] = [{ type: 'a', major: '*', minor: '*', access: 'rwm' }];

/** True when a rule of `rules` allows every access to every device (`a *:* rwm`): there is nothing to restrict. */
export function allowsEveryDevice(rules: readonly DeviceRule[]): boolean {
  return rules.some((r) => r.type === 'a' && r.major === '*' && r.minor === '*' && [...'rwm'].every((a) => r.access.includes(a)));
}

const CPU_LIST = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

function integerIn(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`${what} must be an integer`);
  if (value < min || value > max) throw new RangeError(`${what} must be between ${min} and ${max}, got ${value}`);
  return value;
}

function deviceRule(rule: unknown, index: number): DeviceRule {
  const what = `devices[${index}]`;
  if (typeof rule !== 'object' || rule === null) throw new TypeError(`${what} must be { type, major, minor, access }`);
  const { type, major, minor, access } = rule as DeviceRule;
  if (type !== 'c' && type !== 'b' && type !== 'a') throw new TypeError(`${what}.type must be 'c', 'b' or 'a'`);
  for (const [key, n] of [['major', major], ['minor', minor]] as const) {
    if (n !== '*') integerIn(n, `${what}.${key}`, 0, 0xfffff);
  }
  if (typeof access !== 'string' || !/^[rwm]{1,3}$/.test(access)) throw new TypeError(`${what}.access must be letters of 'rwm'`);
  return { type, major, minor, access };
}

/**
 * Validates limits and converts them to kernel units; throws TypeError or
 * RangeError naming the option. With `creating`, fills Docker's defaults
 * (swap = 2 × memory, the default device list).
 */
export function normalizeLimits(limits: ResourceLimits, creating: boolean): NormalizedLimits {
  const out: NormalizedLimits = {};
  if (limits.memory !== undefined) {
    out.memory = parseBytes(limits.memory, 'memory');
    if (out.memory < MIN_MEMORY) throw new RangeError(`memory must be at least 6m, got ${limits.memory}`);
  }
  if (limits.memorySwap !== undefined) {
    out.memorySwap = limits.memorySwap === -1 || limits.memorySwap === '-1' ? -1 : parseBytes(limits.memorySwap, 'memorySwap');
    if (out.memory === undefined && creating) throw new TypeError('memorySwap needs memory to be set too');
    if (out.memorySwap !== -1 && out.memory !== undefined && out.memorySwap < out.memory) {
      throw new RangeError(`memorySwap (${limits.memorySwap}) must be at least memory (${limits.memory}); it counts memory plus swap`);
    }
  } else if (creating && out.memory !== undefined) {
    out.memorySwap = out.memory * 2;
  }
  if (limits.memoryReservation !== undefined) {
    out.memoryReservation = parseBytes(limits.memoryReservation, 'memoryReservation');
    if (out.memory !== undefined && out.memoryReservation > out.memory) {
      throw new RangeError('memoryReservation must not be above memory');
    }
  }
  if (limits.cpus !== undefined) {
    if (typeof limits.cpus !== 'number' || !Number.isFinite(limits.cpus)) throw new TypeError('cpus must be a number, e.g. 1.5');
    if (limits.cpus < 0.01 || limits.cpus > 1024) throw new RangeError(`cpus must be between 0.01 and 1024, got ${limits.cpus}`);
    out.cpuQuota = Math.round(limits.cpus * CPU_PERIOD_US);
    out.cpuPeriod = CPU_PERIOD_US;
  }
  if (limits.cpuShares !== undefined) out.cpuShares = integerIn(limits.cpuShares, 'cpuShares', 2, 262144);
  for (const key of ['cpusetCpus', 'cpusetMems'] as const) {
    const value = limits[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || !CPU_LIST.test(value)) throw new TypeError(`${key} must be a list like '0-1,3', got '${String(value)}'`);
    out[key] = value;
  }
  if (limits.pidsLimit !== undefined) {
    out.pidsLimit = limits.pidsLimit === -1 ? -1 : integerIn(limits.pidsLimit, 'pidsLimit', 1, 4194304);
  }
  if (limits.blkioWeight !== undefined) out.blkioWeight = integerIn(limits.blkioWeight, 'blkioWeight', 10, 1000);
  if (limits.devices !== undefined && !Array.isArray(limits.devices)) throw new TypeError('devices must be an array of rules');
  if (creating) out.devices = [...DEFAULT_DEVICE_RULES, ...(limits.devices ?? []).map(deviceRule)];
  return out;
}

/** Docker's conversion of cpu shares (2–262144) to a cgroup v2 weight (1–10000). */
export function sharesToWeight(shares: number): number {
  return Math.round(1 + ((shares - 2) * 9999) / 262142);
}
