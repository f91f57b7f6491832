/**
 * tar-stream's extract, keeping the bytes of PAX extended attributes.
 *
 * tar-stream decodes every PAX record as UTF-8, which mangles binary values:
 * a `security.capability` of `cap_setuid` (bit 7, a 0x80 byte) does not
 * survive it. GNU tar, Docker and BuildKit write `SCHILY.xattr.<name>=<raw
 * bytes>`, so the records are read again from the PAX header's own bytes and
 * handed over as `header.xattrs`. Everything else (names, sizes, long-name
 * and PAX `path`/`linkpath` overrides) stays tar-stream's; callers check the
 * final `header.name` and `header.linkname`, whichever record produced them.
 */
import { extract, type Extract, type Header } from 'tar-stream';

/** A header with its `SCHILY.xattr.*` records as bytes (name → value). */
export type XattrHeader = Header & { xattrs?: Map<string, Buffer> };

const XATTR_PREFIX = 'SCHILY.xattr.';

/** The parts of tar-stream's Extract this wraps (stable across 3.x). */
interface ExtractInternals {
  _header: { type?: string } | null;
  _decodeLongHeader(buf: Buffer): void;
  _applyLongHeaders(): void;
}

/** The `SCHILY.xattr.*` records of a PAX header block (`<len> <key>=<value>\n`…), values as bytes. */
export function paxXattrs(block: Buffer): Map<string, Buffer> {
  const xattrs = new Map<string, Buffer>();
  let rest = block;
  while (rest.length > 0) {
    const space = rest.indexOf(0x20);
    const length = space > 0 ? Number(rest.subarray(0, space).toString('latin1')) : NaN;
    if (!Number.isInteger(length) || length <= space + 1 || length > rest.length) break; // malformed: tar-stream stops too
    const record = rest.subarray(space + 1, length - 1); // without the trailing newline
    const equals = record.indexOf(0x3d);
    if (equals > 0) {
      const key = record.subarray(0, equals).toString('utf8');
      if (key.startsWith(XATTR_PREFIX)) xattrs.set(key.slice(XATTR_PREFIX.length), Buffer.from(record.subarray(equals + 1)));
    }
    rest = rest.subarray(length);
  }
  return xattrs;
}

/** An extract stream whose entry headers carry `xattrs` with the attributes' exact bytes. */
export function extractWithXattrs(): Extract {
  const entries = extract() as Extract & ExtractInternals;
  const decode = entries._decodeLongHeader;
  const apply = entries._applyLongHeaders;
  if (typeof decode !== 'function' || typeof apply !== 'function') {
    throw new Error('tar-stream no longer has _decodeLongHeader/_applyLongHeaders; lib/image/tar-extract.ts needs updating');
  }
  let pending: Map<string, Buffer> | undefined;
  entries._decodeLongHeader = function (this: ExtractInternals, buf: Buffer) {
    if (this._header?.type === 'pax-header') pending = paxXattrs(buf);
    decode.call(this, buf);
  };
  entries._applyLongHeaders = function (this: ExtractInternals) {
    const xattrs = pending;
    pending = undefined;
    apply.call(this);
    if (xattrs && xattrs.size > 0 && this._header) (this._header as XattrHeader).xattrs = xattrs;
  };
  return entries;
}
