import { closeSync, lstatSync, type Stats } from 'node:fs';
import { ownerMaps } from '../userns/owner-ids.js';
import { applyFileOps, type FileOp } from '../userns/userns-file-ops.js';
import { basename, dirname, resolve } from 'node:path';
import { Readable } from 'node:stream';
import type { CopyToOptions } from '../../types/container.js';
import type { Container } from './container.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { ContainerHandle } from './container-handle.js';
import { openContainerFilesystem, withWritableFilesystem } from './container-filesystem.js';
import { containerMounts, PSEUDO_FILESYSTEMS } from './container-mounts.js';
import { extractTar, packTree } from './container-tar.js';
import { fdPath, lstatIfExists, openDirectory, RootDir } from './path-in-root.js';

function checkPath(path: unknown, what: string): string {
  if (typeof path !== 'string' || path === '' || path.includes('\0')) throw new TypeError(`${what} must be a non-empty path`);
  return path;
}

function checkOwner(options: CopyToOptions): void {
  if (typeof options !== 'object' || options === null) throw new TypeError('copyTo: options must be an object');
  for (const key of ['uid', 'gid'] as const) {
    const id = options[key];
    if (id !== undefined && (!Number.isInteger(id) || id < 0 || id > 0xfffffffe)) throw new RangeError(`copyTo: ${key} must be an integer id`);
  }
}

/**
 * Copies into a container, running or not, like `docker cp` (ownership kept
 * as with `docker cp -a`, unless `uid`/`gid` say otherwise).
 *
 * - `source` a host path: copied to `containerPath` by `docker cp`'s rules.
 *   An existing directory there receives it under its own name (its contents
 *   only when `source` ends in `/.`); otherwise it is written as
 *   `containerPath`, whose parent must exist.
 * - `source` a tar stream: extracted into the directory `containerPath`
 *   (created when missing).
 *
 * `containerPath` is resolved inside the container (its symlinks lead where
 * they lead in there); the archive's entries may not leave it.
 * @throws UnsafePathError for `..` or an entry below a symlink (nothing is
 *   written outside), ConflictError when a directory and a non-directory would
 *   replace each other, NotFoundError when the source or the destination's parent is missing.
 */
export async function copyToContainer(handle: ContainerHandle, source: string | Readable, containerPath: string, options: CopyToOptions = {}): Promise<void> {
  checkPath(containerPath, 'copyTo: the container path');
  checkOwner(options);
  if (typeof source !== 'string' && !(source instanceof Readable)) throw new TypeError('copyTo: source must be a host path or a readable tar stream');
  if (typeof source === 'string') checkPath(source, 'copyTo: the host path');

  await withWritableFilesystem(handle, async ({ root }) => {
    if (typeof source !== 'string') {
      const dir = root.openDir(containerPath, { create: true });
      try {
        await extractWithOwners(handle, dir, source, options);
      } finally {
        closeSync(dir.fd);
      }
      return;
    }
    const hostPath = resolve(source);
    const stats = lstatSync(hostPath, { throwIfNoEntry: false });
    if (!stats) throw new NotFoundError(`copyTo: no such file or directory on the host: ${source}`, { path: source });
    const contentsOnly = stats.isDirectory() && /(^|\/)\.$/.test(source);
    const target = destination(root, containerPath, stats.isDirectory());
    const name = basename(hostPath);
    const archiveName = target.into ? (contentsOnly || name === '' ? '' : name) : target.name;
    // the host side is read through descriptors as well, from its parent directory
    const hostRoot = RootDir.open(dirname(hostPath), 'the host');
    // rootless: the host files' owners as the container sees them (the caller is its root)
    const tarStream = packTree(hostRoot.fd, name, archiveName, { idMaps: handle.userns?.maps }, () => hostRoot.close());
    try {
      await extractWithOwners(handle, target, tarStream, options);
    } finally {
      closeSync(target.fd);
    }
  });
}

/**
 * Extracts `source` into the directory open as `dir.fd`, owners as the
 * container's ids. Rootless, Node writes as the caller (the container's
 * root), then the user namespace helper gives the other owners: it reaches
 * the very directory Node holds open, through `/proc/<our pid>/fd/<fd>`, and
 * each path below it without following a symlink.
 */
async function extractWithOwners(handle: ContainerHandle, dir: { fd: number; path: string }, source: Readable, options: CopyToOptions): Promise<void> {
  const ownerOps: FileOp[] | undefined = handle.userns ? [] : undefined;
  await extractTar(dir.fd, dir.path, source, { ...options, idMaps: ownerMaps(handle.config), ownerOps });
  if (handle.userns && ownerOps && ownerOps.length > 0) await applyFileOps(handle.userns, `/proc/${process.pid}/fd/${dir.fd}`, ownerOps);
}

