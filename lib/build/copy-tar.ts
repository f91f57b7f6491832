/**
 * COPY/ADD entries as a tar stream (owner and mode as the instruction says),
 * and their content hash, the cache key part of a copy.
 */
import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { extract, pack } from 'tar-stream';
import { addEntry, type EntryHeader } from '../image/layer-pack.js';
import type { CopyEntry } from './build-context.js';

/** What COPY's flags change in every entry. */
export interface Ownership {
  uid?: number;
  gid?: number;
  /** `--chmod`: replaces the permission bits of files and directories. */
  mode?: number;
}

const READ_NOFOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW;

function fileContent(entry: CopyEntry): Buffer | AsyncIterable<Buffer> {
  return entry.content ?? (createReadStream(entry.hostPath!, { flags: READ_NOFOLLOW as unknown as string }) as AsyncIterable<Buffer>);
}

/** A digest over names, types, modes, link targets and file contents (not times): the cache key of a copy. */
export async function hashEntries(entries: readonly CopyEntry[], ownership: Ownership): Promise<string> {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(ownership));
  for (const entry of entries) {
    hash.update(`\0${entry.name}\0${entry.type}\0${entry.mode}\0${entry.linkname ?? ''}\0${entry.uid ?? ''}:${entry.gid ?? ''}\0`);
    if (entry.type !== 'file') continue;
    const content = createHash('sha256');
    for await (const chunk of Readable.from(fileContent(entry))) content.update(chunk as Buffer);
    hash.update(content.digest('hex'));
  }
  return hash.digest('hex');
}

function header(entry: CopyEntry, name: string, ownership: Ownership): EntryHeader {
  return {
    name,
    type: entry.type,
    mode: ownership.mode ?? entry.mode,
    uid: ownership.uid ?? entry.uid ?? 0,
    gid: ownership.gid ?? entry.gid ?? 0,
    mtime: entry.mtime,
    ...(entry.type === 'symlink' ? { linkname: entry.linkname } : {}),
    ...(entry.type === 'file' ? { size: entry.size } : {}),
  };
}

/**
 * The entries as a tar stream, each name prefixed with `prefix` (`''` or
 * `usr/local/bin/`); `parents` adds directory entries (root's, 0755) for the
 * directories of `prefix` (a layer of its own, on an empty filesystem).
 */
export function entriesTar(entries: readonly CopyEntry[], ownership: Ownership, prefix = '', parents = false): Readable {
  const tar = pack();
  void (async () => {
    const parts = prefix.split('/').filter((part) => part !== '');
    if (parents) {
      for (let depth = 1; depth <= parts.length; depth++) {
        await addEntry(tar, { name: `${parts.slice(0, depth).join('/')}/`, type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: new Date(0) });
      }
    }
    const base = parts.length > 0 ? `${parts.join('/')}/` : '';
    for (const entry of entries) {
      const body = entry.type === 'file' ? fileContent(entry) : undefined;
      await addEntry(tar, header(entry, `${base}${entry.name}`, ownership), body);
    }
    tar.finalize();
  })().catch((error: unknown) => tar.destroy(error as Error));
  return Readable.from(tar as AsyncIterable<Buffer>, { objectMode: false });
}

/** One tar to merge: how to open it and how to rename (or drop: `undefined`) its entries. */
export interface TarPart {
  open(): Promise<Readable>;
  rename(name: string, directory: boolean): string | undefined;
  /** Owner and mode that replace the entries' own (COPY --chown/--chmod). */
  ownership: Ownership;
}

/**
 * Several tars as one stream, entries renamed (a hard link's target too),
 * owners and modes replaced as each part says; `leading` entries first
 * (the parent directories of a layer on an empty filesystem).
 */
export function mergeTars(parts: readonly TarPart[], leading: EntryHeader[] = []): Readable {
  const out = pack();
  void (async () => {
    for (const header of leading) await addEntry(out, header);
    for (const part of parts) {
      const source = extract();
      const input = await part.open();
      input.on('error', (error) => source.destroy(error));
      input.pipe(source as unknown as NodeJS.WritableStream);
      for await (const entry of source) {
        const header = entry.header;
        const name = part.rename(header.name.replace(/^\.\//, '').replace(/\/$/, ''), header.type === 'directory');
        const linkname = header.type === 'link' && header.linkname ? part.rename(header.linkname.replace(/^\.\//, ''), false) : header.linkname;
        if (name === undefined || name === '' || name === '.' || (header.type === 'link' && linkname === undefined)) {
          entry.resume();
          continue;
        }
        const { mode, uid, gid } = part.ownership;
        const changed: EntryHeader = {
          ...header,
          name: header.type === 'directory' ? `${name}/` : name,
          ...(linkname !== undefined && linkname !== null ? { linkname } : {}),
          ...(mode !== undefined && header.type !== 'symlink' ? { mode } : {}),
          ...(uid !== undefined ? { uid } : {}),
          ...(gid !== undefined ? { gid } : {}),
        };
        await addEntry(out, changed, header.type === 'file' || header.type === 'contiguous-file' ? (entry as AsyncIterable<Buffer>) : undefined);
        if (header.type !== 'file' && header.type !== 'contiguous-file') entry.resume();
      }
    }
    out.finalize();
  })().catch((error: unknown) => out.destroy(error as Error));
  return Readable.from(out as AsyncIterable<Buffer>, { objectMode: false });
}
