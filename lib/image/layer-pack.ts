/**
 * A directory as a layer tar, the reverse of unpacking: overlay whiteouts
 * (char devices 0/0) become `.wh.name` entries, opaque directories get a
 * `.wh..wh..opq` entry, hardlinked files are stored once. Names are sorted, so
 * the same tree gives the same tar (and the same diff_id).
 */
import { createReadStream, lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { Readable } from 'node:stream';
import { once } from 'node:events';
import { pack, type Header, type Pack } from 'tar-stream';
import { nativeAddon } from '../native/addon.js';

export interface PackOptions {
  /** Every entry gets this mtime (for reproducible tars); default: the files' own. */
  mtime?: Date;
}

/** The tar of `dir` as a stream. */
export function packLayer(dir: string, options: PackOptions = {}): Readable {
  const tar = pack();
  walk(tar, dir, options).then(
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
      if (body) tar.entry({ ...header, size: body.length }, body, done);
      else tar.entry(header, done);
    });
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const sink = tar.entry(header, (error) => (error ? reject(error) : resolve()));
    (async () => {
      for await (const chunk of content) if (!sink.write(chunk)) await once(sink as unknown as NodeJS.EventEmitter, 'drain');
      (sink as unknown as { end(): void }).end();
    })().catch((error: unknown) => {
      sink.destroy(error as Error);
      reject(error as Error);
    });
  });
}

async function walk(tar: Pack, root: string, options: PackOptions): Promise<void> {
  const links = new Map<string, string>(); // dev:ino → first name
  const visit = async (rel: string): Promise<void> => {
    const names = readdirSync(rel === '' ? root : `${root}/${rel}`).sort();
    for (const base of names) {
      const name = rel === '' ? base : `${rel}/${base}`;
      const path = `${root}/${name}`;
      const stat = lstatSync(path);
      const header = baseHeader(name, stat, options);
      if (stat.isCharacterDevice() && stat.rdev === 0) {
        await addEntry(tar, { ...header, name: `${rel === '' ? '' : `${rel}/`}.wh.${base}`, type: 'file', size: 0, mode: 0o644 });
      } else if (stat.isDirectory()) {
        await addEntry(tar, { ...header, name: `${name}/`, type: 'directory' });
        if (nativeAddon().getXattr(path, 'trusted.overlay.opaque')?.toString() === 'y') {
          await addEntry(tar, { ...header, name: `${name}/.wh..wh..opq`, type: 'file', size: 0, mode: 0o644 });
        }
        await visit(name);
      } else if (stat.isSymbolicLink()) {
        await addEntry(tar, { ...header, type: 'symlink', linkname: readlinkSync(path) });
      } else if (stat.isFile()) {
        const key = `${stat.dev}:${stat.ino}`;
        const first = stat.nlink > 1 ? links.get(key) : undefined;
        if (first !== undefined) {
          await addEntry(tar, { ...header, type: 'link', linkname: first, size: 0 });
        } else {
          if (stat.nlink > 1) links.set(key, name);
          await addEntry(tar, { ...header, type: 'file', size: stat.size }, stat.size > 0 ? createReadStream(path) : undefined);
        }
      } else if (stat.isFIFO() || stat.isCharacterDevice() || stat.isBlockDevice()) {
        const type = stat.isFIFO() ? 'fifo' : stat.isCharacterDevice() ? 'character-device' : 'block-device';
        await addEntry(tar, { ...header, type, devmajor: Math.floor(stat.rdev / 256) & 0xfff, devminor: (stat.rdev & 0xff) | ((stat.rdev >> 12) & 0xfff00) });
      }
      // sockets are not archived, as tar does
    }
  };
  await visit('');
}

function baseHeader(name: string, stat: Stats, options: PackOptions): EntryHeader {
  return { name, mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid, mtime: options.mtime ?? stat.mtime, uname: '', gname: '' };
}
