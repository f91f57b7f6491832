/**
 * Filling an empty volume from the image (Docker's copy-up): what the
 * container's filesystem has at the mount's target is copied into the
 * volume before the container first starts with it.
 *
 * The filesystem is read straight from its overlay layers (the container's
 * upper directory and the image's layers, top-most first), merged the way
 * overlayfs merges them: the top-most entry of a name wins, a whiteout (a
 * character device 0/0) hides the name below it, and a directory merges with
 * the directories below it down to an opaque one (`trusted.overlay.opaque=y`)
 * or to a layer where the name is not a directory. Symlinks on the way to the
 * target are followed inside the container's root, as the container would.
 *
 * What is copied, as the image is hostile input: symlinks as symlinks (never
 * followed, whatever they point at; a file is opened with O_NOFOLLOW and must
 * be the file that was looked up), set-id bits and owners as they are (Docker
 * keeps them; the volume lives under the state root, which other host users
 * cannot enter), extended attributes by the image policy (`user.*` and file
 * capabilities), FIFOs; character and block devices are not copied (Docker
 * copies them): a volume outlives the container and is mounted into others,
 * so a device node an image carried would outlive the image's own rules.
 *
 * Rootless, the layers hold the container's view (files of its subordinate
 * ids): the caller copies what it can read, its own files keep their owner,
 * and the owners it cannot give (and the modes that must follow a chown) are
 * applied at the end by the user namespace helper (userns-file-ops.ts). A
 * directory or file the caller cannot read (a 0700 directory of container
 * uid 999) refuses the fill with a RootlessUnsupportedError.
 */
import {
  chmodSync,
  closeSync,
  constants,
  copyFileSync,
  fstatSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  symlinkSync,
  type Stats,
} from 'node:fs';
import { join, relative } from 'node:path';
import { BerthError, RootlessUnsupportedError } from '../errors.js';
import { allowedXattr } from '../image/xattr-policy.js';
import { nativeAddon } from '../native/addon.js';
import { applyFileOps, type FileOp, type UsernsContext } from '../userns/userns-file-ops.js';
import { seenOwner } from '../userns/owner-ids.js';

const MAX_SYMLINKS = 40;

/** One name in the merged view. */
interface Entry {
  /** Of its top-most layer. */
  stats: Stats;
  /** Its path in that layer. */
  path: string;
  /** A directory: its directories in every layer that merges into it, top-most first. */
  layers?: string[];
}

const isWhiteout = (stats: Stats) => stats.isCharacterDevice() && stats.rdev === 0;
const isOpaque = (dir: string) => nativeAddon().getXattr(dir, 'trusted.overlay.opaque')?.toString() === 'y';
const lstat = (path: string) => lstatSync(path, { throwIfNoEntry: false });

/** `name` in the merged directory made of `dirs` (top-most first); undefined when it is missing or whited out. */
function lookup(dirs: readonly string[], name: string): Entry | undefined {
  for (let i = 0; i < dirs.length; i++) {
    const path = join(dirs[i]!, name);
    const stats = lstat(path);
    if (!stats) continue;
    if (isWhiteout(stats)) return undefined;
    if (!stats.isDirectory()) return { stats, path };
    const layers = [path];
    if (!isOpaque(path)) {
      for (const lower of dirs.slice(i + 1)) {
        const below = join(lower, name);
        const belowStats = lstat(below);
        if (!belowStats) continue;
        if (!belowStats.isDirectory()) break; // a file or a whiteout ends the merge
        layers.push(below);
        if (isOpaque(below)) break;
      }
    }
    return { stats, path, layers };
  }
  return undefined;
}

/** The directory `target` names in the merged view, symlinks followed inside the root; undefined when it is missing or not a directory. */
function resolveDirectory(rootDirs: readonly string[], target: string): Entry | undefined {
  const top = lstat(rootDirs[0]!) ?? lstat(rootDirs.at(-1)!);
  if (!top) return undefined;
  const root: Entry = { stats: top, path: rootDirs[0]!, layers: [...rootDirs] };
  let stack: Entry[] = [];
  const pending = target.split('/').filter(Boolean).reverse();
  let links = 0;
  while (pending.length > 0) {
    const part = pending.pop()!;
    if (part === '.') continue;
    if (part === '..') {
      stack.pop();
      continue;
    }
    const entry = lookup((stack.at(-1) ?? root).layers!, part);
    if (!entry) return undefined;
    if (entry.stats.isSymbolicLink()) {
      if (++links > MAX_SYMLINKS) return undefined;
      const link = readlinkSync(entry.path);
      if (link.startsWith('/')) stack = [];
      pending.push(...link.split('/').filter(Boolean).reverse());
      continue;
    }
    if (!entry.layers) return undefined;
    stack.push(entry);
  }
  return stack.at(-1) ?? root;
}

/**
 * Copies the regular file at `source` (as `stats` found it) to `dest`: opened
 * with O_NOFOLLOW and checked to be that same file, then copied from the
 * open descriptor, so a name swapped for a symlink is never followed.
 */
