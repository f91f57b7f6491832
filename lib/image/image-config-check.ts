/**
 * berth's policy for image configurations, checked wherever one enters the
 * store (load, pull, import, commit) and again where a container is created
 * from one. Docker's rules or stricter:
 *
 * - no string anywhere in the config (keys included) holds a NUL byte; the
 *   config is at most {@link MAX_CONFIG_BYTES} and {@link MAX_DEPTH} levels deep;
 * - `Env` entries are `KEY=value` with a non-empty key; `Cmd`, `Entrypoint`,
 *   `Shell`, `OnBuild` are arrays of strings;
 * - `WorkingDir` is empty or an absolute path; `User` is `name|uid[:group|gid]`
 *   without whitespace; `StopSignal` is a signal Node knows (`SIGTERM`, `TERM`, `15`);
 * - `Volumes` keys are absolute paths other than `/` without `..`;
 *   `ExposedPorts` keys are `port[/tcp|udp|sctp]` (or a range `a-b`);
 * - `Labels` map strings to strings; `Healthcheck.Test` is an array of strings
 *   starting with `NONE`, `CMD` or `CMD-SHELL`, its durations and `Retries`
 *   are non-negative integers;
 * - `rootfs.diff_ids` are sha256 digests; `history` entries are objects of
 *   strings and an `empty_layer` boolean;
 * - and no list or map is absurdly long (see the limits below).
 *
 * A failure throws {@link InvalidImageError} naming the image and the field.
 */
import { constants } from 'node:os';
import type { ImageConfig, OciImageConfig } from '../../types/image.js';
import { InvalidImageError } from '../errors.js';
import { isDigest } from './digest.js';

/** The largest config accepted, in bytes (the size registries allow a manifest). */
export const MAX_CONFIG_BYTES = 4 << 20;
/** The most entries in one list or map (`Env`, `Labels`, `history`, …). */
export const MAX_ENTRIES = 10_000;
/** The most layers (overlayfs takes at most 500 lower directories). */
export const MAX_LAYERS = 500;
/** The deepest nesting of objects and arrays. */
const MAX_DEPTH = 32;

type Fail = (field: string, what: string) => never;

function failure(image: string): Fail {
  return (field, what) => {
    throw new InvalidImageError(`image ${image}: ${field} ${what}`, image, field);
  };
}

/** Every string (and key) in `value` without NUL; depth and sizes bounded. `field` '' is the whole config. */
function checkTree(value: unknown, field: string, fail: Fail, depth = 0): void {
  const at = (key: string) => (field ? `${field}.${key}` : key);
  if (depth > MAX_DEPTH) fail(field, `is nested more than ${MAX_DEPTH} levels deep`);
  if (typeof value === 'string') {
    if (value.includes('\0')) fail(field, 'contains a NUL byte');
  } else if (Array.isArray(value)) {
    if (value.length > MAX_ENTRIES) fail(field, `has ${value.length} entries, more than ${MAX_ENTRIES}`);
    value.forEach((item, i) => checkTree(item, `${field}[${i}]`, fail, depth + 1));
  } else if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value);
    if (entries.length > MAX_ENTRIES) fail(field, `has ${entries.length} keys, more than ${MAX_ENTRIES}`);
    for (const [key, item] of entries) {
      if (key.includes('\0')) fail(at(`key ${JSON.stringify(key)}`), 'contains a NUL byte');
      checkTree(item, at(key), fail, depth + 1);
    }
  }
}

const present = (value: unknown) => value !== undefined && value !== null;

function checkStrings(value: unknown, field: string, fail: Fail): void {
  if (present(value) && (!Array.isArray(value) || !value.every((item) => typeof item === 'string'))) fail(field, 'must be an array of strings');
}

function checkString(value: unknown, field: string, fail: Fail): void {
  if (present(value) && typeof value !== 'string') fail(field, 'must be a string');
}

function checkObject(value: unknown, field: string, fail: Fail): Record<string, unknown> | undefined {
  if (!present(value)) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) fail(field, 'must be an object');
  return value as Record<string, unknown>;
}

function checkCount(value: unknown, field: string, fail: Fail): void {
  if (present(value) && (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)) fail(field, 'must be a non-negative integer');
}

/** An absolute path without `..` and not `/` itself (a volume over the root). */
function isContainerPath(path: string): boolean {
  return path.startsWith('/') && path.length <= 4096 && !path.split('/').includes('..') && path.replace(/\/+$/, '') !== '';
}

const USER = /^[^:\s]{1,256}(:[^:\s]{1,256})?$/;
const MAX_ID = 0xfffffffe;
const PORT = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|sctp))?$/;

/**
 * An image's `StopSignal` as Node's name for it (`TERM`, `15`, `sigterm` →
 * `SIGTERM`); undefined when it is not a signal Node knows.
 */
export function stopSignalName(value: string): NodeJS.Signals | undefined {
  const signals = constants.signals as Record<string, number>;
  if (/^\d{1,2}$/.test(value)) {
    const number = Number(value);
    return Object.keys(signals).find((name) => signals[name] === number) as NodeJS.Signals | undefined;
  }
  const name = value.toUpperCase().startsWith('SIG') ? value.toUpperCase() : `SIG${value.toUpperCase()}`;
  return name in signals ? (name as NodeJS.Signals) : undefined;
}

/**
 * Checks the container defaults of an image (`config` of an image config, or
 * the record's copy of it).
 * @param image the image's name for the error (a reference or id)
 * @param prefix the field names' prefix (`config`)
 * @throws InvalidImageError naming the image and the field
 */
