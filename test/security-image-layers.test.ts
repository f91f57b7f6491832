/**
 * Hostile layer tars, written byte by byte as an attacker would: names that a
 * GNU long-name or PAX record sets over an innocent ustar name, directories
 * swapped for symlinks, hardlinks to what is not (yet) there, extended
 * attributes the host must not take from an image. Each is pulled from a real
 * registry; the host and the store must be unchanged.
 */
import assert from 'node:assert/strict';
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Container } from '../lib/index.js';
import { nativeAddon } from '../lib/native/addon.js';
import { temporaryRuntime } from './helpers.js';
import { rawTar, type RawEntry } from './helpers-hostile-tar.js';
import { assertLayerRefused, busyboxTar, pushImage, registryForThisFile } from './image-helpers.js';

const registry = registryForThisFile();
const busybox = busyboxTar();

async function pushRaw(name: string, entries: RawEntry[]): Promise<string> {
  await pushImage(registry.host, name, [{ layers: [busybox, rawTar(entries)] }]);
  return `${registry.host}/${name}`;
}



test('names set by PAX path, GNU long names and the ustar prefix are checked as the final name', async () => {
  await using runtime = await temporaryRuntime();
  const file = (over: Partial<RawEntry>): RawEntry[] => [{ name: 'innocent', content: 'escaped', ...over }];
  const cases: [string, RawEntry[], string][] = [
    ['pax-path:1', file({ pax: { path: '../../../../../../tmp/berth-pax-escape' } }), '../../../../../../tmp/berth-pax-escape'],
    ['pax-path:2', file({ pax: { path: '/tmp/berth-pax-absolute' } }), '/tmp/berth-pax-absolute'],
    ['gnu-name:1', file({ gnuLongName: `${'a/'.repeat(60)}${'../'.repeat(70)}tmp/berth-gnu-escape` }), `${'a/'.repeat(60)}${'../'.repeat(70)}tmp/berth-gnu-escape`],
    ['gnu-name:2', file({ gnuLongName: '/tmp/berth-gnu-absolute' }), '/tmp/berth-gnu-absolute'],
    ['prefix:1', file({ name: 'berth-prefix-escape', prefix: '../../../../../../tmp' }), '../../../../../../tmp/berth-prefix-escape'],
  ];
  for (const [name, entries, finalName] of cases) await assertLayerRefused(runtime, await pushRaw(name, entries), finalName);
  for (const escaped of ['/tmp/berth-pax-escape', '/tmp/berth-pax-absolute', '/tmp/berth-gnu-escape', '/tmp/berth-gnu-absolute', '/tmp/berth-prefix-escape']) {
    assert.ok(!existsSync(escaped), `${escaped} was not written`);
  }
});

test('hardlink targets set by PAX linkpath or a GNU long link to host files are refused; /etc/passwd is untouched', async () => {
  await using runtime = await temporaryRuntime();
  const before = statSync('/etc/passwd');
  await assertLayerRefused(runtime, await pushRaw('pax-link:1', [{ name: 'pw', type: '1', linkname: 'innocent', pax: { linkpath: '/etc/passwd' } }]), 'pw');
  await assertLayerRefused(runtime, await pushRaw('gnu-link:1', [{ name: 'pw', type: '1', linkname: 'x', gnuLongLink: '../../../../../../../etc/passwd' }]), 'pw');
  // a PAX linkpath on a symlink is only a symlink (inside the container); writing through it is refused
  await assertLayerRefused(
    runtime,
    await pushRaw('pax-link:2', [
      { name: 'etc-link', type: '2', linkname: 'innocent', pax: { linkpath: '/etc' } },
      { name: 'x', pax: { path: 'etc-link/berth-through-pax-symlink' }, content: 'pwned' },
    ]),
    'etc-link/berth-through-pax-symlink',
  );
  assert.ok(!existsSync('/etc/berth-through-pax-symlink'));
  const after = statSync('/etc/passwd');
  assert.equal(after.nlink, before.nlink);
  assert.equal(after.mtimeMs, before.mtimeMs);
});

test('a directory replaced by a symlink, then written beneath, is refused', async () => {
  await using runtime = await temporaryRuntime();
  const ref = await pushRaw('dir-swap:1', [
    { name: 'd/', type: '5', mode: 0o755 },
    { name: 'd/first', content: 'inside' },
    { name: 'd', type: '2', linkname: '/tmp' },
    { name: 'd/berth-dir-swap', content: 'escaped' },
  ]);
  await assertLayerRefused(runtime, ref, 'd/berth-dir-swap');
  assert.ok(!existsSync('/tmp/berth-dir-swap'));
  // the same with the name itself a symlink to a directory made earlier by the layer: still no write through it
  const relative = await pushRaw('dir-swap:2', [
    { name: 'real/', type: '5', mode: 0o755 },
    { name: 'alias', type: '2', linkname: 'real' },
    { name: 'alias/file', content: 'x' },
  ]);
  await assertLayerRefused(runtime, relative, 'alias/file');
});

