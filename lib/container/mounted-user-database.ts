/**
 * The container's /etc/passwd and /etc/group as the container will see them
 * after its mounts, for the user picked at start: a bind mount of a host file
 * over /etc/passwd (`-v /srv/passwd:/etc/passwd:ro`, a common way to give a
 * container the host's users) or a bind mount, volume or tmpfs over /etc hides
 * the image's file, as runc resolves the user inside the mounted root.
 *
 * Files are read as the layers are: through descriptors, regular files only,
 * at most a size limit; symlinks in a mounted directory resolve inside that
 * directory, never on the host.
 */
import { realpathSync, statSync } from 'node:fs';
import { basename, dirname, posix } from 'node:path';
import type { ContainerMount } from '../../types/volume.js';
import { LayerView } from './layer-view.js';

/** Where one user file comes from when a mount covers it. */
export type MountedUserFile =
  /** Nothing: a tmpfs over /etc, or a mounted directory without the file. */
  | { from: 'nothing' }
  /** The host file bind-mounted over the user file. */
  | { from: 'file'; source: string }
  /** `name` in a directory mounted over /etc. */
  | { from: 'directory'; dir: string; name: string };

/**
 * For `passwd` or `group`: the last of `mounts` (mounts are made in order,
 * later ones on top) whose target is `/etc/<file>` or `/etc`; `undefined` when
 * no mount covers it (the layers decide).
 */
export function mountedUserFile(mounts: readonly ContainerMount[], file: 'passwd' | 'group'): MountedUserFile | undefined {
  for (const mount of [...mounts].reverse()) {
    const target = posix.normalize(`/${mount.target}`).replace(/\/+$/, '');
    // a source of the wrong kind (or a missing one) fails at the mounts step, which names it: the layers decide until then
    if (target === `/etc/${file}` && mount.type === 'bind') return isDirectory(mount.source) === false ? { from: 'file', source: mount.source } : undefined;
    if (target !== '/etc') continue;
    if (mount.type === 'tmpfs') return { from: 'nothing' };
    return isDirectory(mount.source) ? { from: 'directory', dir: mount.source, name: file } : undefined;
  }
  return undefined;
}

const fileInDirectory = (path: string) => ({ dir: dirname(path), name: basename(path) });

/** Whether the host path `source` (symlinks followed, as mount(2) does) is a directory; undefined when missing. */
const isDirectory = (source: string) => statSync(source, { throwIfNoEntry: false })?.isDirectory();

/** The content of a mounted user file, at most `maxSize` bytes; undefined when it does not exist. */
export function readMountedUserFile(mounted: MountedUserFile, maxSize: number, description: string): Buffer | undefined {
  if (mounted.from === 'nothing') return undefined;
  // a bind-mounted file: the host path the caller named, resolved as mount(2) resolves it
  const { dir, name } = mounted.from === 'file' ? fileInDirectory(realpathSync(mounted.source)) : mounted;
  const view = LayerView.open([dir], `${description} (mounted)`);
  try {
    return view.readFile(`/${name}`, maxSize);
  } finally {
    view.close();
  }
}
