import { fstatSync } from 'node:fs';
import { ownerMaps } from '../userns/owner-ids.js';
import type { Readable } from 'node:stream';
import type { ContainerHandle } from './container-handle.js';
import { openContainerFilesystem } from './container-filesystem.js';
import { containerMounts } from './container-mounts.js';
import { packTree } from './container-tar.js';

/**
 * The container's whole filesystem as a tar stream, like `docker export`:
 * the image layers with the container's changes on top. For a running
 * container it is its live root, without what is mounted on it: mount points
 * (`/proc`, `/sys`, `/dev`, `/etc/hostname`, …) are archived as empty
 * directories and files. Entries are named without a leading `/` (`bin/`,
 * `etc/passwd`).
 */
export async function exportContainer(handle: ContainerHandle): Promise<Readable> {
  const fs = await openContainerFilesystem(handle, 'read');
  let device: number;
  let mountPoints: Set<string>;
  try {
    device = fstatSync(fs.root.fd).dev;
    mountPoints = new Set(fs.pid === undefined ? [] : containerMounts(fs.pid).map((mount) => mount.path).filter((path) => path !== ''));
  } catch (error) {
    fs.close();
    throw error;
  }
  return packTree(fs.root.fd, '', '', { sameDevice: device, mountPoints, idMaps: ownerMaps(handle.config, handle.userns?.maps) }, () => fs.close());
}
