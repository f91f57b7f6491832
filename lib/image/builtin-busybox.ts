import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { pack, type Header } from 'tar-stream';
import { BerthError } from '../errors.js';

/** The reference of the image berth makes from the host's static busybox. */
export const BUILTIN_BUSYBOX_REFERENCE = 'localhost/busybox:latest';

const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];

const PASSWD = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
app:x:1000:1000:app:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
`;
const GROUP = `root:x:0:
daemon:x:1:
tty:x:5:
staff:x:50:app
app:x:1000:
nogroup:x:65534:
`;

/** True when the ELF file has no program interpreter, i.e. runs without a dynamic loader. */
function isStaticElf(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const header = Buffer.alloc(64);
    readSync(fd, header, 0, 64, 0);
    if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2) return false; // ELF, 64-bit
    const programHeaders = Number(header.readBigUInt64LE(32));
    const entrySize = header.readUInt16LE(54);
    const count = header.readUInt16LE(56);
    const table = Buffer.alloc(entrySize * count);
    readSync(fd, table, 0, table.length, programHeaders);
    for (let i = 0; i < count; i++) if (table.readUInt32LE(i * entrySize) === 3) return false; // PT_INTERP
    return true;
  } finally {
    closeSync(fd);
  }
}

function findStaticBusybox(): string {
  const found = BUSYBOX_CANDIDATES.find((path) => existsSync(path) && isStaticElf(path));
  if (!found) {
    throw new BerthError(
      `the built-in image needs a statically linked busybox at ${BUSYBOX_CANDIDATES.join(' or ')}; ` +
        'install it with `apt-get install busybox-static`',
      { code: 'ENOENT', path: BUSYBOX_CANDIDATES[0] },
    );
  }
  return found;
}

/** The fixed time of every entry, so the layer (and so the image id) depends only on busybox itself. */
const EPOCH = new Date('2000-01-01T00:00:00Z');

/**
 * The busybox layer as an uncompressed tar: `/bin/busybox` with a symlink per
 * applet, a small /etc (with empty hosts and resolv.conf), the usual empty directories. The same busybox gives
 * the same bytes, so the same diff_id and image id on every host.
 */
export async function busyboxLayerTar(): Promise<Buffer> {
  const busybox = findStaticBusybox();
  const binary = readFileSync(busybox);
  const applets = execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox').sort();
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (chunk) => chunks.push(chunk as Buffer));
  const ended = new Promise<void>((resolve, reject) => tar.once('end', () => resolve()).once('error', reject));
  const entry = (header: Partial<Header> & { name: string }, content?: Buffer) =>
    content ? tar.entry({ uid: 0, gid: 0, mtime: EPOCH, ...header }, content) : tar.entry({ uid: 0, gid: 0, mtime: EPOCH, ...header });
  for (const dir of ['bin', 'dev', 'etc', 'home', 'proc', 'root', 'sys', 'tmp', 'usr', 'var', 'var/run']) {
    entry({ name: `${dir}/`, type: 'directory', mode: dir === 'tmp' ? 0o1777 : dir === 'root' ? 0o700 : 0o755 });
    if (dir === 'home') entry({ name: 'home/app/', type: 'directory', mode: 0o755, uid: 1000, gid: 1000 });
  }
  entry({ name: 'bin/busybox', type: 'file', mode: 0o755, size: binary.length }, binary);
  for (const applet of applets) entry({ name: `bin/${applet}`, type: 'symlink', linkname: 'busybox', mode: 0o777 });
  entry({ name: 'etc/passwd', type: 'file', mode: 0o644 }, Buffer.from(PASSWD));
  entry({ name: 'etc/group', type: 'file', mode: 0o644 }, Buffer.from(GROUP));
  entry({ name: 'etc/hostname', type: 'file', mode: 0o644 }, Buffer.from('localhost\n'));
  // empty, as distribution images ship them: the targets of the files a start binds over
  // /etc/hosts and /etc/resolv.conf, which a container then need not create in its upper directory
  entry({ name: 'etc/hosts', type: 'file', mode: 0o644 }, Buffer.alloc(0));
  entry({ name: 'etc/resolv.conf', type: 'file', mode: 0o644 }, Buffer.alloc(0));
  tar.finalize();
  await ended;
  return Buffer.concat(chunks);
}
