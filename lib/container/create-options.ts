import { isAbsolute } from 'node:path';
import { constants } from 'node:os';
import type { ContainerCreateOptions, Ulimit } from '../../types/container.js';
import { parseBytes } from '../units.js';
import { closestName } from '../closest-name.js';
import { normalizeLimits } from '../cgroup/resource-limits.js';
import { validateMountOptions } from '../volume/mount-options.js';
import { parsePorts } from '../network/port-bindings.js';
import { parseIp } from '../network/ipv4.js';
import { isBridgeNetwork, parseSlirp4netns } from '../network/network-mode.js';
import { checkTimeout, checkWaitStrategy } from './wait-strategies/wait-for.js';
import { checkHealthcheckOption } from './healthcheck.js';
import { availableCapabilities, CAPABILITY_NAMES, DEFAULT_CAPABILITIES, RLIMIT_RESOURCES, type CapabilityName } from './security-defaults.js';
import { checkSeccompOption } from './seccomp-profile.js';
import { checkUsernsOption } from '../userns/userns-option.js';

const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const HOSTNAME_PATTERN = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
const ENV_NAME_PATTERN = /^[^=\0]+$/;

function fail(message: string): never {
  throw new TypeError(message);
}

/**
 * Every option `create()` knows: the one list that plain JavaScript callers'
 * option names are checked against. The type check below keeps it complete;
 * `seccomp`, `privileged` and `noNewPrivileges` are the security options.
 */
export const CREATE_OPTION_NAMES = [
  'image', 'pull', 'platform', 'rootfs', 'cmd', 'entrypoint', 'env', 'workdir', 'user', 'hostname', 'name', 'labels',
  'tty', 'ttySize', 'stdin', 'attach', 'capAdd', 'capDrop', 'readonlyRootfs', 'ulimits', 'stopSignal', 'stopTimeout', 'log',
  'network', 'networkAliases', 'ip', 'ports', 'restart', 'autoRemove', 'cgroupParent', 'mounts', 'volumesFrom',
  'memory', 'memorySwap', 'memoryReservation', 'cpus', 'cpuShares', 'cpusetCpus', 'cpusetMems', 'pidsLimit', 'blkioWeight', 'devices',
  'seccomp', 'privileged', 'noNewPrivileges', 'waitFor', 'startupTimeout', 'removeOnOwnerExit', 'init', 'healthcheck',
  'userns',
] as const;
// a compile error here names an option of ContainerCreateOptions missing from the list
const listsEveryOption: Exclude<keyof ContainerCreateOptions, (typeof CREATE_OPTION_NAMES)[number]> extends never ? true : never = true;
void listsEveryOption;

/** A container name as Docker allows it: letters, digits, `_ . -`, starting with a letter or digit, at most 128 characters. */
export function checkContainerName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) fail(`name '${String(name)}' must match ${NAME_PATTERN} (letters, digits, _ . -)`);
  if (name.length > 128) throw new RangeError('name must be at most 128 characters');
}

/**
 * Refuses option names that are not in `known` (a typo such as `memroy`
 * would otherwise be ignored silently in plain JavaScript), naming the
 * closest known one.
 */
export function refuseUnknownOptions(options: object, known: readonly string[], what: string): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) fail(`${what}: unknown option '${key}' (did you mean '${closestName(key, known)}'?)`);
  }
}

function checkStringArray(value: unknown, what: string, allowEmpty: boolean): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    fail(`${what} must be an array of strings`);
  }
  if (!allowEmpty && value.length === 0) fail(`${what} must not be empty`);
  if (value.some((item: string) => item.includes('\0'))) fail(`${what} must not contain NUL characters`);
  return value as string[];
}

function checkString(value: unknown, what: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') fail(`${what} must be a string`);
  if (value.includes('\0')) fail(`${what} must not contain NUL characters`);
  return value;
}

function checkBoolean(value: unknown, what: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') fail(`${what} must be a boolean`);
  return value;
}

