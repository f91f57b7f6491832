/**
 * A container's user namespace as the monitor's spec states it (addon/spec.cc
 * reads it; addon/userns_setup.cc and container_setup.cc step 2b act on it):
 *
 * ```
 * uid-map, gid-map   "C H N"             one record per range; none: no user namespace
 * map-with           write | newuidmap   the monitor writes the maps (root), or runs the setuid tools (rootless)
 * newuidmap, newgidmap  /usr/bin/…       the tools, found on PATH
 * overlay-userxattr  1                   overlay mounted inside the namespace (rootless): user.overlay.* xattrs
 * idmap-lower        1                   the lower layers as idmapped mounts (root)
 * lower-mapped       /…/snapshots/<id>   but these: the container's snapshots, former upper dirs holding mapped host ids
 * ```
 *
 * A named volume's mount gets the mount option `idmap` with map-with write
 * (lib/volume/mount-spec.ts): its files keep the ids the container sees.
 */
import { accessSync, chownSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { UsernsError } from '../errors.js';
import { formatIdMapping } from './id-map.js';
import { mappedRoot, type UsernsRecord } from './userns-option.js';
import { chownedLayers } from './chowned-layers.js';
import { BerthError } from '../errors.js';

/** The first executable `name` on PATH. @throws UsernsError naming the package when there is none. */
export function findMapTool(name: 'newuidmap' | 'newgidmap', path = process.env.PATH ?? '/usr/bin:/bin'): string {
  for (const dir of path.split(delimiter)) {
    if (!dir.startsWith('/')) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new UsernsError(`${name} is not on PATH: a rootless container's user namespace needs it (Debian/Ubuntu: apt-get install uidmap; Fedora: shadow-utils)`, { path: name });
}

/** The spec records of `userns` (none without one); `snapshotDirs`: the container's snapshot layers. */
export function usernsSpec(userns: UsernsRecord | undefined, snapshotDirs: readonly string[] = []): [string, string | boolean][] {
  if (!userns) return [];
  const records: [string, string | boolean][] = [
    ...userns.uidMap.map((range): [string, string] => ['uid-map', formatIdMapping(range)]),
    ...userns.gidMap.map((range): [string, string] => ['gid-map', formatIdMapping(range)]),
    ['map-with', userns.mapWith],
  ];
  if (userns.mapWith === 'newuidmap') {
    records.push(['newuidmap', findMapTool('newuidmap')], ['newgidmap', findMapTool('newgidmap')], ['overlay-userxattr', true]);
  } else {
    records.push(['idmap-lower', true], ...snapshotDirs.map((dir): [string, string] => ['lower-mapped', dir]));
  }
  return records;
}

/**
 * With map-with write: the container's upper and work directories belong to
 * its mapped root, so that what its root writes lands there as that host id.
 */
export function chownToMappedRoot(userns: UsernsRecord | undefined, dirs: readonly string[]): void {
  if (!userns || userns.mapWith !== 'write') return;
  const { uid, gid } = mappedRoot(userns);
  for (const dir of dirs) chownSync(dir, uid, gid);
}

/**
 * The lower directories for the spec, top-most first, and those of them that
 * hold mapped host ids already (`lower-mapped`): the container's snapshots,
 * and with `layers: 'chowned'` the shifted copies that stand for the image's
 * layers. Without a user namespace: the layers as they are.
 */
export function usernsLowers(
  config: { layers: string[]; snapshots?: { dir: string }[]; userns?: UsernsRecord },
  containerDir: string,
): { layers: string[]; mapped: string[] } {
  const snapshots = (config.snapshots ?? []).map((snapshot) => snapshot.dir);
  if (config.userns?.mapWith !== 'write' || config.userns.layers !== 'chowned') return { layers: config.layers, mapped: snapshots };
  const image = config.layers.filter((layer) => !snapshots.includes(layer));
  const copies = chownedLayers(containerDir, image, config.userns);
  const copyOf = new Map(image.map((layer, i) => [layer, copies[i]!]));
  return { layers: config.layers.map((layer) => copyOf.get(layer) ?? layer), mapped: [...snapshots, ...copies] };
}

/**
 * True when `error` is a start that failed because the filesystem of an image
 * layer refused an idmapped mount, and chown-ed copies would do instead.
 */
export function wantsChownedLayers(error: unknown, config: { layers: string[]; userns?: UsernsRecord }): boolean {
  return error instanceof BerthError && error.step === 'userns' && error.syscall === 'mount_setattr' &&
    config.userns?.mapWith === 'write' && config.userns.layers !== 'chowned' && config.layers.includes(error.path ?? '');
}