function copyRegularFile(source: string, stats: Stats, dest: string): void {
  const fd = openSync(source, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const opened = fstatSync(fd);
    if (!opened.isFile() || opened.ino !== stats.ino || opened.dev !== stats.dev) {
      throw new BerthError(`filling a volume: ${source} changed while it was copied; try again`, { code: 'ERR_CHANGED', path: source });
    }
    copyFileSync(`/proc/self/fd/${fd}`, dest, constants.COPYFILE_EXCL);
  } finally {
    closeSync(fd);
  }
}

/** Copies a merged tree with owners, modes, times, symlinks, hard links, devices and extended attributes. */
class TreeCopier {
  private readonly links = new Map<string, string>();
  /** Rootless: owners and modes for the helper, relative to `base`. */
  readonly ops: FileOp[] = [];

  constructor(
    private readonly base: string,
    private readonly userns: UsernsContext | undefined,
  ) {}

  /** The entries of the merged directory `dirs` into the existing directory `dest`. */
  copyChildren(dirs: readonly string[], dest: string): void {
    const seen = new Set<string>();
    for (const dir of dirs) {
      for (const name of readdirSync(dir)) {
        if (seen.has(name)) continue;
        seen.add(name);
        const entry = lookup(dirs, name);
        if (entry) this.copyEntry(entry, join(dest, name));
      }
    }
  }

  private copyEntry(entry: Entry, dest: string): void {
    const { stats } = entry;
    if (entry.layers) {
      mkdirSync(dest, { mode: 0o700 });
      this.copyChildren(entry.layers, dest);
    } else if (stats.isSymbolicLink()) {
      symlinkSync(readlinkSync(entry.path), dest);
    } else if (stats.isFile()) {
      const key = `${stats.dev}:${stats.ino}`;
      const first = stats.nlink > 1 ? this.links.get(key) : undefined;
      if (first) {
        linkSync(first, dest); // the same file again: a hard link, as in the image
        return;
      }
      copyRegularFile(entry.path, stats, dest);
      if (stats.nlink > 1) this.links.set(key, dest);
    } else if (stats.isFIFO()) {
      nativeAddon().mknod(dest, constants.S_IFIFO | (stats.mode & 0o7777), 0, 0);
    } else {
      return; // a device (see the policy above) or a socket: nothing to copy
    }
    this.copyMetadata(entry.path, stats, dest);
  }

  /** Owner, mode, extended attributes (those the image policy keeps) and times of `source` onto `dest`, in an order that keeps setuid bits and file capabilities. */
  copyMetadata(source: string, stats: Stats, dest: string): void {
    const own = this.userns ? this.rootlessOwner(stats, dest) : (lchownSync(dest, stats.uid, stats.gid), true);
    if (own && !stats.isSymbolicLink()) chmodSync(dest, stats.mode & 0o7777);
    copyXattrsAndTimes(source, stats, dest);
  }

  /** Rootless: true when the owner is the caller's (container root); otherwise the chown (and chmod) go to the helper. */
  private rootlessOwner(stats: Stats, dest: string): boolean {
    const { uid, gid } = seenOwner(this.userns!.maps, stats);
    if (uid === 0 && gid === 0) return true;
    const path = relative(this.base, dest) || '.';
    this.ops.push({ op: 'chown', path, uid, gid });
    if (!stats.isSymbolicLink()) this.ops.push({ op: 'chmod', path, mode: stats.mode & 0o7777 });
    return false;
  }
}

/** The extended attributes the image policy keeps, and the times. */
function copyXattrsAndTimes(source: string, stats: Stats, dest: string): void {
  if (stats.isFile() || stats.isDirectory()) {
    const addon = nativeAddon();
    for (const name of addon.listXattrs(source)) {
      const value = addon.getXattr(source, name);
      const kept = value ? allowedXattr(name, value) : undefined;
      if (kept) addon.setXattr(dest, name, kept);
    }
  }
  lutimesSync(dest, stats.atime, stats.mtime);
}

/**
 * Fills the volume directory `data` with what `target` holds in the merged
 * layers `rootDirs` (top-most first), as Docker fills an empty volume, and
 * gives `data` that directory's owner and mode. Does nothing when `data` has
 * files already or the target is not a directory there.
 * @returns whether anything was copied.
 */
export async function populateVolume(data: string, rootDirs: readonly string[], target: string, userns?: UsernsContext): Promise<boolean> {
  if (readdirSync(data).length > 0) return false;
  const source = resolveDirectory(rootDirs, target);
  if (!source) return false;
  const copier = new TreeCopier(data, userns);
  try {
    copier.copyChildren(source.layers!, data);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!userns || (code !== 'EACCES' && code !== 'EPERM')) throw error;
    throw new RootlessUnsupportedError(
      `filling the volume from the image's ${target}: ${(error as Error).message}; a rootless runtime cannot read that file of the image ` +
        '(it belongs to a container user and is private). Mount the volume with noCopy, or fill it from inside the container.',
      { path: (error as NodeJS.ErrnoException).path, cause: error },
    );
  }
  copier.copyMetadata(source.path, source.stats, data);
  if (userns) await applyFileOps(userns, data, copier.ops);
  return true;
}
