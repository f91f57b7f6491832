import { fstatSync, mkdirSync, statSync } from 'node:fs';
import { BerthError } from '../errors.js';
import { readJsonIfExists } from '../state/atomic-file.js';
import { withDirectoryLock } from '../state/file-lock.js';
import type { ContainerHandle } from './container-handle.js';
import { processStartTime, type MonitorRecord } from './container-state.js';
import { ExecHelper, helperError, type SpecValue } from './exec-helper.js';
import { RootDir } from './path-in-root.js';
import { mapOwnNamespace } from '../userns/userns-file-ops.js';

/** A container's filesystem, open for copying or export. */
export interface ContainerFilesystem {
  /** Its root: every lookup stays inside. */
  root: RootDir;
  /** The running container's own view (its mounts included), or the overlay of a stopped one. */
  live: boolean;
  /** The host pid of the running container's first process, whose root this is. */
  pid?: number;
  /** Releases it (a stopped container's private overlay mount goes away with the descriptor). */
  close(): void;
}

/**
 * Opens a container's filesystem as the container sees it.
 *
 * - Running: `/proc/<pid>/root`, the root of its mount namespace, checked to
 *   belong to the recorded first process (a pid can be reused).
 * - Not running: the container's mounts existed only in its own mount
 *   namespace, so there is nothing to reach. berth-exec mounts the overlay in
 *   a private mount namespace of its own; Node opens it through
 *   `/proc/<helper>/root` and the descriptor keeps the mount alive after the
 *   helper exits, until `close()`. For reading the mount is read-only, with the
 *   upper dir as the top-most lower dir (nothing is locked, a start may go on
 *   meanwhile); for writing it is the container's own read-write overlay, and
 *   the caller holds the container's lock so it cannot start meanwhile.
 */
export async function openContainerFilesystem(handle: ContainerHandle, mode: 'read' | 'write'): Promise<ContainerFilesystem> {
  if (handle.state().status === 'running') {
    const live = openLiveRoot(handle);
    if (live) return live;
    // it exited just now: use its files
  }
  return mountStopped(handle, mode);
}

/**
 * Runs `fn` with the filesystem open for writing: a stopped container's
 * under its lock (so that it does not start while its upper dir is written).
 */
export async function withWritableFilesystem<T>(handle: ContainerHandle, fn: (fs: ContainerFilesystem) => Promise<T>): Promise<T> {
  const run = async () => {
    const fs = await openContainerFilesystem(handle, 'write');
    try {
      return await fn(fs);
    } finally {
      fs.close();
    }
  };
  return handle.state().status === 'running' ? run() : withDirectoryLock(handle.paths.dir, run);
}

function openLiveRoot(handle: ContainerHandle): ContainerFilesystem | undefined {
  const monitor = readJsonIfExists<MonitorRecord>(handle.paths.monitor);
  if (!monitor?.pid) return undefined;
  let root: RootDir;
  try {
    root = RootDir.open(`/proc/${monitor.pid}/root`, `container ${handle.name}`);
  } catch {
    return undefined;
  }
  // opened first, checked after: the descriptor is the recorded process's root
  if (processStartTime(monitor.pid) !== monitor.pidStartTime) {
    root.close();
    return undefined;
  }
  return { root, live: true, pid: monitor.pid, close: () => root.close() };
}

async function mountStopped(handle: ContainerHandle, mode: 'read' | 'write'): Promise<ContainerFilesystem> {
  const { paths, config } = handle;
  for (const dir of [paths.upper, paths.work, paths.rootfs]) mkdirSync(dir, { recursive: true });
  const lower = (dirs: string[]) => dirs.map((dir): [string, SpecValue] => ['lower', dir]);
  const spec: [string, SpecValue][] = mode === 'write'
    ? [...lower(config.layers), ['upper', paths.upper], ['work', paths.work], ['target', paths.rootfs]]
    : [...lower([paths.upper, ...config.layers]), ['target', paths.rootfs]];
  // rootless: the helper mounts from a user namespace of its own, mapped as the container's
  if (handle.userns) spec.push(['userns', true]);
  const helper = ExecHelper.start('mount', spec);
  try {
    if (handle.userns) await mapOwnNamespace(helper, handle.userns, `mounting the filesystem of container ${handle.name}`);
    const event = await helper.next();
    if (event?.event === 'error') throw helperError('mounting the filesystem of a stopped container', event, handle.id, BerthError);
    if (event?.event !== 'ready') {
      throw new BerthError('berth-exec exited before mounting the container filesystem', {
        code: 'ERR_EXEC_HELPER', step: 'rootfs', path: paths.rootfs, containerId: handle.id,
      });
    }
    const root = RootDir.open(`/proc/${event.pid}/root${paths.rootfs}`, `container ${handle.name}`);
    if (fstatSync(root.fd).dev === statSync(paths.rootfs).dev) {
      root.close(); // the helper's mount is not there: never work on the bare mount point
      throw new BerthError('the container filesystem was not mounted', { code: 'ERR_EXEC_HELPER', path: paths.rootfs, containerId: handle.id });
    }
    return { root, live: false, close: () => root.close() };
  } finally {
    helper.release();
  }
}
