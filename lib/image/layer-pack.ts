/**
 * A directory as a layer tar, the reverse of unpacking: overlay whiteouts
 * (char devices 0/0) become `.wh.name` entries, opaque directories get a
 * `.wh..wh..opq` entry, hardlinked files are stored once. Names are sorted, so
 * the same tree gives the same tar (and the same diff_id).
 *
 * The tree may be a running container's upper directory, which a process
 * inside can change while it is read. So nothing is reached by a path that
 * the container could redirect: each directory is opened with O_NOFOLLOW
 * from its parent's open descriptor (`/proc/self/fd/<parent>/<name>`, one
 * component at a time), each file likewise, and an opened node must be the
 * one that was looked up (same inode and type); a file is read up to the
 * size it had then. A name swapped for a symlink is stored as that symlink,
 * never followed to the host.
 */
import { closeSync, constants, createReadStream, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { Readable } from 'node:stream';
import { pack, type Header, type Pack } from 'tar-stream';
import { BerthError } from '../errors.js';
import { drainedOrClosed, quietEntry } from './tar-entry-sink.js';
import { rootlessUnreadable } from '../userns/rootless-unreadable.js';
import type { IdMaps } from '../userns/id-map.js';
import { nativeAddon } from '../native/addon.js';
import { seenOwner } from '../userns/owner-ids.js';

export interface PackOptions {
  /** Every entry gets this mtime (for reproducible tars); default: the files' own. */
  mtime?: Date;
  /**
   * The upper directory of a container in a user namespace: the tar gets the
   * container's ids (owner-ids.ts seenOwner). Rootless (maps written with
   * newuidmap): opaque directories are marked `user.overlay.opaque`, and a
   * file the caller cannot read is a RootlessUnsupportedError.
   */
  idMaps?: IdMaps | undefined;
}

/** The tar of `dir` as a stream. */
export function packLayer(dir: string, options: PackOptions = {}): Readable {
  const tar = pack();
  walk(tar, dir, options).catch((error: unknown) => {
    throw options.idMaps?.mapWith === 'newuidmap' && ['EACCES', 'EPERM'].includes((error as NodeJS.ErrnoException).code ?? '') ? rootlessUnreadable((error as NodeJS.ErrnoException).path ?? 'a file', (error as NodeJS.ErrnoException).code, 'committed', error) : error;
  }).then(
    () => tar.finalize(),
    (error: unknown) => tar.destroy(error as Error),
  );
  return Readable.from(tar as AsyncIterable<Buffer>, { objectMode: false });
}

/** A tar entry header as tar-stream takes it. */
export type EntryHeader = Partial<Header> & { name: string };

/** Adds an entry to a tar-stream pack, streaming `content` into it with backpressure. */
export async function addEntry(tar: Pack, header: EntryHeader, content?: Buffer | AsyncIterable<Buffer>): Promise<void> {
  if (content === undefined || Buffer.isBuffer(content)) {
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error | null) => (error ? reject(error) : resolve());
      // a file entry (the default type) without content would wait for content forever: it gets an empty one
      const body = content ?? (header.type === undefined || header.type === 'file' ? Buffer.alloc(0) : undefined);
      quietEntry(body ? tar.entry({ ...header, size: body.length }, body, done) : tar.entry(header, done));
    });
    return;
  }
  await new Promise<void>((resolve, reject) => {
    // the entry's failure is the caller's through reject (tar-entry-sink.ts)
    const sink = quietEntry(tar.entry(header, (error) => (error ? reject(error) : resolve())));
    (async () => {
      for await (const chunk of content) {
        if (sink.destroyed) break; // the reader went away: the callback has its error
        if (!sink.write(chunk)) await drainedOrClosed(sink);
      }
      if (!sink.destroyed) (sink as unknown as { end(): void }).end();
    })().catch((error: unknown) => {
      sink.destroy(error as Error);
      reject(error as Error);
    });
  });
}

/** The path of `name` in the directory open as `dirFd`, resolved from that descriptor, not from a path. */
const at = (dirFd: number, name: string) => `/proc/self/fd/${dirFd}/${name}`;

const OPEN_DIR = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
/** O_NONBLOCK: a FIFO swapped in for a file must not hang the open. */
const OPEN_FILE = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Opens `path` with `flags` and checks that it is the node `expected` describes. */
function openChecked(path: string, flags: number, expected: Stats, name: string): number {
  let fd: number;
  try {
    fd = openSync(path, flags);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENOTDIR' || code === 'ENOENT' || code === 'ENXIO') throw changed(name, error);
    throw error;
  }
  const opened = fstatSync(fd);
  if (opened.ino !== expected.ino || opened.dev !== expected.dev || (opened.mode & constants.S_IFMT) !== (expected.mode & constants.S_IFMT)) {
    closeSync(fd);
    throw changed(name);
  }
  return fd;
}

/**
 * The names as strings. A tar entry's name is UTF-8 here, so a name that is
 * not valid UTF-8 cannot be stored: refused, rather than left out (a
 * whiteout left out would bring a deleted file back in the image).
 */
