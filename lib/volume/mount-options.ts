/**
 * The `mounts` and `volumesFrom` options of `containers.create()`: checked
 * (TypeError/RangeError before anything touches the system), then resolved
 * into the container's mounts, with anonymous volumes for the image's
 * `Volumes`.
 */
import { statSync } from 'node:fs';
import { posix } from 'node:path';
import type { ContainerMount, MountOptions, MountPropagation } from '../../types/volume.js';
import { NotFoundError } from '../errors.js';
import { parseBytes } from '../units.js';
import { checkVolumeName, generateVolumeName } from './volume-collection.js';

export const PROPAGATIONS: readonly MountPropagation[] = ['rprivate', 'private', 'rshared', 'shared', 'rslave', 'slave'];

const KEYS: Record<MountOptions['type'], readonly string[]> = {
  volume: ['type', 'source', 'target', 'readonly', 'noCopy'],
  bind: ['type', 'source', 'target', 'readonly', 'propagation'],
  tmpfs: ['type', 'target', 'size', 'mode', 'readonly'],
};

/** Mounted over by the container's own /proc, /dev and /sys, which come after the user's mounts. */
const RESERVED = ['/proc', '/dev', '/sys'];
const PATH_MAX = 4096;

function fail(message: string): never {
  throw new TypeError(message);
}

/** An absolute path without NUL, cleaned (`/a//b/../c/` → `/a/c`). */
function cleanAbsolute(value: unknown, what: string): string {
  if (typeof value !== 'string') fail(`${what} must be a string`);
  if (value.includes('\0')) fail(`${what} must not contain NUL characters`);
  if (!value.startsWith('/')) fail(`${what} must be an absolute path, got '${value}'`);
  if (value.length >= PATH_MAX) throw new RangeError(`${what} must be shorter than ${PATH_MAX} characters`);
  const cleaned = posix.normalize(value);
  return cleaned.length > 1 && cleaned.endsWith('/') ? cleaned.slice(0, -1) : cleaned;
}

/** A mount target: absolute, not `/`, not below /proc, /dev or /sys. */
function checkTarget(value: unknown, what: string): string {
  const target = cleanAbsolute(value, what);
  if (target === '/') fail(`${what}: a mount cannot replace the container's root '/'`);
  const reserved = reservedDir(target);
  if (reserved) fail(`${what}: '${target}' is below ${reserved}, which berth mounts for the container itself`);
  return target;
}

function reservedDir(target: string): string | undefined {
  return RESERVED.find((dir) => target === dir || target.startsWith(`${dir}/`));
}

function checkBoolean(value: unknown, what: string): void {
  if (value !== undefined && typeof value !== 'boolean') fail(`${what} must be a boolean`);
}

/** A `volumesFrom` entry: `container`, `container:ro` or `container:rw`. */
function parseVolumesFrom(value: unknown, what: string): { container: string; mode: 'ro' | 'rw' | undefined } {
  if (typeof value !== 'string' || !/^[^:/\s]+(:(ro|rw))?$/.test(value)) fail(`${what} must be 'container', 'container:ro' or 'container:rw', got '${String(value)}'`);
  const [container, mode] = value.split(':') as [string, 'ro' | 'rw' | undefined];
  return { container, mode };
}

/**
 * Checks `mounts` and `volumesFrom` (types, ranges, duplicate targets);
 * throws TypeError/RangeError naming the option.
 */
