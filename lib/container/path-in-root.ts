import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { BerthError, NotFoundError, type BerthErrorDetails } from '../errors.js';

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK, O_NOCTTY } = constants;
/** open(2)'s O_PATH (the same on every Linux architecture Node runs on); Node does not export it. */
const O_PATH = 0o10000000;
/** How many symbolic links one lookup follows, as the kernel's limit. */
export const MAX_SYMLINKS = 40;

/**
 * A path would lead outside the container's filesystem (`..` in an archive,
 * an archive entry below a symbolic link), so nothing was written there.
 */
export class UnsafePathError extends BerthError {
  constructor(message: string, details: BerthErrorDetails = {}) {
    super(message, { code: 'ERR_UNSAFE_PATH', ...details });
  }
}

/**
 * How Node reaches `name` inside the directory open as `dirFd`: the kernel
 * jumps to the descriptor's directory and looks up that one name, nothing
 * else. With `O_NOFOLLOW` (or lstat, readlink, mkdir, symlink, unlink) a
 * symlink there is never followed, whatever its target. This stands in for
 * the `*at` system calls Node lacks.
 */
export function fdPath(dirFd: number, name?: string): string {
  if (name !== undefined && (name === '' || name.includes('/'))) throw new Error(`fdPath: '${name}' is not one path component`);
  return name === undefined ? `/proc/self/fd/${dirFd}` : `/proc/self/fd/${dirFd}/${name}`;
}

/** The non-empty components of a slash-separated path. */
export function splitPath(path: string): string[] {
  return path.split('/').filter((part) => part !== '');
}

/** Opens a directory; with `noFollow` a symlink in the last place is refused (ELOOP). */
export function openDirectory(path: string, noFollow = true): number {
  return openSync(path, O_RDONLY | O_DIRECTORY | (noFollow ? O_NOFOLLOW : 0));
}

export function lstatIfExists(path: string): Stats | undefined {
  return lstatSync(path, { throwIfNoEntry: false });
}

/** A path resolved inside a root: the directory that holds its last component, open, and that component. */
export interface Resolved {
  /** The directory holding `name` (the caller closes it). */
  dirFd: number;
  /** The last component, not followed; `''` when the path names the directory itself (`/`, `a/..`). */
  name: string;
  /** The path of `dirFd` inside the root, without symlinks: `/usr/bin`. */
  dirPath: string;
}

/**
 * A directory tree reached through a descriptor, such as a container's root
 * (`/proc/<pid>/root`, which also reaches the mounts of its mount namespace).
 * Every path is resolved inside it the way the container itself would: a
 * symlink's absolute target starts again from this root, and `..` never goes
 * above it. Each step holds the directory it reached open, so nothing that
 * runs in the container meanwhile can redirect a lookup to the host.
 */
export class RootDir {
  private constructor(
    readonly fd: number,
    /** Named in errors: `container web`. */
    readonly description: string,
  ) {}

  static open(hostPath: string, description: string): RootDir {
    return new RootDir(openDirectory(hostPath, false), description);
  }

  close(): void {
    closeSync(this.fd);
  }

  /** A new descriptor of the root itself, for the caller to close. */
  reopenRoot(): number {
    return openDirectory(fdPath(this.fd), false);
  }

  /**
   * Resolves `path` (absolute or relative: both start at this root) down to
   * the directory holding its last component.
   * @param options.followLast follow a symlink in the last place too (default true)
   * @param options.create create missing directories on the way (not the last component), mode 0755
   * @param options.descend called with each directory (its path in the root, its lstat) before the lookup goes into it; throws to refuse
   * @throws NotFoundError, or BerthError `ENOTDIR`/`ELOOP`
   */
  resolve(path: string, options: { followLast?: boolean; create?: boolean; descend?: (path: string, stats: Stats) => void } = {}): Resolved {
    const { followLast = true, create = false, descend } = options;
    const stack: { fd: number; name: string }[] = [];
    const pending = splitPath(path).reverse();
    const here = () => '/' + stack.map((entry) => entry.name).join('/');
    let links = 0;
    let last = '';
    try {
      while (pending.length > 0) {
        const part = pending.pop()!;
        if (part === '.') continue;
        if (part === '..') {
          const up = stack.pop();
          if (up) closeSync(up.fd);
          continue;
        }
        const isLast = pending.every((p) => p === '.');
        const at = fdPath(stack.at(-1)?.fd ?? this.fd, part);
        let stats = lstatIfExists(at);
        if (isLast && !(followLast && stats?.isSymbolicLink())) {
          last = part;
          break;
        }
        if (!stats && create) {
          makeDirectory(at, 0o755);
          stats = lstatSync(at);
        }
        const shown = joinPath(here(), part);
        if (!stats) throw new NotFoundError(`no such file or directory: ${shown} in ${this.description}`, { syscall: 'lstat', path: shown });
        if (stats.isSymbolicLink()) {
          if (++links > MAX_SYMLINKS) {
            throw new BerthError(`too many levels of symbolic links: ${shown} in ${this.description}`, { code: 'ELOOP', path: shown });
          }
          const target = readlinkSync(at);
          if (target.startsWith('/')) while (stack.length > 0) closeSync(stack.pop()!.fd);
          pending.push(...splitPath(target).reverse());
          continue;
        }
        if (!stats.isDirectory()) {
          throw new BerthError(`not a directory: ${shown} in ${this.description}`, { code: 'ENOTDIR', path: shown });
        }
        descend?.(shown, stats);
        stack.push({ fd: openDirectory(at), name: part });
      }
      const dirPath = here();
      const dir = stack.pop();
      return { dirFd: dir?.fd ?? this.reopenRoot(), name: last, dirPath };
    } finally {
      for (const entry of stack) closeSync(entry.fd);
    }
  }

