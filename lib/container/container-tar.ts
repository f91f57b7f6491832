import { closeSync, constants, fchmodSync, fchownSync, futimesSync, linkSync, lchownSync, lstatSync, lutimesSync, readdirSync, readlinkSync, statSync, symlinkSync, unlinkSync, type Stats } from 'node:fs';
import type { IdMaps } from '../userns/id-map.js';
import { seenOwner, storedId } from '../userns/owner-ids.js';
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import tar, { type Pack } from 'tar-stream';
import { BerthError, ConflictError } from '../errors.js';
import { drainedOrClosed, quietEntry } from '../image/tar-entry-sink.js';
import type { FileOp } from '../userns/userns-file-ops.js';
import { rootlessUnreadable } from '../userns/rootless-unreadable.js';
import { fdPath, findRegularFile, lstatIfExists, makeDirectory, openDirectory, READ_FOUND_FILE, splitPath, UnsafePathError } from './path-in-root.js';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;
const CHUNK = 64 * 1024;

type Headers = Parameters<Pack['entry']>[0];

// ---------------------------------------------------------------------------
// Writing a tar stream from a directory tree.

export interface PackOptions {
  /** A container in a user namespace: owners as the container sees them (owner-ids.ts seenOwner). */
  idMaps?: IdMaps | undefined;
  /**
   * Directories on another device than this one (mount points: /proc, /sys,
   * /dev, …) are archived as empty directories, as `docker export` does.
   */
  sameDevice?: number;
  /** Archive names of mount points: directories are archived empty, files with no content. */
  mountPoints?: ReadonlySet<string>;
  /**
   * Devices of pseudo-filesystems (the container's proc, sysfs, devpts, …):
   * what is on them is archived without content (directories empty), as
   * `docker cp` does. Checked on every entry, so a mount made while the
   * archive is written is skipped too.
   */
  pseudoDevices?: ReadonlySet<number>;
}

/** Where `name` is in `dirFd`, or the directory itself when `name` is `''`. */
function entryPath(dirFd: number, name: string): string {
  return name === '' ? fdPath(dirFd) : fdPath(dirFd, name);
}

/**
 * A tar stream of `name` in the directory `dirFd` (`''`: the directory
 * itself), its entries named from `archiveName` (`''`: a directory's
 * contents without a prefix). Modes, owners, mtimes, symlinks, hard links,
 * devices and FIFOs are kept; sockets are left out, and so are entries that
 * vanish while they are read (a running container changes under us).
 * `cleanup` runs once the stream ends or is destroyed.
 */
export function packTree(dirFd: number, name: string, archiveName: string, options: PackOptions, cleanup: () => void): Readable {
  const pack = tar.pack();
  const links = new Map<string, string>();
  void (async () => {
    try {
      await packEntry(pack, dirFd, name, archiveName, options, links);
      pack.finalize();
    } catch (error) {
      pack.destroy(error as Error);
    } finally {
      cleanup();
    }
  })();
  return Readable.from(pack, { objectMode: false });
}

async function packEntry(pack: Pack, dirFd: number, name: string, archiveName: string, options: PackOptions, links: Map<string, string>): Promise<void> {
  try {
    await packOne(pack, dirFd, name, archiveName, options, links);
  } catch (error) {
    const shown = archiveName || name || '.';
    const code = (error as NodeJS.ErrnoException).code;
    if (options.idMaps?.mapWith === 'newuidmap' && (code === 'EACCES' || code === 'EPERM')) throw rootlessUnreadable(shown, code, 'copied out (copyFrom, export)', error);
    throw error instanceof BerthError || !(error instanceof Error) ? error : withPath(error, `copying ${shown}`, shown);
  }
}