function utf8Names(names: Buffer[], rel: string): string[] {
  return names.map((raw) => {
    const name = raw.toString('utf8');
    if (!Buffer.from(name, 'utf8').equals(raw)) {
      const shown = `${rel === '' ? '' : `${rel}/`}${raw.toString('latin1').replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}`;
      throw new BerthError(`'${shown}' is not a valid UTF-8 name, which a layer cannot store here; rename it in the container (or remove it) and commit again`, {
        code: 'ERR_NAME_NOT_UTF8', path: shown,
      });
    }
    return name;
  });
}

/** The target of the symlink at `path`; a name swapped for something else since its lstat is a change. */
function readLinkChecked(path: string, name: string): string {
  try {
    return readlinkSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EINVAL' || code === 'ENOENT') throw changed(name, error);
    throw error;
  }
}

/** `content`, which must be `size` bytes: a file truncated while it is read is a change, not a short tar entry. */
async function* exactly(size: number, content: AsyncIterable<Buffer>, name: string): AsyncIterable<Buffer> {
  let read = 0;
  for await (const chunk of content) {
    read += chunk.length;
    yield chunk;
  }
  if (read !== size) throw changed(name);
}

function changed(name: string, cause?: unknown): BerthError {
  return new BerthError(`'${name}' changed while the layer was read (a process is still writing there); commit again, or pause the container`, {
    code: 'ERR_CHANGED',
    path: name,
    ...(cause === undefined ? {} : { cause }),
  });
}

async function walk(tar: Pack, root: string, options: PackOptions): Promise<void> {
  const links = new Map<string, string>(); // dev:ino → first name
  const visit = async (dirFd: number, rel: string): Promise<void> => {
    const names = utf8Names(readdirSync(`/proc/self/fd/${dirFd}`, { encoding: 'buffer' }), rel).sort();
    for (const base of names) {
      const name = rel === '' ? base : `${rel}/${base}`;
      const path = at(dirFd, base);
      const stat = lstatSync(path, { throwIfNoEntry: false });
      if (!stat) continue; // removed since the listing
      const header = baseHeader(name, stat, options);
      if (stat.isCharacterDevice() && stat.rdev === 0) {
        await addEntry(tar, { ...header, name: `${rel === '' ? '' : `${rel}/`}.wh.${base}`, type: 'file', size: 0, mode: 0o644 });
      } else if (stat.isDirectory()) {
        const fd = openChecked(path, OPEN_DIR, stat, name);
        try {
          await addEntry(tar, { ...header, name: `${name}/`, type: 'directory' });
          if (nativeAddon().getXattr(`/proc/self/fd/${fd}/.`, options.idMaps?.mapWith === 'newuidmap' ? 'user.overlay.opaque' : 'trusted.overlay.opaque')?.toString() === 'y') {
            await addEntry(tar, { ...header, name: `${name}/.wh..wh..opq`, type: 'file', size: 0, mode: 0o644 });
          }
          await visit(fd, name);
        } finally {
          closeSync(fd);
        }
      } else if (stat.isSymbolicLink()) {
        await addEntry(tar, { ...header, type: 'symlink', linkname: readLinkChecked(path, name) });
      } else if (stat.isFile()) {
        const key = `${stat.dev}:${stat.ino}`;
        const first = stat.nlink > 1 ? links.get(key) : undefined;
        if (first !== undefined) {
          await addEntry(tar, { ...header, type: 'link', linkname: first, size: 0 });
          continue;
        }
        if (stat.nlink > 1) links.set(key, name);
        if (stat.size === 0) {
          await addEntry(tar, { ...header, type: 'file', size: 0 });
          continue;
        }
        const fd = openChecked(path, OPEN_FILE, stat, name);
        // the stream closes the descriptor; at most the size the header says is read, and a file cut shorter since is a change
        await addEntry(tar, { ...header, type: 'file', size: stat.size }, exactly(stat.size, createReadStream('', { fd, start: 0, end: stat.size - 1 }), name));
      } else if (stat.isFIFO() || stat.isCharacterDevice() || stat.isBlockDevice()) {
        const type = stat.isFIFO() ? 'fifo' : stat.isCharacterDevice() ? 'character-device' : 'block-device';
        await addEntry(tar, { ...header, type, devmajor: Math.floor(stat.rdev / 256) & 0xfff, devminor: (stat.rdev & 0xff) | ((stat.rdev >> 12) & 0xfff00) });
      }
      // sockets are not archived, as tar does
    }
  };
  const rootFd = openSync(root, OPEN_DIR);
  try {
    await visit(rootFd, '');
  } finally {
    closeSync(rootFd);
  }
}

function baseHeader(name: string, stat: Stats, options: PackOptions): EntryHeader {
  const { uid, gid } = seenOwner(options.idMaps, stat);
  return { name, mode: stat.mode & 0o7777, uid, gid, mtime: options.mtime ?? stat.mtime, uname: '', gname: '' };
}