  /**
   * Opens the directory `path` names (following symlinks inside the root).
   * With `create`, missing directories are made, the last one included.
   */
  openDir(path: string, options: { create?: boolean } = {}): { fd: number; path: string } {
    const { dirFd, name, dirPath } = this.resolve(path, { followLast: true, create: options.create });
    if (name === '') return { fd: dirFd, path: dirPath };
    try {
      const at = fdPath(dirFd, name);
      if (options.create) makeDirectory(at, 0o755);
      const stats = lstatIfExists(at);
      const shown = joinPath(dirPath, name);
      if (!stats) throw new NotFoundError(`no such file or directory: ${shown} in ${this.description}`, { syscall: 'lstat', path: shown });
      if (!stats.isDirectory()) throw new BerthError(`not a directory: ${shown} in ${this.description}`, { code: 'ENOTDIR', path: shown });
      return { fd: openDirectory(at), path: shown };
    } finally {
      closeSync(dirFd);
    }
  }

  /**
   * Reads the regular file `path` names (following symlinks inside the root),
   * with `readRegularFile`'s guarantees.
   */
  readFile(path: string, maxSize: number): Buffer {
    const { dirFd, name, dirPath } = this.resolve(path);
    try {
      if (name === '') throw new BerthError(`${path} is a directory in ${this.description}`, { code: 'EISDIR', path });
      return readRegularFile(dirFd, name, joinPath(dirPath, name), this.description, maxSize);
    } finally {
      closeSync(dirFd);
    }
  }
}

/**
 * The regular file `name` in the directory `dirFd`, found without ever
 * following a symlink there or opening anything else: the entry is opened
 * with `O_PATH` (which opens nothing: no FIFO waits for a writer, no device
 * runs its open) and checked with fstat. Returns that descriptor, for the
 * caller to open for reading through `fdPath(fd)` (the same inode, whatever
 * was renamed meanwhile) and close.
 * @param path, description name the file in errors: `/etc/group` in `container web`.
 * @throws NotFoundError when it does not exist; BerthError `ELOOP` (a symlink),
 *   `ERR_NOT_REGULAR_FILE` (a directory, FIFO, device, socket)
 */
export function findRegularFile(dirFd: number, name: string, path: string, description: string): { pathFd: number; size: number } {
  const shown = `${path} in ${description}`;
  let pathFd: number;
  try {
    pathFd = openSync(fdPath(dirFd, name), O_PATH | O_NOFOLLOW);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`no such file: ${shown}`, { syscall: 'open', path });
    throw error;
  }
  const stats = fstatSync(pathFd);
  if (stats.isFile()) return { pathFd, size: stats.size };
  closeSync(pathFd);
  if (stats.isSymbolicLink()) throw new BerthError(`${shown} is a symbolic link where a file was expected`, { code: 'ELOOP', path });
  throw new BerthError(`${shown} is not a regular file (${fileKind(stats)})`, { code: 'ERR_NOT_REGULAR_FILE', path });
}

/** Flags for reading a file `findRegularFile` found: never waits, never becomes a controlling terminal. */
export const READ_FOUND_FILE = O_RDONLY | O_NONBLOCK | O_NOCTTY;

/**
 * Reads the regular file `name` in the directory `dirFd` (see
 * `findRegularFile`), at most `maxSize` bytes.
 * @throws as `findRegularFile`; BerthError `EFBIG` (larger than `maxSize`)
 */
export function readRegularFile(dirFd: number, name: string, path: string, description: string, maxSize: number): Buffer {
  const { pathFd, size } = findRegularFile(dirFd, name, path, description);
  try {
    const fd = openSync(fdPath(pathFd), READ_FOUND_FILE);
    try {
      return readAtMost(fd, size, path, `${path} in ${description}`, maxSize);
    } finally {
      closeSync(fd);
    }
  } finally {
    closeSync(pathFd);
  }
}

/** The whole content of `fd` (`size` bytes when it was found), refused beyond `maxSize` bytes (the file may grow while read). */
function readAtMost(fd: number, size: number, path: string, shown: string, maxSize: number): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  for (let want = Math.min(size, maxSize) + 1; ; want = 64 * 1024) {
    const chunk = Buffer.allocUnsafe(Math.min(want, maxSize + 1 - total));
    const read = readSync(fd, chunk, 0, chunk.length, null);
    if (read === 0) return Buffer.concat(chunks, total);
    chunks.push(chunk.subarray(0, read));
    total += read;
    if (total > maxSize) throw new BerthError(`${shown} is larger than ${maxSize} bytes`, { code: 'EFBIG', path });
  }
}

/** What a non-regular file is, for messages. */
export function fileKind(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  return 'a regular file';
}

/** mkdir that accepts an existing entry (whatever it is: the caller looks next). */
export function makeDirectory(path: string, mode: number): void {
  try {
    mkdirSync(path, { mode });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}
