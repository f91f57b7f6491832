/**
 * Tars built byte by byte, for attacks a tar library would not write: names
 * set by a GNU long-name record or a PAX `path`/`linkpath` record over an
 * innocent ustar name, a ustar `prefix` field, PAX xattrs with binary values.
 */

/** One tar entry as the attacker writes it. */
export interface RawEntry {
  /** The ustar name field (truncated to 100 bytes). */
  name: string;
  /** '0' file, '1' hardlink, '2' symlink, '3' char, '4' block, '5' dir, '6' fifo. */
  type?: string;
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  devmajor?: number;
  devminor?: number;
  /** The ustar prefix field (prepended to the name with '/'). */
  prefix?: string;
  /** A GNU long-name record ('L') before the entry. */
  gnuLongName?: string;
  /** A GNU long-link record ('K') before the entry. */
  gnuLongLink?: string;
  /** PAX records ('x' header) before the entry, values as given (bytes kept). */
  pax?: Record<string, string | Buffer>;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function header(fields: { name: string; type: string; size: number; mode?: number; uid?: number; gid?: number; linkname?: string; devmajor?: number; devminor?: number; prefix?: string }): Buffer {
  const block = Buffer.alloc(512);
  block.write(fields.name.slice(0, 100), 0, 'utf8');
  block.write(octal(fields.mode ?? 0o644, 8), 100, 'latin1');
  block.write(octal(fields.uid ?? 0, 8), 108, 'latin1');
  block.write(octal(fields.gid ?? 0, 8), 116, 'latin1');
  block.write(octal(fields.size, 12), 124, 'latin1');
  block.write(octal(1_600_000_000, 12), 136, 'latin1');
  block.write('        ', 148, 'latin1');
  block.write(fields.type, 156, 'latin1');
  if (fields.linkname) block.write(fields.linkname.slice(0, 100), 157, 'utf8');
  block.write('ustar\u000000', 257, 'latin1');
  block.write(octal(fields.devmajor ?? 0, 8), 329, 'latin1');
  block.write(octal(fields.devminor ?? 0, 8), 337, 'latin1');
  if (fields.prefix) block.write(fields.prefix.slice(0, 155), 345, 'utf8');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return block;
}

function padded(data: Buffer): Buffer {
  const pad = (512 - (data.length % 512)) % 512;
  return Buffer.concat([data, Buffer.alloc(pad)]);
}

/** One PAX record: `<length> <key>=<value>\n`, the length counting itself. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let length = body.length + 1;
  while (String(length).length + body.length !== length) length++;
  return Buffer.concat([Buffer.from(String(length)), body]);
}

/** The tar of `entries`, exactly as described. */
export function rawTar(entries: RawEntry[]): Buffer {
  const parts: Buffer[] = [];
  const record = (type: string, data: Buffer) => {
    parts.push(header({ name: '././@LongLink', type, size: data.length }), padded(data));
  };
  for (const entry of entries) {
    if (entry.gnuLongName !== undefined) record('L', Buffer.from(`${entry.gnuLongName}\0`));
    if (entry.gnuLongLink !== undefined) record('K', Buffer.from(`${entry.gnuLongLink}\0`));
    if (entry.pax) {
      const data = Buffer.concat(Object.entries(entry.pax).map(([key, value]) => paxRecord(key, Buffer.isBuffer(value) ? value : Buffer.from(value))));
      parts.push(header({ name: 'PaxHeaders/x', type: 'x', size: data.length }), padded(data));
    }
    const content = entry.content === undefined ? Buffer.alloc(0) : Buffer.from(entry.content);
    const type = entry.type ?? '0';
    parts.push(header({ ...entry, type, size: type === '0' ? content.length : 0 }));
    if (type === '0') parts.push(padded(content));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
