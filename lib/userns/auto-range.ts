/**
 * `userns: 'auto'`: a range of 65536 host ids per container, as Podman
 * allocates them, from the subordinate ranges of the user `containers` in
 * `/etc/subuid` and `/etc/subgid` when that user has some there, else from
 * {@link DEFAULT_AUTO_RANGE}. A range is never one another berth container of
 * the same state root has (auto or explicit): the allocation runs under an
 * exclusive lock until the new container's config.json is written, and a
 * range is free again when the container that had it is removed (its
 * config.json is where the allocation lives).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsernsError } from '../errors.js';
import type { IdMapping, IdMaps } from './id-map.js';
import type { UsernsRecord } from './userns-option.js';

/** The ids each container gets: uid and gid 0 … 65535 inside. */
export const AUTO_RANGE_SIZE = 65536;

/**
 * The host ids used without a `containers` entry: 2³⁰ … 2³⁰ + 2²⁶ − 1, room for
 * 1024 containers, far above the ids of users (and of the usual `/etc/subuid`
 * ranges, which start at 100000).
 */
export const DEFAULT_AUTO_RANGE = { start: 2 ** 30, size: 1024 * AUTO_RANGE_SIZE } as const;

/** The user whose subordinate ranges `'auto'` takes, as in Podman. */
export const AUTO_RANGE_USER = 'containers';

interface HostRange {
  start: number;
  size: number;
}

/** `containers:start:count` lines of a subordinate id file; [] when there are none or no file. */
export function subordinateRanges(file: string, user = AUTO_RANGE_USER): HostRange[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const ranges: HostRange[] = [];
  for (const line of text.split('\n')) {
    const [name, start, count] = line.trim().split(':');
    if (name !== user || !/^\d+$/.test(start ?? '') || !/^\d+$/.test(count ?? '')) continue;
    ranges.push({ start: Number(start), size: Number(count) });
  }
  return ranges;
}

/** The user namespaces of the containers in `containersDir`, as their config.json files say. */
function takenMaps(containersDir: string): UsernsRecord[] {
  const taken: UsernsRecord[] = [];
  let ids: string[];
  try {
    ids = readdirSync(containersDir);
  } catch {
    return taken;
  }
  for (const id of ids) {
    try {
      const config = JSON.parse(readFileSync(join(containersDir, id, 'config.json'), 'utf8')) as { userns?: UsernsRecord };
      if (config.userns) taken.push(config.userns);
    } catch {
      // a container being created or removed: no config.json (yet)
    }
  }
  return taken;
}

const overlaps = (start: number, size: number, map: readonly IdMapping[]) =>
  map.some((range) => start < range.hostId + range.size && range.hostId < start + size);

/** The first block of {@link AUTO_RANGE_SIZE} ids in `pool` that no map in `taken` touches. */
function freeBlock(pool: readonly HostRange[], taken: readonly IdMapping[][]): number | undefined {
  for (const range of pool) {
    for (let start = range.start; start + AUTO_RANGE_SIZE <= range.start + range.size; start += AUTO_RANGE_SIZE) {
      if (!taken.some((map) => overlaps(start, AUTO_RANGE_SIZE, map))) return start;
    }
  }
  return undefined;
}

/**
 * Picks the maps of a new `'auto'` container. Call it under the allocation
 * lock, and write the config before letting go of it.
 * @throws UsernsError when every block of the pool is taken.
 */
export function allocateAutoMaps(containersDir: string, files = { subuid: '/etc/subuid', subgid: '/etc/subgid' }): IdMaps {
  const taken = takenMaps(containersDir);
  const block = (file: string, kind: 'uidMap' | 'gidMap'): IdMapping[] => {
    const configured = subordinateRanges(file);
    const pool = configured.length > 0 ? configured : [DEFAULT_AUTO_RANGE];
    const start = freeBlock(pool, taken.map((record) => record[kind]));
    if (start === undefined) {
      const where = configured.length > 0 ? `the ranges of user '${AUTO_RANGE_USER}' in ${file}` : `berth's default range ${DEFAULT_AUTO_RANGE.start}…${DEFAULT_AUTO_RANGE.start + DEFAULT_AUTO_RANGE.size - 1}`;
      throw new UsernsError(`userns 'auto': every block of ${AUTO_RANGE_SIZE} ids in ${where} is taken by another container; remove some, or give ${file} more ids for '${AUTO_RANGE_USER}'`, { path: file });
    }
    return [{ containerId: 0, hostId: start, size: AUTO_RANGE_SIZE }];
  };
  return { uidMap: block(files.subuid, 'uidMap'), gidMap: block(files.subgid, 'gidMap'), mapWith: 'write' };
}