async function packOne(pack: Pack, dirFd: number, name: string, archiveName: string, options: PackOptions, links: Map<string, string>): Promise<void> {
  const at = entryPath(dirFd, name);
  let stats: Stats;
  try {
    stats = name === '' ? statSync(at) : lstatSync(at);
  } catch (error) {
    if (vanished(error)) return;
    throw error;
  }
  const { uid, gid } = seenOwner(options.idMaps, stats);
  const header: Headers = { name: archiveName || name, mode: stats.mode, uid, gid, mtime: stats.mtime };
  const mountPoint = (options.mountPoints?.has(header.name) ?? false) || (options.pseudoDevices?.has(stats.dev) ?? false);
  if (stats.isDirectory()) {
    if (archiveName !== '') await addEntry(pack, { ...header, name: `${header.name}/`, type: 'directory' });
    if (mountPoint || (options.sameDevice !== undefined && stats.dev !== options.sameDevice)) return;
    let fd: number;
    try {
      fd = openDirectory(at, name !== '');
    } catch (error) {
      if (vanished(error)) return;
      throw error;
    }
    try {
      for (const child of readdirSync(fdPath(fd)).sort()) {
        await packEntry(pack, fd, child, archiveName ? `${archiveName}/${child}` : child, options, links);
      }
    } finally {
      closeSync(fd);
    }
  } else if (mountPoint) {
    await addEntry(pack, { ...header, size: 0 }); // what the mount covers cannot be reached: archived empty
  } else if (stats.isFile()) {
    if (stats.nlink > 1) {
      const key = `${stats.dev}:${stats.ino}`;
      const first = links.get(key);
      if (first !== undefined) return addEntry(pack, { ...header, type: 'link', linkname: first });
      links.set(key, header.name);
    }
    // a running container may swap the file for a FIFO or a device meanwhile: only a regular file is opened
    let file: FileHandle;
    try {
      const { pathFd } = findRegularFile(dirFd, name === '' ? '.' : name, header.name, 'the archived tree');
      try {
        file = await open(fdPath(pathFd), READ_FOUND_FILE);
      } finally {
        closeSync(pathFd);
      }
    } catch (error) {
      if (vanished(error)) return;
      throw error;
    }
    try {
      await addFile(pack, header, file, (await file.stat()).size);
    } finally {
      await file.close();
    }
  } else if (stats.isSymbolicLink()) {
    let target: string;
    try {
      target = readlinkSync(at);
    } catch (error) {
      if (vanished(error)) return;
      throw error;
    }
    await addEntry(pack, { ...header, type: 'symlink', linkname: target });
  } else if (stats.isCharacterDevice() || stats.isBlockDevice()) {
    await addEntry(pack, {
      ...header, type: stats.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: major(stats.rdev), devminor: minor(stats.rdev),
    });
  } else if (stats.isFIFO()) {
    await addEntry(pack, { ...header, type: 'fifo' });
  }
}

/** Gone, or replaced by something else, between listing and reading. */
function vanished(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  // EINVAL: readlink of a name that is no longer a symlink
  return code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR' || code === 'EINVAL' || code === 'ERR_NOT_FOUND' || code === 'ERR_NOT_REGULAR_FILE';
}

/** An entry without content (a directory, a link, an empty file). */
function addEntry(pack: Pack, header: Headers): Promise<void> {
  return new Promise((resolve, reject) => quietEntry(pack.entry(header, EMPTY, (error) => (error ? reject(error) : resolve()))));
}

const EMPTY = Buffer.alloc(0);

/** A file entry of exactly `size` bytes: a file that shrinks while read is padded with zeros, one that grows is cut. */
async function addFile(pack: Pack, header: Headers, file: FileHandle, size: number): Promise<void> {
  let settle!: (error?: Error | null) => void;
  const done = new Promise<void>((resolve, reject) => (settle = (error) => (error ? reject(error) : resolve())));
  done.catch(() => {}); // awaited below; until then a failure shows as a destroyed sink
  const sink = quietEntry(pack.entry({ ...header, type: 'file', size }, settle)); // throws once the pack is destroyed
  const buffer = Buffer.allocUnsafe(CHUNK);
  for (let position = 0; position < size && !sink.destroyed;) {
    const { bytesRead } = await file.read(buffer, 0, Math.min(CHUNK, size - position), position);
    const chunk = bytesRead === 0 ? Buffer.alloc(Math.min(CHUNK, size - position)) : Buffer.from(buffer.subarray(0, bytesRead));
    position += chunk.length;
    if (!sink.write(chunk)) await drainedOrClosed(sink);
  }
  if (!sink.destroyed) sink.end(undefined); // streamx: no last chunk
  await done;
}

function major(rdev: number): number {
  return Number(((BigInt(rdev) >> 8n) & 0xfffn) | ((BigInt(rdev) >> 32n) & ~0xfffn));
}

function minor(rdev: number): number {
  return Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & ~0xffn));
}

// ---------------------------------------------------------------------------
// Extracting a tar stream into a directory.

