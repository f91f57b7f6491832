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
 *
 * Rootless (`userns` given), the layer is stored as the container's user
 * namespace sees it, as Podman's storage does: an entry of owner 0:0 is the
 * caller's own file; other owners, and file capabilities, are collected as
 * operations that `berth-exec userns-files` applies at the end from a user
 * namespace with the rootless maps (userns-file-ops.ts), each path opened
 * below the layer without following symlinks. An owner the maps do not hold
 * refuses the layer before any of that runs. Until then every directory
 * stays writable for the caller (a mode without u+rwx is set at the end).
 * Device nodes are skipped (a normal user cannot make them; Podman skips them
 * too), whiteouts are still made (a 0/0 character device needs no privilege),
 * and an opaque directory gets `user.overlay.opaque=y`, which overlayfs reads
 * when mounted with `userxattr`.
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
import { BerthError, ImageContentError, LayerUnpackError, RootlessUnsupportedError, errnoName } from '../errors.js';
import { nativeAddon } from '../native/addon.js';
import { hostIdOf, type IdMapping } from '../userns/id-map.js';
import { applyFileOps, type FileOp, type UsernsContext } from '../userns/userns-file-ops.js';
import { extractWithXattrs, type XattrHeader } from './tar-extract.js';
import { allowedXattr } from './xattr-policy.js';

/** Options of {@link unpackLayer}. */
export interface UnpackOptions {
  /** Create character and block devices; default false: a layer with one fails. */
  allowDevices?: boolean | undefined;
  /** Rootless: unpack in this user namespace's view (see the top of this file). */
  userns?: UsernsContext | undefined;
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
  await unpacker.finish();
  return { size: unpacker.size, entries: unpacker.count };
}

