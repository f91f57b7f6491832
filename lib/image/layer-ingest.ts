/**
 * The layer pipeline: a blob as it arrives → sha256 and size check (and a copy
 * into the blob store) → decompression → sha256 of the tar (the diff_id) →
 * tar entries onto disk in a directory of the layer's own. All of it streams;
 * nothing waits for the whole blob. The layer and the blob appear under their
 * names only once both digests are verified; on any failure neither does.
 */
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { Descriptor } from '../../types/image.js';
import { ImageContentError } from '../errors.js';
import type { ContentStore } from './content-store.js';
import { verifyContent } from './digest.js';
import { checkCompression, decompress, type Compression } from './decompress.js';
import { unpackLayer } from './layer-unpack.js';
import { PRIVATE_FILE_MODE } from '../state/private-state.js';

/** A layer blob to ingest. */
export interface LayerSource {
  /** The blob's bytes, as stored (compressed or not). */
  stream: Readable;
  /** What the blob must be: its digest and size, and (when known) its media type, which the content must match. */
  descriptor: Pick<Descriptor, 'digest' | 'size'> & { mediaType?: string | undefined };
  /** What the uncompressed tar must hash to. */
  diffId: string;
  /** For messages: `layer 2/5 of 127.0.0.1:5000/app:1`. */
  what: string;
}

export interface IngestOptions {
  /** Also store the blob (for push and save). */
  keepBlob: boolean;
  allowDevices?: boolean | undefined;
  /** The most bytes the uncompressed tar may have; default {@link defaultLayerLimit}. `Infinity`: no limit. */
  maxLayerSize?: number | undefined;
  /** Blob bytes read so far. */
  onBytes?: ((bytes: number) => void) | undefined;
}

export interface IngestResult {
  compression: Compression;
  /** Bytes of regular files in the layer. */
  unpackedSize: number;
}

/** Layers up to this size (uncompressed) are always accepted. */
const LAYER_FLOOR = 1024 ** 3;
/** Above the floor, a layer may be this many times its blob. */
const LAYER_RATIO = 100;

/**
 * The default decompression limit of a layer: 1 GiB, or 100 times its blob
 * size when that is more. Real layers expand 2 to 10 times; a gzip bomb
 * expands about 1000 times.
 */
export function defaultLayerLimit(blobSize: number): number {
  return Math.max(LAYER_FLOOR, LAYER_RATIO * blobSize);
}

/** Checks a `maxLayerSize` option. */
export function checkMaxLayerSize(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !(value > 0)) throw new TypeError('maxLayerSize must be a positive number of bytes (or Infinity)');
  return value;
}

/** Hashes and counts the bytes that pass, and copies them into a file when given one. */
class BlobCounter {
  private readonly hash = createHash('sha256');
  bytes = 0;

  constructor(private readonly fd: number | undefined, private readonly onBytes?: (bytes: number) => void) {}

  update(chunk: Buffer): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    if (this.fd !== undefined) writeSync(this.fd, chunk);
    this.onBytes?.(this.bytes);
  }

  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

/**
 * Makes the layer `source.diffId` from its blob: unpacked into a temporary
 * directory, verified, renamed into place. The caller holds the layer's lock.
 * @throws ImageContentError on a digest or size mismatch (checked first: a
 *   tampered blob reports that, whatever else it broke), LayerUnpackError for
 *   unsafe entries.
 */
