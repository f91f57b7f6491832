import { watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HealthcheckOptions, HealthState } from '../../types/container.js';
import type { HealthcheckConfig } from '../../types/image.js';
import { ImageContentError } from '../errors.js';
import { readJsonIfExists } from '../state/atomic-file.js';
import type { ContainerConfig, ContainerPaths } from './container-config.js';
import type { ContainerHandle } from './container-handle.js';
import { execEnv, execProcessSpec } from './container-exec.js';
import { sealedHelper } from '../native/addon.js';
import { encodeSpec } from './spec-encoding.js';
import type { ResolvedUser } from './user-resolve.js';

/** A healthcheck as the monitor runs it (config.json's `healthcheck`): the test's argv and Docker's timings in ms. */
export interface ResolvedHealthcheck {
  test: string[];
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
  startIntervalMs: number;
}

/** Docker's defaults. */
const DEFAULTS = { intervalMs: 30_000, timeoutMs: 30_000, retries: 3, startPeriodMs: 0, startIntervalMs: 5_000 };

/** `health.json` (written by the monitor after every check) and `health-spec` (the test's berth-exec spec). */
export function healthPaths(paths: ContainerPaths) {
  return { state: join(paths.dir, 'health.json'), spec: join(paths.dir, 'health-spec') };
}

/** ['CMD', …] / ['CMD-SHELL', cmd] / ['NONE'] / [] → an argv, null (disabled) or undefined (inherit). */
function testArgv(test: unknown, what: string, fail: (message: string) => never, shellString = false): string[] | null | undefined {
  if (test === undefined) return undefined;
  if (typeof test === 'string' && shellString) return test === '' ? fail(`${what} must not be empty`) : ['/bin/sh', '-c', test];
  if (!Array.isArray(test) || !test.every((arg) => typeof arg === 'string')) return fail(`${what} must be an array of strings${shellString ? ' or a string' : ''}`);
  if (test.some((arg: string) => arg.includes('\0'))) return fail(`${what} must not contain NUL characters`);
  if (test.length === 0) return undefined;
  const [kind, ...rest] = test as string[];
  if (kind === 'NONE') return null;
  if (kind === 'CMD' && rest.length > 0) return rest;
  if (kind === 'CMD-SHELL' && rest.length === 1 && rest[0] !== '') return ['/bin/sh', '-c', rest[0]!];
  return fail(`${what} must be ['CMD', arg…], ['CMD-SHELL', command] or ['NONE'], got ${JSON.stringify(test).slice(0, 200)}`);
}

function duration(value: unknown, what: string, min: number, fail: (message: string) => never): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) return fail(`${what} must be a number of milliseconds`);
  if (value < min) throw new RangeError(`${what} must be at least ${min} ms`);
  return Math.round(value);
}

const typeError = (message: string): never => {
  throw new TypeError(message);
};

/** Checks the `healthcheck` create option (TypeError/RangeError naming the field). */
export function checkHealthcheckOption(option: HealthcheckOptions | undefined): void {
  if (option === undefined) return;
  if (typeof option !== 'object' || option === null) typeError('healthcheck must be an object');
  testArgv(option.test, 'healthcheck.test', typeError, true);
  duration(option.interval, 'healthcheck.interval', 1, typeError);
  duration(option.timeout, 'healthcheck.timeout', 1, typeError);
  duration(option.startPeriod, 'healthcheck.startPeriod', 0, typeError);
  duration(option.startInterval, 'healthcheck.startInterval', 1, typeError);
  if (option.retries !== undefined && (!Number.isInteger(option.retries) || option.retries < 1)) throw new RangeError('healthcheck.retries must be an integer ≥ 1');
}

/**
 * The healthcheck a container runs: the option's fields over the image's
 * `Healthcheck` (Docker's merge), or null when neither has a test or the test
 * is `['NONE']`. The image's values are checked here, where they are used
 * (nanoseconds, as Docker stores them).
 */