export interface ExtractOptions {
  /** Owner of everything written, instead of the archive's. */
  uid?: number;
  gid?: number;
  /**
   * Rootless: files are written as the caller, which is the container's root,
   * and every other owner (with the set-id bits its chown clears) is added
   * here as a change for the user namespace helper (userns-file-ops.ts), with
   * paths relative to the extraction directory.
   */
  ownerOps?: FileOp[] | undefined;
  /** A container in a user namespace root made: owners are container ids, written as the host ids they stand for. */
  idMaps?: IdMaps | undefined;
}

/**
 * The components of an entry name inside the extraction directory. A leading
 * `/` or `./` is dropped (as tar does); `..` is refused, whatever follows.
 */
function entryComponents(name: string, base: string): string[] {
  const parts = splitPath(name).filter((part) => part !== '.');
  if (parts.includes('..')) {
    throw new UnsafePathError(`refusing archive entry '${name}': '..' would lead outside ${base}`, { path: name });
  }
  return parts;
}

/**
 * Extracts `source` (a tar stream) into the directory open as `baseFd`
 * (`basePath` names it in errors). Every entry stays below it: names with
 * `..` and entries below a symlink (one from the archive or one already
 * there) are refused with UnsafePathError, and no write ever follows a
 * symlink. An existing directory is merged with a directory entry; other
 * existing entries are replaced, but a directory and a non-directory never
 * replace each other (as `docker cp`). Modes, owners, mtimes, symlinks and
 * hard links are kept; device nodes and FIFOs are skipped (Node cannot make
 * them).
 * @throws UnsafePathError, ConflictError
 */
