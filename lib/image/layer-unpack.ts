/**
 * Unpacking one layer's tar into a fresh directory that overlayfs can use as a
 * lower dir: whiteouts (`.wh.name`) become character devices 0/0, opaque
 * markers (`.wh..wh..opq`) the xattr `trusted.overlay.opaque=y`.
 *
 * Nothing an entry does may reach outside the directory. The directory starts
 * empty and only this function writes to it, so it knows every path it made:
 * a name is checked (no absolute names, no `..`), and so is each of its parent
 * directories (never through a symlink the layer made); a file is created with
 * O_EXCL|O_NOFOLLOW after whatever was at its name is removed; a hardlink must
 * point at a file this layer made. Metadata calls never follow symlinks.
 * Names come from whichever tar record set them last (ustar, GNU long name,
 * PAX `path`/`linkpath`): the check is on the final name.
 *
 * Set-id bits are kept (as Docker keeps them): the layer directories are
 * under the state root, which other host users cannot enter. Extended
 * attributes pass the policy of `xattr-policy.ts` (`user.*` and file
 * capabilities only), on regular files and directories.
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  linkSync,
  lchownSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  symlinkSync,
  chmodSync,
  writeSync,
} from 'node:fs';
import type { Readable } from 'node:stream';
import type { Header } from 'tar-stream';
import { BerthError, ImageContentError, LayerUnpackError, errnoName } from '../errors.js';
import { nativeAddon } from '../native/addon.js';
import { extractWithXattrs, type XattrHeader } from './tar-extract.js';
import { allowedXattr } from './xattr-policy.js';

/** Options of {@link unpackLayer}. */
export interface UnpackOptions {
  /** Create character and block devices; default false: a layer with one fails. */
  allowDevices?: boolean | undefined;
}

/** What {@link unpackLayer} found. */
export interface UnpackResult {
  /** Bytes of regular files. */
  size: number;
  entries: number;
}

/** An entry's data: chunks, or `resume()` to skip them. */
type EntryData = AsyncIterable<Buffer> & { resume(): unknown };

type Kind = 'dir' | 'file' | 'symlink' | 'whiteout' | 'special';

const OPAQUE_MARKER = '.wh..wh..opq';
const WHITEOUT_PREFIX = '.wh.';
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * The normalised relative path of a tar name (`./a/b/` → `a/b`); '' for the root.
 * @throws LayerUnpackError for absolute names, `..` and NUL.
 */
export function entryPath(name: string, what = 'layer entry'): string {
  if (name.includes('\0')) throw new LayerUnpackError(`${what} '${name}' has a NUL character in its name`, name);
  if (name.startsWith('/')) {
    throw new LayerUnpackError(`${what} '${name}' has an absolute name; only paths inside the layer may be named`, name);
  }
  const parts = name.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw new LayerUnpackError(`${what} '${name}' climbs out with '..'; refusing it`, name);
  return parts.join('/');
}

/** Unpacks a layer's (uncompressed) tar stream into `dir`, an empty directory. */
export async function unpackLayer(tar: Readable, dir: string, options: UnpackOptions = {}): Promise<UnpackResult> {
  const unpacker = new Unpacker(dir, options);
  const entries = extractWithXattrs();
  tar.once('error', (error) => entries.destroy(error));
  tar.pipe(entries);
  try {
    for await (const entry of entries) await unpacker.entry(entry.header, entry as unknown as EntryData);
  } catch (error) {
    // tar-stream's own complaints (a bad header, data cut short) carry no code
    if (error instanceof BerthError || (error as { code?: unknown }).code !== undefined) throw error;
    throw new ImageContentError(`the layer is not a valid tar: ${(error as Error).message}`, { code: 'ERR_LAYER_INVALID', cause: error });
  }
  unpacker.finish();
  return { size: unpacker.size, entries: unpacker.count };
}

class Unpacker {
  /** Every path this layer has made, by kind ('' is the root). */
  private readonly nodes = new Map<string, Kind>([['', 'dir']]);
  /** Directory times, set last (adding entries changes them). */
  private readonly dirTimes: [string, Date][] = [];
  size = 0;
  count = 0;

  constructor(
    private readonly dir: string,
    private readonly options: UnpackOptions,
  ) {}

  private abs(rel: string): string {
    return rel === '' ? this.dir : `${this.dir}/${rel}`;
  }