class Unpacker {
  /** Every path this layer has made, by kind ('' is the root). */
  private readonly nodes = new Map<string, Kind>([['', 'dir']]);
  /** Directory times, set last (adding entries changes them). */
  private readonly dirTimes: [string, Date][] = [];
  /** Rootless: what the user namespace helper applies at the end, by path. */
  private readonly pending = new Map<string, FileOp[]>();
  /** Rootless: modes of the caller's own directories that lack u+rwx, set at the end. */
  private readonly dirModes = new Map<string, number>();
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
          const ops = this.pending.get(target);
          if (ops) this.pending.set(rel, ops.map((op) => ({ ...op, path: rel })));
          return;
        }
        case 'character-device':
        case 'block-device':
        case 'fifo': {
          data.resume();
          if (header.type !== 'fifo' && this.options.userns) return; // a normal user cannot make devices: skipped, as Podman does
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
      nativeAddon().setXattr(this.abs(parent), this.options.userns ? 'user.overlay.opaque' : 'trusted.overlay.opaque', Buffer.from('y'));
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
    if (kind === 'dir') {
      for (const key of this.nodes.keys()) if (key.startsWith(`${rel}/`)) this.nodes.delete(key);
      for (const map of [this.pending, this.dirModes]) for (const key of map.keys()) if (key.startsWith(`${rel}/`)) map.delete(key);
    }
    this.nodes.delete(rel);
    this.pending.delete(rel);
    this.dirModes.delete(rel);
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
    const chown = !this.isOurs(header);
    const deferred = chown && this.options.userns !== undefined;
    const fd = openSync(path, CREATE_FLAGS, mode & 0o777);
    try {
      for await (const chunk of data) writeSync(fd, chunk);
      this.size += header.size ?? 0;
      // skipped when the file was born with them: two syscalls a file, most files
      if (deferred) {
        // the permission bits now, while the file is ours; set-id bits after the helper's chown
        if (!bornWith(mode & 0o777)) fchmodSync(fd, mode & 0o777);
        this.defer(path, header, (mode & 0o7000) !== 0 ? mode : undefined);
      } else {
        if (chown) fchownSync(fd, header.uid ?? 0, header.gid ?? 0);
        if (chown || !bornWith(mode)) fchmodSync(fd, mode); // after chown, which clears set-id bits
      }
      if (header.mtime) futimesSync(fd, header.mtime, header.mtime);
    } finally {
      closeSync(fd);
    }
    this.xattrs(path, header);
  }

  /** Rootless: the owner (and then the mode, which chown's clearing of set-id bits needs) for the helper. */
  private defer(path: string, header: Header, mode: number | undefined): void {
    const userns = this.options.userns!;
    const uid = header.uid ?? 0;
    const gid = header.gid ?? 0;
    for (const [id, map, kind] of [[uid, userns.maps.uidMap, 'uid'], [gid, userns.maps.gidMap, 'gid']] as const) {
      if (hostIdOf(map, id) === undefined) throw unmappedOwner(header.name, kind, id, map);
    }
    const rel = this.relative(path);
    const ops = this.pending.get(rel) ?? [];
    ops.push({ op: 'chown', path: rel, uid, gid });
    if (mode !== undefined) ops.push({ op: 'chmod', path: rel, mode });
    this.pending.set(rel, ops);
  }

  private relative(path: string): string {
    return path === this.dir ? '.' : path.slice(this.dir.length + 1);
  }

  /** Whether a new node of ours already has the entry's owner: the caller's ids as root, container root (0:0) rootless. */
  private isOurs(header: Header): boolean {
    if (this.options.userns) return (header.uid ?? 0) === 0 && (header.gid ?? 0) === 0;
    return isOurs(header);
  }

  /** Owner, mode, xattrs and times; `born` is the mode the node was just created with (skips a chmod that changes nothing). */
  private metadata(path: string, header: Header, kind: Kind, born?: number): void {
    const chown = !this.isOurs(header);
    const mode = (header.mode ?? (kind === 'dir' ? 0o755 : 0o644)) & 0o7777;
    if (chown && this.options.userns) {
      // now while it is ours, unless chown would clear it (set-id bits) or it would lock the caller out of a directory it still fills
      const late = (mode & 0o7000) !== 0 || (kind === 'dir' && (mode & 0o700) !== 0o700);
      if (kind !== 'symlink' && !late && born !== mode) chmodSync(path, mode);
      this.defer(path, header, kind !== 'symlink' && late ? mode : undefined);
    } else {
      if (chown) lchownSync(path, header.uid ?? 0, header.gid ?? 0);
      // path is not a symlink: we just made it; chown clears set-id bits, so chmod comes after
      const late = this.options.userns !== undefined && kind === 'dir' && (mode & 0o700) !== 0o700;
      if (late) this.dirModes.set(this.relative(path), mode);
      else if (kind !== 'symlink' && (chown || born !== mode)) chmodSync(path, mode);
    }
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
      if (!kept) continue;
      if (name === 'security.capability' && this.options.userns) {
        // the kernel stores it namespaced (root id: the caller), valid in the container's user namespace
        const rel = this.relative(path);
        this.pending.set(rel, [...(this.pending.get(rel) ?? []), { op: 'setcap', path: rel, value: kept }]);
      } else {
        nativeAddon().setXattr(path, name, kept);
      }
    }
  }

  /** Directory times (and, rootless, the late directory modes, then the helper's operations). */
  async finish(): Promise<void> {
    for (const [path, time] of this.dirTimes.reverse()) lutimesSync(path, time, time);
    for (const [rel, mode] of this.dirModes) chmodSync(this.abs(rel === '.' ? '' : rel), mode);
    if (this.options.userns) await applyFileOps(this.options.userns, this.dir, [...this.pending.values()].flat());
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

/** An entry owned by an id that the rootless maps do not hold. */
function unmappedOwner(entry: string, kind: 'uid' | 'gid', id: number, map: readonly IdMapping[]): RootlessUnsupportedError {
  const last = Math.max(...map.map((range) => range.containerId + range.size - 1));
  const file = kind === 'uid' ? '/etc/subuid' : '/etc/subgid';
  const option = kind === 'uid' ? '--add-subuids' : '--add-subgids';
  return new RootlessUnsupportedError(
    `layer entry '${entry}' is owned by ${kind} ${id}, which this user's id map does not hold (container ${kind}s 0-${last}: ` +
      `the user and its subordinate ids in ${file}). Give the user more subordinate ids, e.g. as root ` +
      `\`usermod ${option} 100000-165535 <user>\` (65536 ids cover most images), then pull again. Nothing of the layer was kept.`,
    { path: entry },
  );
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
