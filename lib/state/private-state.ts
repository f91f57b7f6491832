/**
 * The state root is private to root: it holds containers' environments
 * (secrets), the files they wrote, their logs, volumes and image content.
 *
 * - Directories berth makes are 0700, state files 0600: another local user
 *   can neither list nor read anything below them.
 * - Files and directories of a container's filesystem (`upper/`, the layers'
 *   `diff/`, a volume's `_data`) keep the modes the image or the container
 *   gave them: the overlay and the mounts show those modes inside the
 *   container. Their private parents are what protects them.
 * - A root made by an older berth is tightened when it is opened: the root
 *   itself and berth's own directories in it, one chmod each, no walk (what
 *   is below a 0700 directory is out of reach whatever its own mode).
 * - A root the user gave that already holds other files is not berth's alone:
 *   its own mode is left as it is, and only berth's directories in it are
 *   made private (so the names `containers`, `volumes`, … may be listed,
 *   nothing in them).
 */
import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Mode of every directory berth makes in the state root. */
export const PRIVATE_DIR_MODE = 0o700;
/** Mode of every state file berth writes. */
export const PRIVATE_FILE_MODE = 0o600;

/** berth's own entries directly in the root (the lock files are created 0600 already). */
const OWN_DIRECTORIES = ['blobs', 'layers', 'images', 'locks', 'containers', 'names', 'volumes', 'networks', 'seccomp', 'build-cache'];
/** Present in every root berth has opened. */
const MARKER = 'runtime.lock';

/** `mkdir -p` whose new directories are private (the root's parents, if missing, are ordinary 0755 ones). */
export function makePrivateDirectory(path: string): void {
  mkdirSync(path, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/**
 * Creates the state root private, or makes an existing one private: the root
 * itself when it is berth's (empty, or holding `runtime.lock`), and berth's
 * own directories in it in any case.
 */
export function preparePrivateRoot(root: string): void {
  mkdirSync(dirname(root), { recursive: true, mode: 0o755 });
  let ours = true;
  try {
    mkdirSync(root, { mode: PRIVATE_DIR_MODE });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const entries = readdirSync(root);
    ours = entries.length === 0 || entries.includes(MARKER);
  }
  if (ours) makePrivate(root);
  for (const name of OWN_DIRECTORIES) makePrivate(join(root, name));
}

/** Takes group and other permissions off a directory (symlinks and missing paths are left alone). */
function makePrivate(path: string): void {
  const stats = lstatSync(path, { throwIfNoEntry: false });
  if (stats?.isDirectory() && (stats.mode & 0o077) !== 0) chmodSync(path, stats.mode & 0o7700);
}
