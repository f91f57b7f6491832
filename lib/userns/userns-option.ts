/**
 * The `userns` create option (as Podman's `--userns`): which user namespace a
 * container runs in, checked at create and stored, resolved to id maps, in
 * config.json.
 *
 * - `'host'` (the default as root): none; the container's root is host root.
 * - `'auto'` (root only): a user namespace of its own, 65536 ids from a range
 *   no other berth container has (lib/userns/auto-range.ts).
 * - `{ uidMap, gidMap }`: these maps, as `/proc/<pid>/uid_map` takes them.
 *
 * A rootless runtime always runs containers in the caller's user namespace
 * maps (`runtime.rootlessIdMaps()`): `'host'` means that one, as in Podman.
 */
import { join } from 'node:path';
import { UsernsError } from '../errors.js';
import { allocateAutoMaps } from './auto-range.js';
import { idMapProblem, hostIdOf, type IdMapping, type IdMaps, type UsernsMaps } from './id-map.js';

/** The `userns` create option. */
export type UsernsOption = 'host' | 'auto' | UsernsMaps;

/** A container's user namespace as config.json keeps it (absent: none). */
export interface UsernsRecord extends IdMaps {
  /** How it was asked for: `userns: 'auto'`, explicit maps, or the rootless runtime's maps. */
  mode: 'auto' | 'explicit' | 'rootless';
  /**
   * `'chowned'`: the filesystem refused idmapped mounts at a start, and the
   * image layers are shifted copies since (lib/userns/chowned-layers.ts).
   */
  layers?: 'chowned';
}

/** Copies a map given by the caller, keeping only the three fields (and refusing anything else). */
function copyMap(value: unknown, what: string): IdMapping[] {
  if (!Array.isArray(value)) throw new UsernsError(`userns.${what} must be an array of { containerId, hostId, size }`);
  const map = value.map((range: unknown, i): IdMapping => {
    if (typeof range !== 'object' || range === null) throw new UsernsError(`userns.${what}[${i}] must be an object { containerId, hostId, size }`);
    const { containerId, hostId, size, ...rest } = range as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length > 0) throw new UsernsError(`userns.${what}[${i}]: unknown field '${extra[0]}' (containerId, hostId, size)`);
    return { containerId, hostId, size } as IdMapping;
  });
  const problem = idMapProblem(map);
  if (problem) throw new UsernsError(`userns.${what}: ${problem}`);
  if (hostIdOf(map, 0) === undefined) throw new UsernsError(`userns.${what} must map container id 0 (the container's root)`);
  return map;
}

/**
 * Checks the option; returns explicit maps as copies, or the string.
 * @throws UsernsError (`ERR_USERNS`) naming what is wrong, before anything is created.
 */
export function checkUsernsOption(value: unknown): UsernsOption | undefined {
  if (value === undefined || value === 'host' || value === 'auto') return value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsernsError(`userns must be 'host', 'auto' or { uidMap, gidMap }, got ${JSON.stringify(value) ?? String(value)}`);
  }
  const { uidMap, gidMap, ...rest } = value as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) throw new UsernsError(`userns: unknown field '${extra[0]}' (uidMap, gidMap)`);
  return { uidMap: copyMap(uidMap, 'uidMap'), gidMap: copyMap(gidMap, 'gidMap') };
}

/** The host uid and gid that the container's root stands for (the owner of its upper and work directories). */
export function mappedRoot(userns: IdMaps): { uid: number; gid: number } {
  return { uid: hostIdOf(userns.uidMap, 0)!, gid: hostIdOf(userns.gidMap, 0)! };
}

/** What resolving the option needs from the runtime. */
export interface UsernsContext {
  rootless: boolean;
  rootlessIdMaps(): IdMaps;
  /** `<root>/containers`: the other containers' ranges. */
  containersDir: string;
}

/**
 * The container's user namespace for config.json: the rootless runtime's maps
 * (whatever the option), auto-allocated maps, the explicit ones, or none.
 * With `'auto'`, call it under {@link usernsLockPath}'s exclusive lock.
 * @throws UsernsError for `'auto'` or explicit maps in a rootless runtime (a
 *   rootless caller has only its own ranges), or when no auto range is free.
 */
export function resolveUserns(option: UsernsOption | undefined, context: UsernsContext): UsernsRecord | undefined {
  if (context.rootless) {
    if (option !== undefined && option !== 'host') {
      throw new UsernsError("userns: a rootless runtime runs every container in the caller's own ranges (/etc/subuid, /etc/subgid); 'auto' and explicit maps need root");
    }
    return { mode: 'rootless', ...context.rootlessIdMaps() };
  }
  if (option === undefined || option === 'host') return undefined;
  if (option === 'auto') return { mode: 'auto', ...allocateAutoMaps(context.containersDir) };
  return { mode: 'explicit', uidMap: option.uidMap, gidMap: option.gidMap, mapWith: 'write' };
}

/** Held exclusively while an `'auto'` range is chosen and the container's config.json written. */
export function usernsLockPath(stateRoot: string): string {
  return join(stateRoot, 'userns.lock');
}
