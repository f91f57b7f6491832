/**
 * The fallback for a user namespace root made on a filesystem that refuses
 * idmapped mounts (before Linux 5.12, or a filesystem without them): a copy
 * of each image layer whose owners are shifted to the host ids the
 * container's maps give them, kept in the container's directory
 * (`<dir>/userns-layers/<key>`, made once, removed with the container; an
 * `'auto'` range belongs to one container, so this is the cache per range).
 * The monitor then attaches the copies as they are (`lower-mapped`), as it
 * does the container's snapshots. Costs the layers' size on disk and a copy
 * at the first start; `inspect().config.userns.layers` says `'chowned'`.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { UsernsError } from '../errors.js';
import type { IdMaps } from './id-map.js';
import { storedId } from './owner-ids.js';

/** Shifts the owner of everything below `dir` (and itself) to the host ids it stands for. Never follows a symlink. */
function shiftOwners(dir: string, maps: IdMaps): void {
  const shift = (path: string) => {
    const stats = lstatSync(path);
    lchownSync(path, storedId(maps.uidMap, stats.uid), storedId(maps.gidMap, stats.gid));
    if (!stats.isDirectory()) return;
    for (const name of readdirSync(path)) shift(join(path, name));
  };
  shift(dir);
}

/**
 * The shifted copies of `layers` for a container in `containerDir`, made when
 * missing (the copy keeps modes, times, xattrs, whiteouts and hard links: `cp -a`).
 * @throws UsernsError naming the layer when the copy fails.
 */
export function chownedLayers(containerDir: string, layers: readonly string[], maps: IdMaps): string[] {
  const base = join(containerDir, 'userns-layers');
  mkdirSync(base, { recursive: true, mode: 0o700 });
  return layers.map((layer) => {
    const target = join(base, createHash('sha256').update(layer).digest('hex').slice(0, 16));
    if (existsSync(target)) return target;
    const partial = `${target}.partial`;
    rmSync(partial, { recursive: true, force: true });
    try {
      execFileSync('cp', ['-a', '--', layer, partial], { stdio: ['ignore', 'ignore', 'pipe'] });
      shiftOwners(partial, maps);
    } catch (error) {
      rmSync(partial, { recursive: true, force: true });
      const reason = (error as { stderr?: Buffer }).stderr?.toString().trim() || (error as Error).message;
      throw new UsernsError(`userns: cannot make the chown-ed copy of layer ${layer}: ${reason}`, { path: layer });
    }
    renameSync(partial, target);
    return target;
  });
}