export function validateMountOptions(mounts: unknown, volumesFrom: unknown): void {
  if (mounts !== undefined) {
    if (!Array.isArray(mounts)) fail('mounts must be an array');
    const targets = new Set<string>();
    mounts.forEach((mount: unknown, i) => {
      const what = `mounts[${i}]`;
      if (typeof mount !== 'object' || mount === null) fail(`${what} must be an object`);
      const m = mount as Record<string, unknown>;
      if (m.type !== 'volume' && m.type !== 'bind' && m.type !== 'tmpfs') fail(`${what}.type must be 'volume', 'bind' or 'tmpfs', got '${String(m.type)}'`);
      for (const key of Object.keys(m)) {
        if (!KEYS[m.type].includes(key)) fail(`${what}: '${key}' is not an option of a ${m.type} mount (${KEYS[m.type].join(', ')})`);
      }
      const target = checkTarget(m.target, `${what}.target`);
      if (targets.has(target)) fail(`${what}.target: '${target}' is the target of another mount`);
      targets.add(target);
      checkBoolean(m.readonly, `${what}.readonly`);
      if (m.type === 'volume') {
        if (m.source !== undefined) checkVolumeName(m.source, `${what}.source`);
        checkBoolean(m.noCopy, `${what}.noCopy`);
      } else if (m.type === 'bind') {
        cleanAbsolute(m.source, `${what}.source`);
        if (m.propagation !== undefined && !PROPAGATIONS.includes(m.propagation as MountPropagation)) {
          fail(`${what}.propagation must be one of ${PROPAGATIONS.join(', ')}, got '${String(m.propagation)}'`);
        }
      } else {
        if (m.size !== undefined && parseBytes(m.size as number | string, `${what}.size`) === 0) {
          throw new RangeError(`${what}.size must be more than 0 (leave it out for the kernel's default)`);
        }
        if (m.mode !== undefined) {
          if (typeof m.mode !== 'number' || !Number.isInteger(m.mode)) fail(`${what}.mode must be an integer such as 0o1777`);
          if (m.mode < 0 || m.mode > 0o7777) throw new RangeError(`${what}.mode must be between 0 and 0o7777, got 0o${m.mode.toString(8)}`);
        }
      }
    });
  }
  if (volumesFrom !== undefined) {
    if (!Array.isArray(volumesFrom)) fail('volumesFrom must be an array of strings');
    volumesFrom.forEach((entry: unknown, i) => parseVolumesFrom(entry, `volumesFrom[${i}]`));
  }
}

/** What `resolveMounts` needs of the runtime. */
export interface MountContext {
  /** The mounts of another container (`volumesFrom`). */
  mountsOf(container: string): Promise<readonly ContainerMount[]>;
  /** The host directory of a volume. */
  mountpointOf(volume: string): string;
}

/**
 * The container's mounts, in the order they are made (a parent before what
 * is mounted below it): those of the `volumesFrom` containers (bind and
 * volume mounts at the same targets; `:ro`/`:rw` overrides their mode), then
 * `mounts` (replacing any at the same target), then a new anonymous volume
 * for each of the image's `Volumes` that no mount covers.
 * @throws NotFoundError for a bind source or a `volumesFrom` container that does not exist.
 */
export async function resolveMounts(
  options: { mounts?: readonly MountOptions[]; volumesFrom?: readonly string[] },
  imageVolumes: Record<string, object> | undefined,
  context: MountContext,
): Promise<ContainerMount[]> {
  const byTarget = new Map<string, ContainerMount>();
  for (const entry of options.volumesFrom ?? []) {
    const { container, mode } = parseVolumesFrom(entry, 'volumesFrom');
    for (const mount of await context.mountsOf(container)) {
      if (mount.type === 'tmpfs') continue;
      byTarget.set(mount.target, { ...mount, readonly: mode === undefined ? mount.readonly : mode === 'ro' });
    }
  }
  for (const mount of options.mounts ?? []) {
    const target = checkTarget(mount.target, 'mounts[].target');
    const readonly = mount.readonly ?? false;
    if (mount.type === 'volume') {
      const name = mount.source ?? generateVolumeName();
      byTarget.set(target, {
        type: 'volume', name, source: context.mountpointOf(name), target, readonly, anonymous: mount.source === undefined, noCopy: mount.noCopy ?? false,
      });
    } else if (mount.type === 'bind') {
      const source = cleanAbsolute(mount.source, 'mounts[].source');
      if (!statSync(source, { throwIfNoEntry: false })) {
        throw new NotFoundError(`bind mount source ${source} does not exist (berth does not create it)`, { code: 'ENOENT', path: source });
      }
      byTarget.set(target, { type: 'bind', source, target, readonly, propagation: mount.propagation ?? 'rprivate' });
    } else {
      byTarget.set(target, {
        type: 'tmpfs', target, size: mount.size === undefined ? null : parseBytes(mount.size, 'mounts[].size'), mode: mount.mode ?? 0o1777, readonly,
      });
    }
  }
  for (const key of Object.keys(imageVolumes ?? {})) {
    const target = posix.resolve('/', key);
    if (target === '/' || reservedDir(target) || byTarget.has(target)) continue;
    const name = generateVolumeName();
    byTarget.set(target, { type: 'volume', name, source: context.mountpointOf(name), target, readonly: false, anonymous: true, noCopy: false });
  }
  const depth = (mount: ContainerMount) => mount.target.split('/').length;
  return [...byTarget.values()].sort((a, b) => depth(a) - depth(b));
}