  async entry(header: Header, data: EntryData): Promise<void> {
    this.count++;
    const name = header.name;
    try {
      const rel = entryPath(name);
      const slash = rel.lastIndexOf('/');
      const parent = slash < 0 ? '' : rel.slice(0, slash);
      const base = slash < 0 ? rel : rel.slice(slash + 1);
      if (base.startsWith(WHITEOUT_PREFIX)) {
        data.resume();
        this.whiteout(name, parent, base);
        return;
      }
      if (rel === '') {
        data.resume();
        if (header.type === 'directory') this.metadata(this.dir, header, 'dir');
        return;
      }
      this.makeParents(name, parent);
      const existing = this.nodes.get(rel);
      if (existing !== undefined && !(existing === 'dir' && header.type === 'directory')) this.remove(rel);
      const path = this.abs(rel);
      switch (header.type) {
        case 'file':
        case 'contiguous-file':
        case undefined:
        case null:
          await this.file(path, header, data);
          this.nodes.set(rel, 'file');
          return;
        case 'directory':
          data.resume();
          if (existing !== 'dir') mkdirSync(path, 0o755);
          this.nodes.set(rel, 'dir');
          this.metadata(path, header, 'dir', existing === 'dir' ? undefined : 0o755 & ~UMASK);
          return;
        case 'symlink':
          data.resume();
          if (!header.linkname) throw new LayerUnpackError(`layer entry '${name}' is a symlink without a target`, name, { code: 'ERR_LAYER_INVALID' });
          symlinkSync(header.linkname, path);
          this.nodes.set(rel, 'symlink');
          this.metadata(path, header, 'symlink');
          return;
        case 'link': {
          data.resume();
          let target: string;
          try {
            target = entryPath(header.linkname ?? '');
          } catch {
            throw new LayerUnpackError(`layer entry '${name}' is a hardlink to '${header.linkname}', outside the layer; refusing the layer`, name);
          }
          const kind = this.nodes.get(target);
          if (kind === undefined || kind === 'dir' || kind === 'whiteout') {
            throw new LayerUnpackError(
              `layer entry '${name}' is a hardlink to '${header.linkname}', which is not a file of this layer; refusing the layer`,
              name,
            );
          }
          linkSync(this.abs(target), path);
          this.nodes.set(rel, kind);
          return;
        }
        case 'character-device':
        case 'block-device':
        case 'fifo': {
          data.resume();
          if (header.type !== 'fifo' && !this.options.allowDevices) {
            throw new LayerUnpackError(
              `layer entry '${name}' is a ${header.type} (${header.devmajor ?? 0}:${header.devminor ?? 0}); devices are refused unless allowDevices is set`,
              name,
              { code: 'ERR_DEVICE_NOT_PERMITTED' },
            );
          }
          const type = header.type === 'fifo' ? S_IFIFO : header.type === 'block-device' ? S_IFBLK : S_IFCHR;
          const mode = (header.mode ?? 0o644) & 0o777;
          nativeAddon().mknod(path, type | mode, header.devmajor ?? 0, header.devminor ?? 0);
          this.nodes.set(rel, 'special');
          this.metadata(path, header, 'special', mode & ~UMASK);
          return;
        }
        default:
          throw new LayerUnpackError(`layer entry '${name}' has the unsupported tar type ${String(header.type)}`, name, { code: 'ERR_LAYER_INVALID' });
      }
    } catch (error) {
      throw asUnpackError(error, name);
    }
  }

