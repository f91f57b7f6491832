import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

/**
 * Builds the busybox layer under `layersDir` (once; its id is a hash of what
 * goes in) and returns the layer id. Built in a temporary directory and
 * renamed into place, so a crash leaves no half layer.
 */
export function buildBusyboxLayer(layersDir: string): string {
  const busybox = findStaticBusybox();
  const binary = readFileSync(busybox);
  const id = `sha256:${createHash('sha256').update(binary).update(PASSWD).update(GROUP).update('berth-busybox-1').digest('hex')}`;
  const final = join(layersDir, id.slice('sha256:'.length));
  if (existsSync(final)) return id;
  const temp = join(layersDir, `.tmp-${process.pid}-${Date.now()}`);
  const diff = join(temp, 'diff');
  try {
    for (const dir of ['bin', 'etc', 'dev', 'proc', 'sys', 'tmp', 'root', 'home/app', 'var/run', 'usr']) {
      mkdirSync(join(diff, dir), { recursive: true });
    }
    chmodSync(join(diff, 'tmp'), 0o1777);
    chmodSync(join(diff, 'root'), 0o700);
    copyFileSync(busybox, join(diff, 'bin/busybox'));
    chmodSync(join(diff, 'bin/busybox'), 0o755);
    const applets = execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
    for (const applet of applets) symlinkSync('busybox', join(diff, 'bin', applet));
    writeFileSync(join(diff, 'etc/passwd'), PASSWD);
    writeFileSync(join(diff, 'etc/group'), GROUP);
    writeFileSync(join(diff, 'etc/hostname'), 'localhost\n');
    chownSync(join(diff, 'home/app'), 1000, 1000);
    renameSync(temp, final);
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
  return id;
}
