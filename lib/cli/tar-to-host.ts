/**
 * Writes a tar stream from a container (`copyFrom`) onto the host, as
 * `docker cp CONTAINER:SRC DEST` does, treating every entry as hostile: no
 * absolute names, no `..`, nothing written through a symlink (each parent is
 * checked with lstat and must be a real directory; a file is created with
 * O_EXCL after whatever was there is unlinked), links only to files written
 * by this copy, no devices or FIFOs, and no setuid/setgid/sticky bits.
 */
import { createWriteStream, linkSync, lstatSync, mkdirSync, chmodSync, symlinkSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { extract, type Header } from 'tar-stream';
import { UnsafePathError } from '../container/path-in-root.js';

/** `a/./b/` → ['a', 'b']; refuses `..`, absolute names and empty ones. */
function entryParts(name: string): string[] {
  const parts = name.split('/').filter((part) => part !== '' && part !== '.');
  if (name.startsWith('/') || parts.includes('..') || parts.length === 0) {
    throw new UnsafePathError(`the archive from the container has an entry '${name}' that would leave the destination`, { code: 'ERR_UNSAFE_PATH', path: name });
  }
  return parts;
}

/**
 * Extracts `tar` into the host path `dest`, by `docker cp`'s rules: into it
 * when it is a directory, else as it (the archive's top entry renamed to
 * `dest`'s name). `contents` (a source ending in `/.`): the archive holds a
 * directory's contents, which go into `dest`, made when missing.
 */
export async function tarToHost(tar: Readable, dest: string, contents = false): Promise<void> {
  const existing = lstatSync(dest, { throwIfNoEntry: false });
  if (contents && !existing) mkdirSync(dest, 0o755);
  const into = contents || existing?.isDirectory() === true;
  const root = into ? dest : dirname(dest);
  const rename = into ? undefined : basename(dest);
  const written = new Set<string>();

  const target = (name: string): string[] => {
    const parts = entryParts(name);
    if (rename) parts[0] = rename;
    return parts;
  };
  /** Each parent below `root` is a real directory (made when missing); the entry's own host path. */
  const place = (parts: readonly string[]): string => {
    let path = root;
    for (const part of parts.slice(0, -1)) {
      path = join(path, part);
      const stats = lstatSync(path, { throwIfNoEntry: false });
      if (!stats) mkdirSync(path, 0o755);
      else if (!stats.isDirectory()) throw new UnsafePathError(`'${path}' is not a directory (a symlink is never followed): the copy stops`, { code: 'ERR_UNSAFE_PATH', path });
    }
    return join(path, parts.at(-1)!);
  };
  const clear = (path: string) => {
    const stats = lstatSync(path, { throwIfNoEntry: false });
    if (stats && !stats.isDirectory()) unlinkSync(path);
    return stats;
  };

  const entries = extract();
  const done = (async () => {
    for await (const entry of entries) {
      const header: Header = entry.header;
      const path = place(target(header.name));
      const mode = (header.mode ?? 0o644) & 0o777;
      switch (header.type) {
        case 'directory': {
          const stats = clear(path);
          if (!stats?.isDirectory()) mkdirSync(path, mode);
          else chmodSync(path, mode);
          break;
        }
        case 'file':
        case 'contiguous-file': {
          clear(path);
          await pipeline(entry, createWriteStream(path, { flags: 'wx', mode }));
          written.add(path);
          continue; // the entry is consumed
        }
        case 'symlink':
          clear(path);
          symlinkSync(header.linkname ?? '', path);
          break;
        case 'link': {
          const source = place(target(header.linkname ?? ''));
          if (!written.has(source)) throw new UnsafePathError(`the archive links '${header.name}' to '${header.linkname}', not a file of this copy`, { code: 'ERR_UNSAFE_PATH', path: header.name });
          clear(path);
          linkSync(source, path);
          break;
        }
        default:
          process.stderr.write(`berth: skipped '${header.name}': a ${header.type} is not copied to the host\n`);
      }
      entry.resume();
    }
  })().catch((error: unknown) => {
    entries.destroy(error as Error);
    tar.destroy();
    throw error;
  });
  await Promise.all([pipeline(tar, entries).catch(() => done), done]);
}