  /** `.wh.name` → a char device 0/0 named `name`; `.wh..wh..opq` → the parent is opaque. */
  private whiteout(name: string, parent: string, base: string): void {
    this.makeParents(name, parent);
    if (base === OPAQUE_MARKER) {
      nativeAddon().setXattr(this.abs(parent), 'trusted.overlay.opaque', Buffer.from('y'));
      return;
    }
    if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) return; // aufs bookkeeping (.wh..wh.plnk, …)
    const hidden = base.slice(WHITEOUT_PREFIX.length);
    if (hidden === '' || hidden === '..' || hidden === '.') {
      throw new LayerUnpackError(`layer entry '${name}' is a whiteout of '${hidden}'`, name);
    }
    const rel = parent === '' ? hidden : `${parent}/${hidden}`;
    this.remove(rel);
    nativeAddon().mknod(this.abs(rel), S_IFCHR, 0, 0);
    this.nodes.set(rel, 'whiteout');
  }

  /** Removes what an earlier entry made at `rel` (a later entry of the same name replaces it, as tar does). */
  private remove(rel: string): void {
    const kind = this.nodes.get(rel);
    if (kind === undefined) return;
    rmSync(this.abs(rel), { recursive: true, force: true });
    if (kind === 'dir') for (const key of this.nodes.keys()) if (key.startsWith(`${rel}/`)) this.nodes.delete(key);
    this.nodes.delete(rel);
  }

  /** Makes the missing parents of an entry; refuses to go through anything but a directory this layer made. */
  private makeParents(name: string, parent: string): void {
    if (this.nodes.get(parent) === 'dir') return;
    let path = '';
    for (const part of parent.split('/')) {
      path = path === '' ? part : `${path}/${part}`;
      const kind = this.nodes.get(path);
      if (kind === 'dir') continue;
      if (kind === 'symlink') {
        throw new LayerUnpackError(`layer entry '${name}' would be written through the symlink '${path}'; refusing the layer`, name);
      }
      if (kind !== undefined) {
        throw new LayerUnpackError(`layer entry '${name}' has '${path}' as a parent, which is not a directory`, name, { code: 'ERR_LAYER_INVALID' });
      }
      mkdirSync(this.abs(path), 0o755);
      this.nodes.set(path, 'dir');
    }
  }

  private async file(path: string, header: Header, data: AsyncIterable<Buffer>): Promise<void> {
    const mode = (header.mode ?? 0o644) & 0o7777;
    const fd = openSync(path, CREATE_FLAGS, mode & 0o777);
    try {
      for await (const chunk of data) writeSync(fd, chunk);
      this.size += header.size ?? 0;
      // skipped when the file was born with them: two syscalls a file, most files
      const chown = !isOurs(header);
      if (chown) fchownSync(fd, header.uid ?? 0, header.gid ?? 0);
      if (chown || !bornWith(mode)) fchmodSync(fd, mode); // after chown, which clears set-id bits
      if (header.mtime) futimesSync(fd, header.mtime, header.mtime);
    } finally {
      closeSync(fd);
    }
    this.xattrs(path, header);
  }

  /** Owner, mode, xattrs and times; `born` is the mode the node was just created with (skips a chmod that changes nothing). */
  private metadata(path: string, header: Header, kind: Kind, born?: number): void {
    const chown = !isOurs(header);
    if (chown) lchownSync(path, header.uid ?? 0, header.gid ?? 0);
    const mode = (header.mode ?? (kind === 'dir' ? 0o755 : 0o644)) & 0o7777;
    // path is not a symlink: we just made it; chown clears set-id bits, so chmod comes after
    if (kind !== 'symlink' && (chown || born !== mode)) chmodSync(path, mode);
    if (kind === 'dir') this.xattrs(path, header);
    if (!header.mtime) return;
    if (kind === 'dir') this.dirTimes.push([path, header.mtime]);
    else lutimesSync(path, header.mtime, header.mtime);
  }

  /** The entry's `SCHILY.xattr.*` records that the policy keeps (files and directories only). */
  private xattrs(path: string, header: Header): void {
    const xattrs = (header as XattrHeader).xattrs;
    if (!xattrs) return;
    for (const [name, value] of xattrs) {
      const kept = allowedXattr(name, value);
      if (kept) nativeAddon().setXattr(path, name, kept);
    }
  }

  finish(): void {
    for (const [path, time] of this.dirTimes.reverse()) lutimesSync(path, time, time);
  }
}

/** The process's umask, from /proc (process.umask() cannot read it without setting it). */
const UMASK = (() => {
  try {
    const line = /^Umask:\s*([0-7]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (line) return parseInt(line[1]!, 8);
  } catch {
    // no /proc: assume the usual
  }
  return 0o022;
})();
const EUID = process.geteuid?.() ?? 0;
const EGID = process.getegid?.() ?? 0;

/** True when a new file of ours already has the entry's owner. */
function isOurs(header: Header): boolean {
  return (header.uid ?? 0) === EUID && (header.gid ?? 0) === EGID;
}

/** True when creating with `mode` under our umask gives exactly `mode`. */
function bornWith(mode: number): boolean {
  return (mode & 0o7000) === 0 && (mode & UMASK) === 0;
}

/** Unpack failures as berth errors that name the entry. */
function asUnpackError(error: unknown, entry: string): Error {
  if (error instanceof BerthError) return error;
  const e = error as NodeJS.ErrnoException;
  const errno = typeof e.errno === 'number' ? Math.abs(e.errno) : undefined;
  const code = typeof e.code === 'string' ? e.code : errno !== undefined ? errnoName(errno) : 'ERR_LAYER_INVALID';
  return new BerthError(`unpacking layer entry '${entry}': ${e.message}`, {
    code,
    ...(errno !== undefined ? { errno } : {}),
    ...(e.syscall ? { syscall: e.syscall } : {}),
    ...(e.path ? { path: e.path } : {}),
    cause: error,
  });
}