export function checkContainerDefaults(config: unknown, image: string, prefix = 'config'): void {
  const fail: Fail = failure(image);
  const c = checkObject(config, prefix, fail);
  if (!c) return;
  checkTree(c, prefix, fail);
  for (const key of ['Cmd', 'Entrypoint', 'Shell', 'OnBuild', 'Env']) checkStrings(c[key], `${prefix}.${key}`, fail);
  for (const [i, entry] of ((c.Env as string[] | undefined) ?? []).entries()) {
    const eq = entry.indexOf('=');
    if (eq <= 0) fail(`${prefix}.Env[${i}]`, `must look like KEY=value, not ${JSON.stringify(entry.slice(0, 80))}`);
  }
  for (const key of ['WorkingDir', 'User', 'StopSignal']) checkString(c[key], `${prefix}.${key}`, fail);
  const workdir = c.WorkingDir as string | undefined;
  if (workdir && (!workdir.startsWith('/') || workdir.length > 4096)) fail(`${prefix}.WorkingDir`, `must be an absolute path, not ${JSON.stringify(workdir.slice(0, 80))}`);
  const user = c.User as string | undefined;
  if (user) {
    if (!USER.test(user)) fail(`${prefix}.User`, `must look like name, uid, name:group or uid:gid, not ${JSON.stringify(user.slice(0, 80))}`);
    if (user.split(':').some((part) => /^\d+$/.test(part) && Number(part) > MAX_ID)) fail(`${prefix}.User`, `has an id above ${MAX_ID}`);
  }
  const signal = c.StopSignal as string | undefined;
  if (signal && !stopSignalName(signal)) fail(`${prefix}.StopSignal`, `is not a known signal: ${JSON.stringify(signal.slice(0, 80))}`);
  for (const key of ['Volumes', 'ExposedPorts', 'Labels']) checkObject(c[key], `${prefix}.${key}`, fail);
  for (const path of Object.keys((c.Volumes as object | undefined) ?? {})) {
    if (!isContainerPath(path)) fail(`${prefix}.Volumes`, `key ${JSON.stringify(path.slice(0, 80))} must be an absolute path other than / without ..`);
  }
  for (const port of Object.keys((c.ExposedPorts as object | undefined) ?? {})) {
    const match = PORT.exec(port);
    const [first, last] = [Number(match?.[1]), Number(match?.[2] ?? match?.[1])];
    if (!match || first < 1 || last > 65535 || first > last) fail(`${prefix}.ExposedPorts`, `key ${JSON.stringify(port.slice(0, 80))} is not a port such as 80/tcp`);
  }
  for (const [key, value] of Object.entries((c.Labels as object | undefined) ?? {})) {
    if (typeof value !== 'string') fail(`${prefix}.Labels.${key}`, 'must be a string');
  }
  const health = checkObject(c.Healthcheck, `${prefix}.Healthcheck`, fail);
  if (health) {
    checkStrings(health.Test, `${prefix}.Healthcheck.Test`, fail);
    const test = (health.Test as string[] | undefined) ?? [];
    if (test.length > 0 && !['NONE', 'CMD', 'CMD-SHELL'].includes(test[0]!)) fail(`${prefix}.Healthcheck.Test[0]`, 'must be NONE, CMD or CMD-SHELL');
    for (const key of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries']) checkCount(health[key], `${prefix}.Healthcheck.${key}`, fail);
  }
  if (present(c.ArgsEscaped) && typeof c.ArgsEscaped !== 'boolean') fail(`${prefix}.ArgsEscaped`, 'must be a boolean');
}

/**
 * Checks a whole image config (its bytes and what they parse to) against the
 * policy above. Call it before anything of the image is stored.
 * @param image the image's name for the error (a reference, or the config's digest)
 * @throws InvalidImageError naming the image and the field
 */
export function checkImageConfig(config: OciImageConfig, bytes: Buffer, image: string): void {
  const fail: Fail = failure(image);
  if (bytes.length > MAX_CONFIG_BYTES) fail('the config', `is ${bytes.length} bytes, more than ${MAX_CONFIG_BYTES}`);
  checkTree(config, '', fail);
  for (const key of ['created', 'author', 'architecture', 'os', 'variant', 'os.version']) checkString(config[key], key, fail);
  const rootfs = checkObject(config.rootfs, 'rootfs', fail);
  const diffIds: unknown = rootfs?.diff_ids;
  if (!Array.isArray(diffIds)) fail('rootfs.diff_ids', 'must be an array');
  if (diffIds.length > MAX_LAYERS) fail('rootfs.diff_ids', `has ${diffIds.length} layers, more than ${MAX_LAYERS}`);
  diffIds.forEach((id: unknown, i) => isDigest(id) || fail(`rootfs.diff_ids[${i}]`, 'is not a sha256 digest'));
  if (present(config.history) && !Array.isArray(config.history)) fail('history', 'must be an array');
  for (const [i, entry] of (config.history ?? []).entries()) {
    const h = checkObject(entry, `history[${i}]`, fail) ?? fail(`history[${i}]`, 'must be an object');
    for (const key of ['created', 'created_by', 'author', 'comment']) checkString(h[key], `history[${i}].${key}`, fail);
    if (present(h.empty_layer) && typeof h.empty_layer !== 'boolean') fail(`history[${i}].empty_layer`, 'must be a boolean');
  }
  checkContainerDefaults(config.config, image);
}