test('hardlinks to a whited-out name, to a later entry or to a directory are refused', async () => {
  await using runtime = await temporaryRuntime();
  await assertLayerRefused(
    runtime,
    await pushRaw('link-whiteout:1', [
      { name: 'gone', content: 'x' },
      { name: '.wh.gone', content: '' },
      { name: 'again', type: '1', linkname: 'gone' },
    ]),
    'again',
  );
  await assertLayerRefused(runtime, await pushRaw('link-later:1', [{ name: 'early', type: '1', linkname: 'late' }, { name: 'late', content: 'x' }]), 'early');
  await assertLayerRefused(runtime, await pushRaw('link-dir:1', [{ name: 'd/', type: '5', mode: 0o755 }, { name: 'dl', type: '1', linkname: 'd' }]), 'dl');
});

test('block devices are refused unless allowDevices is set; fifos are made', async () => {
  await using runtime = await temporaryRuntime();
  const ref = await pushRaw('block:1', [{ name: 'sda', type: '4', devmajor: 8, devminor: 0, mode: 0o660 }, { name: 'pipe', type: '6', mode: 0o600 }]);
  await assertLayerRefused(runtime, ref, 'sda', 'ERR_DEVICE_NOT_PERMITTED');
  const fifo = await runtime.images.pull(await pushRaw('fifo:1', [{ name: 'pipe', type: '6', mode: 0o600 }]));
  assert.ok(lstatSync(join(fifo.layerPaths[0]!, 'pipe')).isFIFO());
});

/** struct vfs_cap_data: magic (revision | effective), permitted/inheritable (low, high), and v3's root uid. */
function capability(revision: 2 | 3, permitted: number, rootid?: number): Buffer {
  const data = Buffer.alloc(revision === 3 ? 24 : 20);
  data.writeUInt32LE((revision << 24) | 1, 0);
  data.writeUInt32LE(permitted, 4);
  if (revision === 3) data.writeUInt32LE(rootid ?? 0, 20);
  return data;
}

test('extended attributes: user.* and file capabilities (binary, exact) are kept; trusted.*, security.selinux, system.* never reach the host', async () => {
  await using runtime = await temporaryRuntime();
  const setuidCap = capability(2, 1 << 7); // cap_setuid: the 0x80 byte a UTF-8 decoder would mangle
  const entries: RawEntry[] = [
    { name: 'ping', mode: 0o755, content: 'binary', pax: { 'SCHILY.xattr.security.capability': setuidCap, 'SCHILY.xattr.user.note': 'kept' } },
    { name: 'v3-root0', mode: 0o755, content: 'x', pax: { 'SCHILY.xattr.security.capability': capability(3, 1 << 13, 0) } },
    { name: 'v3-root1000', mode: 0o755, content: 'x', pax: { 'SCHILY.xattr.security.capability': capability(3, 1 << 21, 1000) } },
    { name: 'bad-cap', mode: 0o755, content: 'x', pax: { 'SCHILY.xattr.security.capability': Buffer.from([0xff, 0xff]) } },
    {
      name: 'dir/',
      type: '5',
      mode: 0o755,
      pax: {
        'SCHILY.xattr.trusted.overlay.redirect': '/etc',
        'SCHILY.xattr.trusted.overlay.opaque': 'y',
        'SCHILY.xattr.trusted.berth': 'evil',
        'SCHILY.xattr.user.dir': 'kept',
      },
    },
    {
      name: 'labelled',
      content: 'x',
      pax: {
        'SCHILY.xattr.security.selinux': 'system_u:object_r:shadow_t:s0',
        'SCHILY.xattr.security.ima': Buffer.from([3, 2, 1]),
        'SCHILY.xattr.system.posix_acl_access': Buffer.from([2, 0, 0, 0]),
        'SCHILY.xattr.trusted.overlay.metacopy': '',
      },
    },
    // a user.* attribute on a symlink (the kernel refuses those): skipped, not a failed pull
    { name: 'link', type: '2', linkname: 'ping', pax: { 'SCHILY.xattr.user.on-link': 'x' } },
    { name: 'suid', mode: 0o4755, content: 'x' },
    { name: 'sgid-dir/', type: '5', mode: 0o2775 },
  ];
  const image = await runtime.images.pull(await pushRaw('xattrs:1', entries));
  const layer = image.layerPaths[0]!;
  const addon = nativeAddon();
  const names = (path: string) => addon.listXattrs(path).sort();
  assert.deepEqual(addon.getXattr(join(layer, 'ping'), 'security.capability'), setuidCap);
  assert.equal(addon.getXattr(join(layer, 'ping'), 'user.note')?.toString(), 'kept');
  assert.deepEqual(addon.getXattr(join(layer, 'v3-root0'), 'security.capability'), capability(2, 1 << 13), 'revision 3 with root uid 0 is stored as revision 2');
  assert.equal(addon.getXattr(join(layer, 'v3-root1000'), 'security.capability'), null);
  assert.equal(addon.getXattr(join(layer, 'bad-cap'), 'security.capability'), null);
  assert.deepEqual(names(join(layer, 'dir')), ['user.dir']);
  assert.deepEqual(names(join(layer, 'labelled')), []);
  assert.equal(readFileSync(join(layer, 'ping'), 'utf8'), 'binary');
  // set-id bits are kept, with root as the owner
  const suid = statSync(join(layer, 'suid'));
  assert.equal(suid.mode & 0o7777, 0o4755);
  assert.equal(suid.uid, 0);
  assert.equal(statSync(join(layer, 'sgid-dir')).mode & 0o7777, 0o2775);
});

