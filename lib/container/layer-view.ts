/**
 * A container's filesystem read straight from its overlay layers, before it
 * runs (nothing is mounted): the merged view overlayfs would show, reached
 * only through descriptors.
 *
 * - The top-most layer that has a name decides what it is; a whiteout (a
 *   character device 0/0) hides it; a directory merges with the same
 *   directory of the layers below, down to an opaque one
 *   (`trusted.overlay.opaque=y`) or a layer where the name is not a directory.
 * - Every component is looked up in a directory held open, without following
 *   it (`/proc/self/fd/<fd>/<name>`, lstat). Symlinks are followed by hand
 *   inside the view, as the container would: an absolute target starts again
 *   at the view's root, `..` never goes above it. So nothing in a layer can
 *   lead a lookup to a host file.
 * - Files are read with `readRegularFile`: never a FIFO, device or socket,
 *   and no more than the caller allows.
 */
import { closeSync, lstatSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { BerthError } from '../errors.js';
import { nativeAddon } from '../native/addon.js';
import { fdPath, MAX_SYMLINKS, openDirectory, readRegularFile, splitPath } from './path-in-root.js';

/** One directory of the merged view: the same directory in each layer that merges into it, top-most first. */
type Merged = number[];

/** What a name is in a merged directory. */
type Found =
  | { kind: 'directory'; merged: Merged }
  | { kind: 'symlink'; target: string }
  | { kind: 'other'; dirFd: number; name: string; stats: Stats }
  | undefined;

const isWhiteout = (stats: Stats) => stats.isCharacterDevice() && stats.rdev === 0;

export class LayerView {
  private constructor(
    /** The layers' root directories, top-most first (missing layers are left out). */
    private readonly root: Merged,
    /** Named in errors: `container web`. */
    readonly description: string,
  ) {}

  /**
   * Opens the layers (top-most first: the container's upper directory, then
   * the image's layers or a `rootfs` directory). A layer directory that does
   * not exist yet (an upper directory before the first start) is left out.
   */
  static open(layerDirs: readonly string[], description: string): LayerView {
    const root: Merged = [];
    try {
      for (const dir of layerDirs) {
        // berth's own paths (or the rootfs the user named); checked first: an exception costs more than a stat
        if (statSync(dir, { throwIfNoEntry: false })) root.push(openDirectory(dir, false));
      }
    } catch (error) {
      for (const fd of root) closeSync(fd);
      throw error;
    }
    return new LayerView(root, description);
  }

  close(): void {
    for (const fd of this.root) closeSync(fd);
  }

  /**
   * The content of the regular file `path` in the merged view (symlinks
   * followed inside the view); `undefined` when it does not exist (missing,
   * whited out, or below something that is not a directory).
   * @throws BerthError `ELOOP` (too many symlinks), `EISDIR`,
   *   `ERR_NOT_REGULAR_FILE`, `EFBIG` (more than `maxSize` bytes)
   */
  readFile(path: string, maxSize: number): Buffer | undefined {
    return this.walk(path, (found, shown) => {
      if (found?.kind === 'directory') throw new BerthError(`${shown} is a directory in ${this.description}`, { code: 'EISDIR', path: shown });
      return found && readRegularFile(found.dirFd, found.name, shown, this.description, maxSize);
    });
  }

  /** What `path` is in the merged view (symlinks followed inside the view): a directory, something else, or nothing. */
  kind(path: string): 'directory' | 'other' | undefined {
    return this.walk(path, (found) => found?.kind);
  }

  /**
   * Looks `path` up (symlinks followed inside the view) and hands what the
   * last component is to `use` (undefined when nothing is there), while the
   * directories on the way are still open.
   */
  private walk<T>(path: string, use: (found: Exclude<Found, { kind: 'symlink' }> | { kind: 'directory'; merged: Merged } | undefined, shown: string) => T): T {
    const stack: { merged: Merged; name: string }[] = [];
    const pending = splitPath(path).reverse();
    const here = (name: string) => ['', ...stack.map((entry) => entry.name), name].join('/');
    let links = 0;
    try {
      while (pending.length > 0) {
        const part = pending.pop()!;
        if (part === '.') continue;
        if (part === '..') {
          closeAll(stack.pop()?.merged);
          continue;
        }
        const found = lookup(stack.at(-1)?.merged ?? this.root, part);
        const isLast = pending.every((p) => p === '.');
        if (found === undefined) return use(undefined, here(part));
        if (found.kind === 'symlink') {
          if (++links > MAX_SYMLINKS) throw new BerthError(`too many levels of symbolic links: ${here(part)} in ${this.description}`, { code: 'ELOOP', path: here(part) });
          if (found.target.startsWith('/')) while (stack.length > 0) closeAll(stack.pop()!.merged);
          pending.push(...splitPath(found.target).reverse());
          continue;
        }
        if (found.kind === 'directory') {
          const shown = here(part);
          stack.push({ merged: found.merged, name: part });
          if (isLast) return use(found, shown);
          continue;
        }
        if (!isLast) return use(undefined, here(part)); // a file where a directory should be: ENOTDIR, nothing there
        return use(found, here(part));
      }
      return use({ kind: 'directory', merged: stack.at(-1)?.merged ?? this.root }, path);
    } finally {
      for (const entry of stack) closeAll(entry.merged);
    }
  }
}

/** `name` in the merged directory `dirs`; the directories it merges are opened for the caller to close. */
function lookup(dirs: Merged, name: string): Found {
  for (const [i, dirFd] of dirs.entries()) {
    const at = fdPath(dirFd, name);
    const stats = lstatSync(at, { throwIfNoEntry: false });
    if (!stats) continue;
    if (isWhiteout(stats)) return undefined;
    if (stats.isSymbolicLink()) return { kind: 'symlink', target: readlinkSync(at) };
    if (!stats.isDirectory()) return { kind: 'other', dirFd, name, stats };
    const merged: Merged = [];
    try {
      merged.push(openDirectory(at)); // O_NOFOLLOW: swapped for a symlink since the lstat fails here
      if (isOpaque(dirFd, name)) return { kind: 'directory', merged };
      for (const lowerFd of dirs.slice(i + 1)) {
        const below = lstatSync(fdPath(lowerFd, name), { throwIfNoEntry: false });
        if (!below) continue;
        if (!below.isDirectory()) break; // a file, a link or a whiteout ends the merge
        merged.push(openDirectory(fdPath(lowerFd, name)));
        if (isOpaque(lowerFd, name)) break;
      }
      return { kind: 'directory', merged };
    } catch (error) {
      closeAll(merged);
      throw error;
    }
  }
  return undefined;
}

/** The directory `name` in `dirFd` is opaque (lgetxattr: the name itself, never a link it became). */
function isOpaque(dirFd: number, name: string): boolean {
  return nativeAddon().getXattr(fdPath(dirFd, name), 'trusted.overlay.opaque')?.toString() === 'y';
}

function closeAll(fds: readonly number[] | undefined): void {
  for (const fd of fds ?? []) closeSync(fd);
}
