/** DNS messages for the tests: a query, a response's parts, and a tiny server's answer. */

export const TYPE = { A: 1, PTR: 12, AAAA: 28, MX: 15 } as const;

function encodeName(name: string): Buffer {
  const labels = name.split('.').filter(Boolean).map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label, 'latin1')]));
  return Buffer.concat([...labels, Buffer.from([0])]);
}

/** A query for `name` of `type`, recursion desired. */
export function dnsQuery(id: number, name: string, type: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2);
  header.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(1, 2);
  return Buffer.concat([header, encodeName(name), tail]);
}

/** Reads a (possibly compressed) name at `at`; returns it and the offset after it in place. */
function readName(message: Buffer, at: number): [string, number] {
  const labels: string[] = [];
  let end = -1;
  for (let hops = 0; hops < 64; hops++) {
    const length = message[at]!;
    if (length === 0) return [labels.join('.'), end < 0 ? at + 1 : end];
    if ((length & 0xc0) === 0xc0) {
      if (end < 0) end = at + 2;
      at = message.readUInt16BE(at) & 0x3fff;
      continue;
    }
    labels.push(message.subarray(at + 1, at + 1 + length).toString('latin1'));
    at += 1 + length;
  }
  throw new Error('a name with too many pointers');
}

export interface DnsAnswer {
  id: number;
  rcode: number;
  truncated: boolean;
  authoritative: boolean;
  question: string;
  /** Addresses for A/AAAA, names for PTR. */
  answers: string[];
}

function formatAddress(data: Buffer): string {
  if (data.length === 4) return [...data].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(data.readUInt16BE(i).toString(16));
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1); // the URL parser writes IPv6 in its short form
}

export function parseResponse(message: Buffer): DnsAnswer {
  const flags = message.readUInt16BE(2);
  const questions = message.readUInt16BE(4);
  const count = message.readUInt16BE(6);
  let at = 12;
  let question = '';
  for (let i = 0; i < questions; i++) {
    [question, at] = readName(message, at);
    at += 4;
  }
  const answers: string[] = [];
  for (let i = 0; i < count; i++) {
    [, at] = readName(message, at);
    const type = message.readUInt16BE(at);
    const length = message.readUInt16BE(at + 8);
    const data = message.subarray(at + 10, at + 10 + length);
    answers.push(type === TYPE.PTR ? readName(message, at + 10)[0] : formatAddress(data));
    at += 10 + length;
  }
  return { id: message.readUInt16BE(0), rcode: flags & 0xf, truncated: (flags & 0x0200) !== 0, authoritative: (flags & 0x0400) !== 0, question, answers };
}

/**
 * A tiny authoritative server's reply to `query`: A records from `zone`
 * (name → IPv4 addresses), NXDOMAIN for the rest.
 */
export function zoneReply(query: Buffer, zone: Record<string, string[]>): Buffer {
  const [name, end] = readName(query, 12);
  const addresses = zone[name.toLowerCase()];
  const header = Buffer.from(query.subarray(0, 12));
  header.writeUInt16BE(0x8180 | (addresses ? 0x0400 : 3), 2);
  header.writeUInt16BE(addresses?.length ?? 0, 6);
  header.writeUInt32BE(0, 8);
  const records = (addresses ?? []).map((ip) => {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0);
    rr.writeUInt16BE(TYPE.A, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(60, 6);
    rr.writeUInt16BE(4, 10);
    ip.split('.').forEach((byte, i) => rr.writeUInt8(Number(byte), 12 + i));
    return rr;
  });
  return Buffer.concat([header, query.subarray(12, end + 4), ...records]);
}
