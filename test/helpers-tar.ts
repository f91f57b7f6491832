import { Readable } from 'node:stream';
import tar from 'tar-stream';

type Header = Parameters<ReturnType<typeof tar.pack>['entry']>[0];

/** One entry of a tar stream, its content read. */
export interface TarEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
  linkname: string | null;
  data: Buffer;
}

/** Reads a whole tar stream. */
export async function tarEntries(stream: Readable): Promise<TarEntry[]> {
  const extract = tar.extract();
  // pipe() does not pass an error on: the source's (a failed copyFrom) ends the read with it
  stream.once('error', (error) => extract.destroy(error));
  stream.pipe(extract as unknown as NodeJS.WritableStream);
  const entries: TarEntry[] = [];
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    const h = entry.header;
    entries.push({ name: h.name, type: h.type, mode: h.mode, uid: h.uid, gid: h.gid, mtime: h.mtime, linkname: h.linkname || null, data: Buffer.concat(chunks) });
  }
  return entries;
}

/** A tar stream of the given entries (content as a string for files). */
export function makeTar(entries: (Header & { content?: string })[]): Readable {
  const pack = tar.pack();
  for (const { content, ...header } of entries) pack.entry(header, content ?? '');
  pack.finalize();
  return Readable.from(pack, { objectMode: false });
}