test('a volume filled from a hostile image: links stay links, targets resolve inside the image, no devices, set-id and capabilities as the policy says', async () => {
  await using runtime = await temporaryRuntime();
  const cap = capability(2, 1 << 13);
  const ref = await pushRaw('volume-fill:1', [
    { name: 'data/', type: '5', mode: 0o755 },
    { name: 'data/shadow-link', type: '2', linkname: '../../../../../../etc/shadow' },
    { name: 'data/abs-link', type: '2', linkname: '/etc/passwd' },
    { name: 'data/suid', mode: 0o4755, content: 'suid' },
    { name: 'data/ping', mode: 0o755, content: 'ping', pax: { 'SCHILY.xattr.security.capability': cap, 'SCHILY.xattr.user.x': 'y' } },
    { name: 'data/mem', type: '3', devmajor: 1, devminor: 1, mode: 0o666 },
    { name: 'data/sda', type: '4', devmajor: 8, devminor: 0, mode: 0o666 },
    { name: 'data/fifo', type: '6', mode: 0o600 },
    { name: 'etc-alias', type: '2', linkname: '/etc' },
    { name: 'up-alias', type: '2', linkname: '../../../../../../../etc' },
  ]);
  await runtime.images.pull(ref, { allowDevices: true });
  const mounts = [
    { type: 'volume' as const, source: 'data', target: '/data' },
    { type: 'volume' as const, source: 'etc-abs', target: '/etc-alias' },
    { type: 'volume' as const, source: 'etc-up', target: '/up-alias' },
  ];
  const hostShadow = statSync('/etc/shadow', { throwIfNoEntry: false });
  const run = await Container.run(ref, ['true'], { runtime, mounts });
  assert.equal(run.exitCode, 0, run.stderr);
  const data = (await runtime.volumes.get('data')).mountpoint;
  assert.deepEqual(readdirSync(data).sort(), ['abs-link', 'fifo', 'ping', 'shadow-link', 'suid'], 'no device node was copied');
  assert.equal(readlinkSync(join(data, 'shadow-link')), '../../../../../../etc/shadow');
  assert.equal(readlinkSync(join(data, 'abs-link')), '/etc/passwd');
  assert.ok(lstatSync(join(data, 'fifo')).isFIFO());
  assert.equal(statSync(join(data, 'suid')).mode & 0o7777, 0o4755);
  assert.deepEqual(nativeAddon().getXattr(join(data, 'ping'), 'security.capability'), cap);
  assert.equal(nativeAddon().getXattr(join(data, 'ping'), 'user.x')?.toString(), 'y');
  // a target reached through a symlink (absolute or climbing) is the image's /etc, never the host's
  const busyboxPasswd = 'root:x:0:0:root:/root:/bin/sh\n';
  for (const volume of ['etc-abs', 'etc-up']) {
    const dir = (await runtime.volumes.get(volume)).mountpoint;
    assert.ok(!readdirSync(dir).includes('shadow'), `${volume} holds the container's /etc, not the host's`);
    assert.equal(readFileSync(join(dir, 'passwd'), 'utf8'), busyboxPasswd);
  }
  if (hostShadow) assert.equal(statSync('/etc/shadow').mtimeMs, hostShadow.mtimeMs);
});
