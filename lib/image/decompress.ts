/**
 * Layer decompression by content (gzip, zstd, or none). Where a media type
 * says what the blob is, the content must agree (see `expectedCompression`):
 * a blob that a scanner reads as one thing and berth unpacks as another is
 * refused, not guessed at.
 */
import { spawn } from 'node:child_process';
import { Readable, type Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { ImageContentError } from '../errors.js';

export type Compression = 'gzip' | 'zstd' | 'none';

/**
 * The compression a layer media type names (`…tar+gzip`, Docker's
 * `…tar.gzip`, `…+zstd`, a plain `…tar`); undefined for types that name none.
 */
export function expectedCompression(mediaType: string | undefined): Compression | undefined {
  if (mediaType === undefined) return undefined;
  if (mediaType.endsWith('+gzip') || mediaType.endsWith('.tar.gzip')) return 'gzip';
  if (mediaType.endsWith('+zstd')) return 'zstd';
  if (mediaType.endsWith('.tar')) return 'none';
  return undefined;
}

/**
 * Checks a layer's content against its media type.
 * @throws ImageContentError `ERR_MEDIA_TYPE_MISMATCH` when they disagree.
 */
export function checkCompression(what: string, mediaType: string | undefined, found: Compression): void {
  const expected = expectedCompression(mediaType);
  if (expected === undefined || expected === found) return;
  const name = (c: Compression) => (c === 'none' ? 'an uncompressed tar' : `${c} data`);
  throw new ImageContentError(
    `${what}: the media type ${mediaType} says ${name(expected)}, but the blob is ${name(found)}; ` +
      'the image was mislabelled (or altered) and is refused; rebuild or re-push it with the right media type',
    { code: 'ERR_MEDIA_TYPE_MISMATCH' },
  );
}

/** The compression a blob starts with. */
export function sniffCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

type ZstdFactory = () => Duplex;
const nodeZstd = (zlib as unknown as { createZstdDecompress?: ZstdFactory }).createZstdDecompress;

/** zstd: node's own where it has it (Node ≥ 22.15), else the `zstd` program as a stream. */
async function* zstdDecompress(input: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  if (nodeZstd) {
    const decoder = nodeZstd();
    const feeding = pipeline(Readable.from(input), decoder).catch((error: unknown) => decoder.destroy(error as Error));
    yield* decoder as AsyncIterable<Buffer>;
    await feeding;
    return;
  }
  const child = spawn('zstd', ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr: Buffer[] = [];
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', (error) =>
      reject(
        new ImageContentError(`this layer is zstd-compressed and Node ${process.version} cannot decompress zstd; install the zstd program (${error.message})`, {
          code: 'ERR_ZSTD_MISSING',
          cause: error,
        }),
      ),
    );
    child.once('close', resolve);
  });
  exited.catch(() => {});
  let feedError: unknown;
  const feeding = pipeline(Readable.from(input), child.stdin).catch((error: unknown) => {
    feedError = error;
    child.kill('SIGKILL');
  });
  try {
    yield* child.stdout as AsyncIterable<Buffer>;
    await feeding;
    if (feedError) throw feedError;
    const code = await exited;
    if (code !== 0) {
      throw new ImageContentError(`zstd could not decompress the layer: ${Buffer.concat(stderr).toString('utf8').trim() || `exit ${code}`}`, {
        code: 'ERR_LAYER_INVALID',
      });
    }
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

async function* gunzip(input: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const decoder = zlib.createGunzip({ chunkSize: 128 * 1024 });
  const feeding = pipeline(Readable.from(input), decoder).catch((error: unknown) => decoder.destroy(error as Error));
  try {
    yield* decoder as AsyncIterable<Buffer>;
  } catch (error) {
    if (!String((error as { code?: string }).code).startsWith('Z_')) throw error; // the source failed, not gzip
    throw new ImageContentError(`the layer is not valid gzip: ${(error as Error).message}`, { code: 'ERR_LAYER_INVALID', cause: error });
  }
  await feeding;
}

/** Reads the first bytes of `input`, then yields it decompressed as its content says. */
export async function* decompress(input: AsyncIterable<Buffer>, onCompression?: (compression: Compression) => void): AsyncGenerator<Buffer> {
  const iterator = input[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let headBytes = 0;
  while (headBytes < 4) {
    const next = await iterator.next();
    if (next.done) break;
    head.push(next.value);
    headBytes += next.value.length;
  }
  const compression = sniffCompression(Buffer.concat(head));
  onCompression?.(compression);
  async function* whole(): AsyncGenerator<Buffer> {
    yield* head;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  if (compression === 'gzip') yield* gunzip(whole());
  else if (compression === 'zstd') yield* zstdDecompress(whole());
  else yield* whole();
}