export async function extractTar(baseFd: number, basePath: string, source: Readable, options: ExtractOptions = {}): Promise<void> {
  const extract = tar.extract();
  let sourceError: unknown; // the caller's stream failed: its error, as it is
  source.on('error', (error) => {
    sourceError ??= error;
    extract.destroy(error);
  });
  // tar-stream's own complaint (a bad header, data cut short); an entry being read sees only 'Stream was destroyed'
  let tarError: Error | undefined;
  extract.on('error', (error: Error) => (tarError ??= error));
  source.pipe(extract as unknown as NodeJS.WritableStream);
  const parents = new ParentCache(baseFd, basePath);
  const directories: { parts: string[]; mtime: Date | undefined }[] = [];
  try {
    for await (const entry of extract) {
      parents.trim();
      const header = entry.header;
      const parts = entryComponents(header.name, basePath);
      if (parts.length === 0 || !['file', 'contiguous-file', 'directory', 'symlink', 'link'].includes(header.type ?? 'file')) {
        entry.resume();
        continue;
      }
      const name = parts.at(-1)!;
      const dirFd = parents.open(parts.slice(0, -1), header.name);
      const at = fdPath(dirFd, name);
      const shown = `${basePath === '/' ? '' : basePath}/${parts.join('/')}`;
      const uid = storedId(options.idMaps?.uidMap, options.uid ?? header.uid ?? 0);
      const gid = storedId(options.idMaps?.gidMap, options.gid ?? header.gid ?? 0);
      const mode = (header.mode ?? 0o644) & 0o7777;
      const chown = !options.ownerOps;
      if (options.ownerOps && (uid !== 0 || gid !== 0) && header.type !== 'link') {
        const path = parts.join('/');
        options.ownerOps.push({ op: 'chown', path, uid, gid });
        if (mode & 0o6000 && header.type !== 'symlink') options.ownerOps.push({ op: 'chmod', path, mode });
      }
      const existing = lstatIfExists(at);
      if (header.type === 'directory') {
        entry.resume();
        if (existing && !existing.isDirectory()) {
          throw new ConflictError(`cannot overwrite the non-directory ${shown} with a directory`, { path: shown });
        }
        makeDirectory(at, 0o700);
        const fd = openDirectory(at);
        try {
          if (chown) fchownSync(fd, uid, gid);
          fchmodSync(fd, mode);
        } finally {
          closeSync(fd);
        }
        directories.push({ parts, mtime: header.mtime });
        continue;
      }
      if (existing?.isDirectory()) {
        entry.resume();
        throw new ConflictError(`cannot overwrite the directory ${shown} with a non-directory`, { path: shown });
      }
      if (existing) unlinkSync(at);
      if (header.type === 'symlink') {
        entry.resume();
        symlinkSync(header.linkname ?? '', at);
        if (chown) lchownSync(at, uid, gid);
        if (header.mtime) lutimesSync(at, header.mtime, header.mtime);
      } else if (header.type === 'link') {
        entry.resume();
        const target = entryComponents(header.linkname ?? '', basePath);
        if (target.length === 0) throw new UnsafePathError(`refusing hard link '${header.name}' to '${header.linkname}'`, { path: header.name });
        const targetDir = parents.open(target.slice(0, -1), header.linkname ?? '');
        linkSync(fdPath(targetDir, target.at(-1)!), at); // link(2) does not follow a symlink
      } else {
        const file = await open(at, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
        try {
          for await (const chunk of entry) await file.write(chunk as Buffer);
          if (chown) await file.chown(uid, gid);
          await file.chmod(mode); // after chown, which clears setuid bits
          if (header.mtime) await file.utimes(header.mtime, header.mtime);
        } finally {
          await file.close();
        }
      }
    }
    // directory times last: writing into a directory changes its mtime
    for (const { parts, mtime } of directories.reverse()) {
      if (!mtime) continue;
      parents.trim();
      const fd = parents.open(parts, parts.join('/'));
      futimesSync(fd, mtime, mtime);
    }
  } catch (error) {
    extract.destroy();
    source.unpipe();
    source.destroy();
    if (sourceError !== undefined) throw sourceError;
    if (error instanceof BerthError || !(error instanceof Error)) throw error;
    if (tarError !== undefined && (error === tarError || (error as NodeJS.ErrnoException).code === 'STREAM_DESTROYED')) {
      throw new BerthError(`copying into ${basePath}: the stream is not a valid tar (${tarError.message}); what came before that point was written`, {
        code: 'ERR_ARCHIVE_INVALID',
        path: basePath,
        cause: tarError,
      });
    }
    throw withPath(error, `copying into ${basePath}`, basePath);
  } finally {
    parents.close();
  }
}

/** A system call's error as a BerthError: `copying into /srv: open failed: EACCES`. */
function withPath(error: Error, what: string, path: string): Error {
  const e = error as NodeJS.ErrnoException;
  if (!e.code || !e.syscall) return error;
  return new BerthError(`${what}: ${e.syscall} failed: ${e.code}`, { code: e.code, errno: e.errno === undefined ? undefined : -e.errno, syscall: e.syscall, path, cause: error });
}

/**
 * Opens directories below the extraction directory by their components,
 * creating missing ones and refusing symlinks; keeps the last few open,
 * since archive entries come grouped by directory.
 */
class ParentCache {
  private readonly open_ = new Map<string, number>();

  constructor(
    private readonly baseFd: number,
    private readonly basePath: string,
  ) {}

  open(parts: string[], entryName: string): number {
    const key = parts.join('/');
    const cached = this.open_.get(key);
    if (cached !== undefined) return cached;
    let fd = this.baseFd;
    const opened: number[] = [];
    try {
      for (const [i, part] of parts.entries()) {
        const at = fdPath(fd, part);
        let stats = lstatIfExists(at);
        if (!stats) {
          makeDirectory(at, 0o755);
          stats = lstatSync(at);
        }
        if (stats.isSymbolicLink()) {
          throw new UnsafePathError(
            `refusing archive entry '${entryName}': ${parts.slice(0, i + 1).join('/')} is a symbolic link (nothing is written through one)`,
            { path: entryName },
          );
        }
        if (!stats.isDirectory()) {
          throw new UnsafePathError(`refusing archive entry '${entryName}': ${parts.slice(0, i + 1).join('/')} is not a directory`, { path: entryName });
        }
        fd = openDirectory(at); // O_NOFOLLOW: a symlink swapped in since the lstat fails here
        opened.push(fd);
      }
    } catch (error) {
      for (const o of opened) closeSync(o);
      throw error;
    }
    for (const o of opened.slice(0, -1)) closeSync(o);
    if (fd !== this.baseFd) this.open_.set(key, fd);
    return fd;
  }

  /** Closes them all when many are open; call only while none is in use. */
  trim(): void {
    if (this.open_.size > 64) this.close();
  }

  close(): void {
    for (const fd of this.open_.values()) closeSync(fd);
    this.open_.clear();
  }
}

