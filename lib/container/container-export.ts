import { fstatSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { ContainerHandle } from './container-handle.js';
import { openContainerFilesystem } from './container-filesystem.js';
import { packTree } from './container-tar.js';

/**
 * The container's whole filesystem as a tar stream, like `docker export`:
 * the image layers with the container's changes on top. For a running
 * container it is its live root; directories that are mount points there
 * (`/proc`, `/sys`, `/dev`, …) are archived empty. Entries are named without
 * a leading `/` (`bin/`, `etc/passwd`).
 */
export async function exportContainer(handle: ContainerHandle): Promise<Readable> {
  const fs = await openContainerFilesystem(handle, 'read');
  let device: number;
  try {
    device = fstatSync(fs.root.fd).dev;
  } catch (error) {
    fs.close();
    throw error;
  }
  return packTree(fs.root.fd, '', '', { sameDevice: device }, () => fs.close());
}
