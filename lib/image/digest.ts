/** Content digests: validation, and a pass-through stream that hashes and counts. */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ImageContentError } from '../errors.js';

const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** True when `value` is a `sha256:` digest with 64 lower-case hex digits. */
export function isDigest(value: unknown): value is string {
  return typeof value === 'string' && DIGEST.test(value);
}

/**
 * Checks a digest read from a manifest, an index or an archive.
 * @throws ImageContentError (`ERR_MANIFEST_INVALID`) naming `where`.
 */
export function checkDigest(value: unknown, where: string): string {
  if (isDigest(value)) return value;
  const shown = typeof value === 'string' ? `'${value.slice(0, 80)}'` : String(value);
  throw new ImageContentError(`${where}: ${shown} is not a supported digest (expected sha256: and 64 hex digits)`, {
    code: 'ERR_MANIFEST_INVALID',
  });
}

/** The hex part of a digest: a file name in the store. */
export function digestHex(digest: string): string {
  return digest.slice('sha256:'.length);
}

/** sha256 of a buffer, as `sha256:…`. */
export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** A pass-through that hashes and counts what flows through it. */
export class DigestStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  /** Bytes seen so far. */
  bytes = 0;
  private result: string | undefined;

  constructor(private readonly onBytes?: (total: number) => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.onBytes?.(this.bytes);
    callback(null, chunk);
  }

  /** `sha256:…` of everything that passed (call once the stream has ended). */
  digest(): string {
    this.result ??= `sha256:${this.hash.digest('hex')}`;
    return this.result;
  }
}

/**
 * Compares what arrived with what the descriptor promised.
 * @throws ImageContentError `ERR_SIZE_MISMATCH` or `ERR_DIGEST_MISMATCH`.
 */
export function verifyContent(what: string, expected: { digest: string; size?: number | undefined }, actual: { digest: string; size: number }): void {
  if (expected.size !== undefined && expected.size !== actual.size) {
    throw new ImageContentError(
      `${what}: expected ${expected.size} bytes of ${expected.digest}, got ${actual.size}; the source serves different content than its manifest describes`,
      { code: 'ERR_SIZE_MISMATCH' },
    );
  }
  if (expected.digest !== actual.digest) {
    throw new ImageContentError(
      `${what}: the content's digest is ${actual.digest}, not ${expected.digest}; it was corrupted or tampered with, so nothing of it was kept`,
      { code: 'ERR_DIGEST_MISMATCH' },
    );
  }
}