export function resolveHealthcheck(option: HealthcheckOptions | undefined, image: HealthcheckConfig | undefined, imageName: string): ResolvedHealthcheck | null {
  const bad = (message: string): never => {
    throw new ImageContentError(`image ${imageName}: config Healthcheck: ${message}`, { code: 'ERR_CONFIG_INVALID' });
  };
  const fromImage = (value: unknown, field: string): number | undefined => {
    if (value === undefined || value === 0) return undefined; // 0: inherit (Docker)
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) return bad(`${field} must be a whole number of nanoseconds`);
    return Math.max(1, Math.round(value / 1e6));
  };
  const imageTest = image ? testArgv(image.Test, 'Test', bad) : undefined;
  const optionTest = testArgv(option?.test, 'healthcheck.test', typeError, true);
  const test = optionTest !== undefined ? optionTest : imageTest;
  if (!test) return null;
  const imageRetries = image?.Retries;
  if (imageRetries !== undefined && (!Number.isSafeInteger(imageRetries) || imageRetries < 0)) bad('Retries must be a whole number');
  return {
    test,
    intervalMs: option?.interval ?? fromImage(image?.Interval, 'Interval') ?? DEFAULTS.intervalMs,
    timeoutMs: option?.timeout ?? fromImage(image?.Timeout, 'Timeout') ?? DEFAULTS.timeoutMs,
    retries: option?.retries ?? (imageRetries || DEFAULTS.retries),
    startPeriodMs: option?.startPeriod ?? fromImage(image?.StartPeriod, 'StartPeriod') ?? DEFAULTS.startPeriodMs,
    startIntervalMs: option?.startInterval ?? fromImage(image?.StartInterval, 'StartInterval') ?? DEFAULTS.startIntervalMs,
  };
}

/**
 * At start: writes the test's berth-exec spec (the container's user,
 * environment, capabilities and cgroups, as `exec` uses them) and returns
 * the monitor's spec entries. Nothing without a healthcheck.
 */
export function prepareHealthcheck(config: ContainerConfig, paths: ContainerPaths, user: ResolvedUser, cgroupDirs: string[]): [string, string][] {
  const check = config.healthcheck;
  if (!check) return [];
  const files = healthPaths(paths);
  const handle = { config, paths };
  const records = execProcessSpec(handle, check.test, user, cgroupDirs, { env: execEnv(handle, user.home, false, []) });
  writeFileSync(files.spec, encodeSpec(records), { mode: 0o600 });
  return [
    // the monitor runs it from a sealed copy of its own (addon/health_check.cc)
    ['health-exec', sealedHelper('berth-exec').argv0],
    ['health-spec', files.spec],
    ['health-file', files.state],
    ['health-interval-ms', String(check.intervalMs)],
    ['health-timeout-ms', String(check.timeoutMs)],
    ['health-retries', String(check.retries)],
    ['health-start-period-ms', String(check.startPeriodMs)],
    ['health-start-interval-ms', String(check.startIntervalMs)],
  ];
}

/** The health state the monitor recorded, or null (no healthcheck, or not started yet). */
export function readHealth(handle: Pick<ContainerHandle, 'config' | 'paths'>): HealthState | null {
  if (!handle.config.healthcheck) return null;
  return readJsonIfExists<HealthState>(healthPaths(handle.paths).state) ?? null;
}

/**
 * The health state each time its status changes (the current one first),
 * until the container stops running or `signal` aborts. Works from any
 * process: it watches `health.json`.
 */
export async function* healthChanges(handle: ContainerHandle, signal?: AbortSignal): AsyncGenerator<HealthState> {
  if (!handle.config.healthcheck) throw new TypeError(`container ${handle.name} has no healthcheck`);
  let wake = () => {};
  const watcher = watch(handle.paths.dir, (_event, file) => file === 'health.json' && wake());
  watcher.on('error', () => wake());
  const timers = new AbortController();
  const abort = () => timers.abort();
  signal?.addEventListener('abort', abort, { once: true });
  let last: string | undefined;
  try {
    while (!signal?.aborted) {
      const changed = new Promise<void>((resolve) => (wake = resolve));
      const state = handle.state();
      const health = readHealth(handle);
      if (health && health.status !== last) {
        last = health.status;
        yield health;
      }
      if (state.status !== 'running' && !state.starting) return;
      const tick = new AbortController(); // one per look: a pending sleep must not pile up listeners
      const stop = () => tick.abort();
      timers.signal.addEventListener('abort', stop, { once: true });
      await Promise.race([changed, sleep(500, undefined, { signal: tick.signal }).catch(() => {})]);
      tick.abort();
      timers.signal.removeEventListener('abort', stop);
    }
  } finally {
    signal?.removeEventListener('abort', abort);
    timers.abort();
    watcher.close();
  }
}