function checkStringRecord(value: unknown, what: string): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${what} must be an object of strings`);
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') fail(`${what}.${key} must be a string`);
  }
  return value as Record<string, string>;
}

/** `env` as `KEY=value` strings. */
export function normalizeEnv(env: ContainerCreateOptions['env']): string[] {
  if (env === undefined) return [];
  const entries = Array.isArray(env)
    ? (checkStringArray(env, 'env', true) ?? [])
    : Object.entries(checkStringRecord(env, 'env') ?? {}).map(([key, value]) => `${key}=${value}`);
  for (const entry of entries) {
    const name = entry.split('=', 1)[0]!;
    if (!entry.includes('=') || !ENV_NAME_PATTERN.test(name) || entry.includes('\0')) {
      fail(`env entry '${entry}' must look like KEY=value`);
    }
  }
  return entries;
}

/** A capability name in canonical form (`'net_admin'`, `'CAP_NET_ADMIN'` → `'NET_ADMIN'`). */
function capabilityName(name: string, what: string): CapabilityName | 'ALL' {
  const upper = name.toUpperCase().replace(/^CAP_/, '');
  if (upper === 'ALL') return 'ALL';
  if (!(CAPABILITY_NAMES as readonly string[]).includes(upper)) fail(`${what}: unknown capability '${name}'`);
  return upper as CapabilityName;
}

/**
 * Docker's default set with `capAdd` and `capDrop` applied (drop first, as
 * Docker does); every capability when `privileged` (Docker ignores both lists
 * then). "Every" and `'ALL'` are those berth has itself (its bounding set).
 */
export function effectiveCapabilities(capAdd: string[] = [], capDrop: string[] = [], privileged = false): CapabilityName[] {
  if (privileged) return [...availableCapabilities()];
  const drop = capDrop.map((name) => capabilityName(name, 'capDrop'));
  const add = capAdd.map((name) => capabilityName(name, 'capAdd'));
  let set = new Set<CapabilityName>(drop.includes('ALL') ? [] : DEFAULT_CAPABILITIES);
  for (const name of drop) if (name !== 'ALL') set.delete(name);
  if (add.includes('ALL')) set = new Set(availableCapabilities());
  for (const name of add) if (name !== 'ALL') set.add(name);
  return CAPABILITY_NAMES.filter((name) => set.has(name));
}

function checkUlimits(value: unknown): Record<string, Ulimit> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('ulimits must be an object');
  for (const [name, limit] of Object.entries(value as Record<string, unknown>)) {
    if (!(name in RLIMIT_RESOURCES)) fail(`ulimits: unknown resource '${name}' (one of ${Object.keys(RLIMIT_RESOURCES).join(', ')})`);
    const { soft, hard } = (limit ?? {}) as Partial<Ulimit>;
    for (const [key, number] of [['soft', soft], ['hard', hard]] as const) {
      if (typeof number !== 'number' || !Number.isInteger(number)) fail(`ulimits.${name}.${key} must be an integer`);
      if (number < -1) throw new RangeError(`ulimits.${name}.${key} must be ≥ 0, or -1 for unlimited`);
    }
    const unlimited = (n: number) => (n === -1 ? Infinity : n);
    if (unlimited(soft!) > unlimited(hard!)) throw new RangeError(`ulimits.${name}: soft limit ${soft} is above hard limit ${hard}`);
  }
  return value as Record<string, Ulimit>;
}

/**
 * Checks every option's type and range; throws `TypeError`/`RangeError`
 * naming the option before anything touches the system.
 */
export function validateCreateOptions(options: ContainerCreateOptions): void {
  if (typeof options !== 'object' || options === null) fail('container options must be an object');
  refuseUnknownOptions(options, CREATE_OPTION_NAMES, 'create');
  const image = checkString(options.image, 'image');
  const rootfs = checkString(options.rootfs, 'rootfs');
  if (image === undefined && rootfs === undefined) fail("either 'image' or 'rootfs' is required");
  if (image !== undefined && rootfs !== undefined) fail("give 'image' or 'rootfs', not both");
  if (rootfs !== undefined && !isAbsolute(rootfs)) fail(`rootfs must be an absolute path, got '${rootfs}'`);
  checkStringArray(options.cmd, 'cmd', true);
  checkStringArray(options.entrypoint, 'entrypoint', true);
  normalizeEnv(options.env);
  const workdir = checkString(options.workdir, 'workdir');
  if (workdir !== undefined && !workdir.startsWith('/')) fail(`workdir must be an absolute path, got '${workdir}'`);
  const user = checkString(options.user, 'user');
  if (user !== undefined && !/^[^:\s]+(:[^:\s]+)?$/.test(user)) fail(`user must look like 'name', 'uid', 'name:group' or 'uid:gid', got '${user}'`);
  const hostname = checkString(options.hostname, 'hostname');
  if (hostname !== undefined && (hostname.length > 64 || !HOSTNAME_PATTERN.test(hostname))) fail(`hostname '${hostname}' is not a valid host name`);
  const name = checkString(options.name, 'name');
  if (name !== undefined) checkContainerName(name);
  checkStringRecord(options.labels, 'labels');
  for (const key of ['tty', 'stdin', 'attach', 'readonlyRootfs', 'privileged', 'noNewPrivileges', 'removeOnOwnerExit', 'init'] as const) {
    checkBoolean(options[key], key);
  }
  checkSeccompOption(options.seccomp);
  checkUsernsOption(options.userns);
  if (options.ttySize !== undefined) {
    const { rows, cols } = options.ttySize;
    for (const [key, n] of [['rows', rows], ['cols', cols]] as const) {
      if (!Number.isInteger(n)) fail(`ttySize.${key} must be an integer`);
      if (n < 1 || n > 65535) throw new RangeError(`ttySize.${key} must be between 1 and 65535`);
    }
  }
  effectiveCapabilities(checkStringArray(options.capAdd, 'capAdd', true), checkStringArray(options.capDrop, 'capDrop', true));
  checkUlimits(options.ulimits);
  const stopSignal = checkString(options.stopSignal, 'stopSignal');
  if (stopSignal !== undefined && !(stopSignal in constants.signals)) fail(`stopSignal: unknown signal '${stopSignal}'`);
  if (options.stopTimeout !== undefined) {
    if (typeof options.stopTimeout !== 'number' || Number.isNaN(options.stopTimeout)) fail('stopTimeout must be a number of seconds');
    if (options.stopTimeout < 0) throw new RangeError('stopTimeout must not be negative');
  }
  normalizeLimits(options, true);
  validateMountOptions(options.mounts, options.volumesFrom);
  checkBoolean(options.autoRemove, 'autoRemove');
  const network = checkString(options.network, 'network') ?? 'none';
  if (!/^(none|host|container:[a-zA-Z0-9][a-zA-Z0-9_.-]*|slirp4netns:.*|[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63})$/.test(network)) {
    fail(`network must be 'none', 'host', 'container:<id or name>', 'slirp4netns' or a network name, got '${network}'`);
  }
  parseSlirp4netns(network);
  const bridged = isBridgeNetwork(network);
  const aliases = checkStringArray(options.networkAliases, 'networkAliases', true);
  if ((aliases !== undefined || options.ip !== undefined) && !bridged) fail('networkAliases and ip need a bridge network in network');
  if (options.ip !== undefined) parseIp(checkString(options.ip, 'ip')!, 'ip');
  const ports = parsePorts(options.ports);
  if (ports.length > 0 && network === 'host') fail("ports cannot be published with network: 'host' (the container uses the host's ports)");
  if (options.restart !== undefined) {
    if (typeof options.restart !== 'string' || !/^(no|always|unless-stopped|on-failure(:\d+)?)$/.test(options.restart)) {
      fail(`restart must be 'no', 'on-failure', 'on-failure:N', 'always' or 'unless-stopped', got '${String(options.restart)}'`);
    }
    if (options.autoRemove && options.restart !== 'no') fail('autoRemove cannot be combined with a restart policy (as in Docker)');
  }
  checkWaitStrategy(options.waitFor, 'waitFor');
  checkHealthcheckOption(options.healthcheck);
  checkTimeout(options.startupTimeout, 'startupTimeout');
  const cgroupParent = checkString(options.cgroupParent, 'cgroupParent');
  if (cgroupParent !== undefined && (cgroupParent === '' || cgroupParent.split('/').includes('..'))) {
    fail(`cgroupParent must be a cgroup path without '..', got '${cgroupParent}'`);
  }
  if (options.log !== undefined) {
    if (typeof options.log !== 'object' || options.log === null) fail('log must be an object');
    if (options.log.maxSize !== undefined) parseBytes(options.log.maxSize, 'log.maxSize');
    if (options.log.maxFiles !== undefined) {
      if (!Number.isInteger(options.log.maxFiles)) fail('log.maxFiles must be an integer');
      if (options.log.maxFiles < 2 || options.log.maxFiles > 100) throw new RangeError('log.maxFiles must be between 2 and 100');
    }
  }
}
