/**
 * User namespace id maps: which host ids a container's ids stand for.
 *
 * One concept: a list of ranges `containerId → hostId` of `size` ids, as
 * `/proc/<pid>/uid_map` and `newuidmap` take them. Shared by the rootless
 * runtime (the caller and its `/etc/subuid` ranges), `userns: 'auto'` (a
 * range of unprivileged host ids per container) and explicit maps.
 */

/** One range of a uid or gid map: container ids `containerId … containerId + size - 1` are host ids `hostId …`. */
export interface IdMapping {
  /** First id inside the container. */
  containerId: number;
  /** The host id that `containerId` stands for. */
  hostId: number;
  /** How many consecutive ids the range holds (≥ 1). */
  size: number;
}

/** The uid and gid maps of one user namespace (the `userns` create option's explicit form). */
export interface UsernsMaps {
  /** Container uids → host uids (`/proc/<pid>/uid_map`); must map container id 0. */
  uidMap: IdMapping[];
  /** Container gids → host gids (`/proc/<pid>/gid_map`); must map container id 0. */
  gidMap: IdMapping[];
}

/** The uid and gid maps of one user namespace, and who writes them. */
export interface IdMaps extends UsernsMaps {
  /**
   * `'write'`: the monitor writes `/proc/<pid>/uid_map` itself (a root caller);
   * `'newuidmap'`: the monitor runs the setuid `newuidmap`/`newgidmap` (a rootless caller
   * mapping its `/etc/subuid` and `/etc/subgid` ranges).
   */
  mapWith: 'write' | 'newuidmap';
}

/** The kernel's limit on ranges per map (since Linux 4.15). */
export const MAX_ID_MAP_RANGES = 340;

/** The host id that a container id stands for, or undefined when the map does not hold it. */
export function hostIdOf(map: readonly IdMapping[], containerId: number): number | undefined {
  for (const range of map) {
    if (containerId >= range.containerId && containerId < range.containerId + range.size) {
      return range.hostId + (containerId - range.containerId);
    }
  }
  return undefined;
}

/** The container id that a host id appears as, or undefined when the map does not hold it. */
export function containerIdOf(map: readonly IdMapping[], hostId: number): number | undefined {
  for (const range of map) {
    if (hostId >= range.hostId && hostId < range.hostId + range.size) {
      return range.containerId + (hostId - range.hostId);
    }
  }
  return undefined;
}

/** One range as the spec and `/proc/<pid>/uid_map` write it: `"containerId hostId size"`. */
export function formatIdMapping(range: IdMapping): string {
  return `${range.containerId} ${range.hostId} ${range.size}`;
}

/**
 * Why a map is not one the kernel would take, or undefined when it is: ids are
 * integers in 0 … 2³²−2, sizes ≥ 1, at most {@link MAX_ID_MAP_RANGES} ranges, and
 * no two ranges overlap inside or outside.
 */
export function idMapProblem(map: readonly IdMapping[]): string | undefined {
  if (map.length === 0) return 'the map is empty';
  if (map.length > MAX_ID_MAP_RANGES) return `the map has ${map.length} ranges, the kernel takes at most ${MAX_ID_MAP_RANGES}`;
  const limit = 2 ** 32 - 1;
  for (const range of map) {
    for (const key of ['containerId', 'hostId', 'size'] as const) {
      const value = range[key];
      if (!Number.isSafeInteger(value) || value < 0 || value >= limit) return `${key} ${String(value)} is not an id (0 … ${limit - 1})`;
    }
    if (range.size < 1) return 'a range has size 0';
    if (range.containerId + range.size > limit || range.hostId + range.size > limit) return `range ${formatIdMapping(range)} runs past the last id`;
  }
  for (let i = 0; i < map.length; i++) {
    for (let j = i + 1; j < map.length; j++) {
      const a = map[i]!;
      const b = map[j]!;
      if (a.containerId < b.containerId + b.size && b.containerId < a.containerId + a.size) {
        return `ranges ${formatIdMapping(a)} and ${formatIdMapping(b)} overlap inside the container`;
      }
      if (a.hostId < b.hostId + b.size && b.hostId < a.hostId + a.size) {
        return `ranges ${formatIdMapping(a)} and ${formatIdMapping(b)} overlap on the host`;
      }
    }
  }
  return undefined;
}
