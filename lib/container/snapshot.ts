import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { NotFoundError } from '../errors.js';
import { removeTree } from '../userns/tree-removal.js';
import type { UsernsContext } from '../userns/userns-file-ops.js';
import type { ContainerConfig, ContainerPaths } from './container-config.js';

/** A saved state of a container's filesystem, from `container.snapshot()`. */
export interface Snapshot {
  /** 16 hex characters. */
  id: string;
  /** When it was taken (RFC 3339). */
  createdAt: string;
}

/** config.json's record of a snapshot: where its layer is. */
export interface SnapshotRecord extends Snapshot {
  dir: string;
}

/**
 * Makes the container's writable layer a snapshot, without copying: the
 * upper directory is renamed to `snapshots/<id>` and becomes the top-most
 * read-only layer (overlayfs honours its whiteouts and opaque directories
 * there), and the container gets a new, empty upper directory. The container
 * must not be running (its overlay must not be mounted). Changes `config`.
 * `userns`: the rootless runtime's (what the container wrote may belong to its subordinate ids).
 */
export async function takeSnapshot(config: ContainerConfig, paths: ContainerPaths, userns: UsernsContext | undefined): Promise<Snapshot> {
  const id = randomBytes(8).toString('hex');
  const dir = join(paths.dir, 'snapshots', id);
  mkdirSync(join(paths.dir, 'snapshots'), { recursive: true, mode: 0o700 });
  mkdirSync(paths.upper, { recursive: true });
  renameSync(paths.upper, dir);
  await freshWritableLayer(paths, userns);
  const record: SnapshotRecord = { id, createdAt: new Date().toISOString(), dir };
  config.snapshots = [...(config.snapshots ?? []), record];
  config.layers = [dir, ...config.layers];
  return { id: record.id, createdAt: record.createdAt };
}

/**
 * Returns the filesystem to `snapshot` (an id; the latest when undefined, the
 * image itself when `'image'` or when there is none): the writable layer and
 * every later snapshot are deleted — work proportional to what changed since,
 * not to the size of the data. The container must not be running. Changes `config`.
 * @throws NotFoundError for an unknown snapshot
 */
export async function resetToSnapshot(
  config: ContainerConfig,
  paths: ContainerPaths,
  snapshot: string | undefined,
  userns: UsernsContext | undefined,
): Promise<void> {
  const snapshots = config.snapshots ?? [];
  const keep = snapshot === 'image' ? 0 : snapshot === undefined ? snapshots.length : snapshots.findIndex((s) => s.id === snapshot) + 1;
  if (keep === 0 && snapshot !== undefined && snapshot !== 'image') {
    throw new NotFoundError(`container ${config.name} has no snapshot ${snapshot}`, { containerId: config.id });
  }
  const dropped = snapshots.slice(keep);
  const trash = join(paths.dir, `.trash-${randomBytes(4).toString('hex')}`);
  mkdirSync(trash);
  mkdirSync(paths.upper, { recursive: true });
  renameSync(paths.upper, join(trash, 'upper'));
  dropped.forEach((s, i) => renameSync(s.dir, join(trash, String(i))));
  await freshWritableLayer(paths, userns);
  config.snapshots = snapshots.slice(0, keep);
  config.layers = config.layers.filter((layer) => !dropped.some((s) => s.dir === layer));
  await removeTree(trash, userns);
}

/** An empty upper directory and a clean overlay work directory. */
async function freshWritableLayer(paths: ContainerPaths, userns: UsernsContext | undefined): Promise<void> {
  await removeTree(paths.work, userns);
  mkdirSync(paths.upper);
  mkdirSync(paths.work);
}
