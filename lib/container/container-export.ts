import { fstatSync, readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { ContainerHandle } from './container-handle.js';
import { openContainerFilesystem } from './container-filesystem.js';
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
    mountPoints = fs.pid === undefined ? new Set() : containerMountPoints(fs.pid);
  } catch (error) {
    fs.close();
    throw error;
  }
  return packTree(fs.root.fd, '', '', { sameDevice: device, mountPoints }, () => fs.close());
}

/** The mount points in a process's mount namespace, relative to its root (`proc`, `etc/hostname`). */
function containerMountPoints(pid: number): Set<string> {
  let mountinfo: string;
  try {
    mountinfo = readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
  } catch {
    return new Set(); // it exited: whatever is read through its root now has no mounts
  }
  const points = new Set<string>();
  for (const line of mountinfo.split('\n')) {
    const mountPoint = line.split(' ')[4];
    if (!mountPoint || mountPoint === '/') continue;
    points.add(mountPoint.slice(1).replace(/\\(\d{3})/g, (_m, octal: string) => String.fromCharCode(parseInt(octal, 8))));
  }
  return points;
}