/** Where a host path goes: into an existing directory, or as a new name in an existing parent. */
function destination(root: RootDir, containerPath: string, sourceIsDir: boolean): { fd: number; path: string; into: boolean; name: string } {
  const { dirFd, name, dirPath } = root.resolve(containerPath, { followLast: true });
  try {
    const existing = name === '' ? undefined : lstatIfExists(fdPath(dirFd, name));
    const shown = name === '' ? dirPath : `${dirPath === '/' ? '' : dirPath}/${name}`;
    if (name === '' || existing?.isDirectory()) {
      const fd = name === '' ? openDirectory(fdPath(dirFd), false) : openDirectory(fdPath(dirFd, name));
      return { fd, path: shown, into: true, name };
    }
    if (containerPath.endsWith('/')) throw new NotFoundError(`copyTo: the directory ${containerPath} does not exist in ${root.description}`, { path: containerPath });
    if (existing && sourceIsDir) throw new ConflictError(`copyTo: cannot copy a directory over the file ${shown}`, { path: shown });
    return { fd: openDirectory(fdPath(dirFd), false), path: dirPath, into: false, name };
  } finally {
    closeSync(dirFd);
  }
}

/**
 * A tar stream of `containerPath` in a container, running or not, like
 * `docker cp container:path -`: the entry is named after the path's last
 * component (a symlink there is archived as the link; a path ending in `/`
 * follows it, one ending in `/.` gives a directory's contents without the
 * prefix). Modes, owners, mtimes, symlinks and hard links are kept.
 *
 * Of a running container, the mounts it has are included (volumes, binds,
 * tmpfs), except pseudo-filesystems (its `/proc`, `/sys`, `/dev/pts`,
 * `/dev/mqueue`, cgroups, …): their mount points are archived empty, as
 * `docker cp` does, so `copyFrom('/')` archives the whole container.
 * @throws NotFoundError when the path does not exist, or lies inside one of
 *   those pseudo-filesystems (`/proc/cpuinfo`: not files to copy)
 */
export async function copyFromContainer(handle: ContainerHandle, containerPath: string): Promise<Readable> {
  checkPath(containerPath, 'copyFrom: the container path');
  const fs = await openContainerFilesystem(handle, 'read');
  const pseudo = fs.pid === undefined ? [] : containerMounts(fs.pid).filter((mount) => PSEUDO_FILESYSTEMS.has(mount.fstype));
  const pseudoDevices = new Set(pseudo.map((mount) => mount.device));
  // what lies inside a pseudo-filesystem (by any route: /proc/…, a symlink to /proc) is not looked up at all
  const descend = (path: string, stats: Stats) => {
    const mount = pseudoDevices.has(stats.dev) ? pseudo.find((m) => m.device === stats.dev) : undefined;
    if (!mount) return;
    throw new NotFoundError(`copyFrom: ${containerPath} in container ${handle.name} is inside its ${mount.fstype} filesystem (${path}), `
      + 'a kernel view, not files: it is not copied (docker cp does not either)', { path: containerPath, containerId: handle.id });
  };
  let resolved;
  try {
    resolved = fs.root.resolve(containerPath, { followLast: /\/\.?$/.test(containerPath), descend });
    if (resolved.name !== '' && !lstatIfExists(fdPath(resolved.dirFd, resolved.name))) {
      closeSync(resolved.dirFd);
      throw new NotFoundError(`copyFrom: no such file or directory in container ${handle.name}: ${containerPath}`, {
        path: containerPath, containerId: handle.id,
      });
    }
  } catch (error) {
    fs.close();
    throw error;
  }
  const { dirFd, name, dirPath } = resolved;
  const archiveName = /(^|\/)\.$/.test(containerPath) ? '' : name || basename(dirPath);
  return packTree(dirFd, name, archiveName, { pseudoDevices, idMaps: ownerMaps(handle.config, handle.userns?.maps) }, () => {
    closeSync(dirFd);
    fs.close();
  });
}

/**
 * Copies a host file or directory, or a tar stream, into a container
 * (running or not), like `docker cp`: the same as `container.copyTo()`.
 *
 * @example
 * ```ts
 * await copyTo(container, './config', '/etc/app');           // a host directory
 * await copyTo(container, createReadStream('site.tar'), '/srv'); // a tar stream, extracted into /srv
 * ```
 */
export function copyTo(container: Container, source: string | Readable, containerPath: string, options: CopyToOptions = {}): Promise<void> {
  return container.copyTo(source, containerPath, options);
}

/**
 * A tar stream of a path in a container (running or not), like
 * `docker cp container:path -`: the same as `container.copyFrom()`.
 */
export function copyFrom(container: Container, containerPath: string): Promise<Readable> {
  return container.copyFrom(containerPath);
}