export async function ingestLayer(store: ContentStore, source: LayerSource, options: IngestOptions): Promise<IngestResult> {
  const tempLayer = store.tempPath(store.layersDir);
  const tempBlob = options.keepBlob ? store.tempPath(store.blobsDir) : undefined;
  let blobFd: number | undefined;
  const chunks = source.stream.iterator({ destroyOnReturn: false });
  try {
    mkdirSync(`${tempLayer}/diff`, { recursive: true, mode: 0o755 });
    if (tempBlob) blobFd = openSync(tempBlob, 'wx', PRIVATE_FILE_MODE);
    const blob = new BlobCounter(blobFd, options.onBytes);
    const tar = createHash('sha256');
    let tarSize = 0;
    let compression: Compression = 'none';
    const limit = options.maxLayerSize ?? defaultLayerLimit(source.descriptor.size);
    const sniffed = (found: Compression) => {
      compression = found;
      checkCompression(source.what, source.descriptor.mediaType, found);
    };
    /** The blob source's own failure (a connection, or a registry serving more than the descriptor): reported as it is. */
    let sourceError: unknown;
    const nextChunk = async () => {
      try {
        return await chunks.next();
      } catch (error) {
        sourceError ??= error;
        throw error;
      }
    };
    async function* blobBytes(): AsyncGenerator<Buffer> {
      for (;;) {
        const next = await nextChunk();
        if (next.done) return;
        blob.update(next.value as Buffer);
        yield next.value as Buffer;
      }
    }
    /** The rest of the blob, hashed (a tar may end before its blob does: the digest covers every byte). */
    const drain = async () => {
      for (let next = await nextChunk(); !next.done; next = await nextChunk()) blob.update(next.value as Buffer);
    };
    async function* tarBytes(): AsyncGenerator<Buffer> {
      for await (const chunk of decompress(blobBytes(), sniffed)) {
        tarSize += chunk.length;
        if (tarSize > limit) {
          throw new ImageContentError(
            `${source.what}: its uncompressed tar is larger than ${limit} bytes (the blob is ${source.descriptor.size}); ` +
              'refusing it as a decompression bomb; if the image is trusted, raise the limit with the maxLayerSize option',
            { code: 'ERR_LAYER_TOO_LARGE' },
          );
        }
        tar.update(chunk);
        yield chunk;
      }
    }
    let unpacked;
    try {
      unpacked = await unpackLayer(Readable.from(tarBytes(), { objectMode: false }), `${tempLayer}/diff`, {
        allowDevices: options.allowDevices,
        userns: store.userns,
      });
      await drain();
    } catch (error) {
      if (sourceError !== undefined) throw sourceError;
      // the blob's digest decides first: drain what is left and compare
      try {
        await drain();
      } catch {
        throw sourceError ?? error;
      }
      verifyContent(source.what, source.descriptor, { digest: blob.digest(), size: blob.bytes });
      throw error;
    }
    verifyContent(source.what, source.descriptor, { digest: blob.digest(), size: blob.bytes });
    const diffId = `sha256:${tar.digest('hex')}`;
    if (diffId !== source.diffId) {
      throw new ImageContentError(
        `${source.what}: the uncompressed layer's digest is ${diffId}, but the image config says ${source.diffId}; the image is inconsistent, so nothing of it was kept`,
        { code: 'ERR_DIGEST_MISMATCH' },
      );
    }
    if (blobFd !== undefined) {
      closeSync(blobFd);
      blobFd = undefined;
      await store.commitBlob(tempBlob!, source.descriptor.digest);
    }
    await store.commitLayer(tempLayer, { diffId, size: unpacked.size, tarSize, createdAt: new Date().toISOString() });
    return { compression, unpackedSize: unpacked.size };
  } finally {
    if (blobFd !== undefined) closeSync(blobFd);
    await chunks.return?.();
    source.stream.destroy();
    await store.removeTree(tempLayer);
    if (tempBlob) rmSync(tempBlob, { force: true });
  }
}

/**
 * Stores a blob without unpacking it (the layer is there already, from
 * another image that compressed it differently). Verified before it appears.
 */
export async function ingestBlob(store: ContentStore, source: Omit<LayerSource, 'diffId'>, onBytes?: (bytes: number) => void): Promise<void> {
  const temp = store.tempPath(store.blobsDir);
  const fd = openSync(temp, 'wx', PRIVATE_FILE_MODE);
  let closed = false;
  try {
    const blob = new BlobCounter(fd, onBytes);
    for await (const chunk of source.stream) blob.update(chunk as Buffer);
    verifyContent(source.what, source.descriptor, { digest: blob.digest(), size: blob.bytes });
    closeSync(fd);
    closed = true;
    await store.commitBlob(temp, source.descriptor.digest);
  } finally {
    if (!closed) closeSync(fd);
    rmSync(temp, { force: true });
  }
}

/** A layer to make when missing: where its blob comes from and what it must be. */
export interface LayerWanted extends Omit<LayerSource, 'stream'> {
  /** Opens the blob (only called when it is needed). */
  open: () => Readable;
}

/**
 * Makes sure the store has the layer `wanted.diffId` (unpacked) and, with
 * `keepBlob`, its blob `wanted.descriptor.digest`: fetches what is missing,
 * holding the layer's lock, so concurrent makers (in any process) fetch it
 * once. Layers it made are appended to `created`.
 * @returns what it had to do.
 */
export async function ensureLayer(
  store: ContentStore,
  wanted: LayerWanted,
  options: IngestOptions,
  created: string[],
): Promise<'exists' | 'blob' | 'layer'> {
  return store.withLayerLock(wanted.diffId, async () => {
    const haveLayer = store.hasLayer(wanted.diffId);
    if (haveLayer && (!options.keepBlob || store.hasBlob(wanted.descriptor.digest))) return 'exists';
    if (haveLayer) {
      await ingestBlob(store, { stream: wanted.open(), descriptor: wanted.descriptor, what: wanted.what }, options.onBytes);
      return 'blob';
    }
    await ingestLayer(store, { ...wanted, stream: wanted.open() }, options);
    created.push(wanted.diffId);
    return 'layer';
  });
}
