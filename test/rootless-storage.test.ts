// The rootless runtime's storage, run for real as the unprivileged test user
// (setpriv) with its /etc/subuid ranges: berth-exec userns-files through a
// real user namespace (chown, chmod, capabilities, removal), layers unpacked
// in the user namespace's view from hostile tars, image and volume removal
// of trees owned by subordinate ids, and the typed refusals.
import assert from 'node:assert/strict';
import { chownSync, existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { nativeAddon } from '../lib/native/addon.js';
import { makeTar } from './helpers-tar.js';
import { asTestUser, rootlessUnavailable, TEST_USER, userDirectory } from './rootless-root-helpers.js';

const unavailable = rootlessUnavailable();
if (unavailable) console.log(`# skipping the rootless storage tests: ${unavailable}`);
const options = { skip: unavailable };

/** The host id of a container id of the test user's maps (0 → the user, n ≥ 1 → subordinate id n - 1 + start). */
const host = (id: number) => (id === 0 ? TEST_USER.uid : TEST_USER.subStart + id - 1);

let work: string;
before(() => {
  if (!unavailable) work = userDirectory('berth-rootless-');
});
after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

async function writeTar(path: string, entries: Parameters<typeof makeTar>[0]): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of makeTar(entries)) chunks.push(chunk as Buffer);
  writeFileSync(path, Buffer.concat(chunks));
  chownSync(path, TEST_USER.uid, TEST_USER.uid);
}

/** A directory of the test user's, with `files` (relative paths) in it. */
function userTree(name: string, files: string[]): string {
  const dir = join(work, name);
  mkdirSync(dir);
  for (const file of files) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), 'x');
  }
  for (const entry of [dir, ...readdirSync(dir, { recursive: true }).map((rel) => join(dir, String(rel)))]) chownSync(entry, TEST_USER.uid, TEST_USER.uid);
  return dir;
}

test('userns-files: chown to subordinate ids, chmod after chown keeps set-id bits, capabilities stored for the user namespace', options, () => {
  const dir = userTree('ops', ['bin/ping', 'home/app/notes']);
  const capNetRaw = Buffer.alloc(20);
  capNetRaw.writeUInt32LE(0x02000001, 0); // revision 2, effective
  capNetRaw.writeUInt32LE(1 << 13, 4); // CAP_NET_RAW permitted
  const answer = asTestUser({
    step: 'file-ops', dir, ops: [
      { op: 'chown', path: 'home/app', uid: 1000, gid: 1000 },
      { op: 'chmod', path: 'home/app', mode: 0o700 },
      { op: 'chown', path: 'home/app/notes', uid: 1000, gid: 1000 },
      { op: 'chown', path: 'bin/ping', uid: 0, gid: 5 },
      { op: 'chmod', path: 'bin/ping', mode: 0o4755 },
      { op: 'setcap', path: 'bin/ping', value: capNetRaw.toString('hex') },
    ],
  });
  assert.equal(answer.ok, true, JSON.stringify(answer.error));
  const app = lstatSync(join(dir, 'home/app'));
  assert.deepEqual([app.uid, app.gid, app.mode & 0o7777], [host(1000), host(1000), 0o700]);
  assert.equal(lstatSync(join(dir, 'home/app/notes')).uid, host(1000));
  const ping = lstatSync(join(dir, 'bin/ping'));
  assert.deepEqual([ping.uid, ping.gid, ping.mode & 0o7777], [TEST_USER.uid, host(5), 0o4755]);
  // written inside the user namespace: revision 3, its root is the test user
  const cap = nativeAddon().getXattr(join(dir, 'bin/ping'), 'security.capability')!;
  assert.equal(cap.length, 24);
  assert.equal(cap.readUInt32LE(0) >>> 24, 3);
  assert.equal(cap.readUInt32LE(20), TEST_USER.uid);
});

test('userns-files as an attacker: paths through symlinks, absolute paths and .. reach nothing outside the directory', options, () => {
  // the victim belongs to the test user, so a chown that followed a link would succeed
  const victim = userTree('victim', ['file']);
  const dir = userTree('attack', ['inside']);
  symlinkSync(victim, join(dir, 'escape'));
  symlinkSync(join(victim, 'file'), join(dir, 'escape-file'));
  for (const link of ['escape', 'escape-file']) lchownSync(join(dir, link), TEST_USER.uid, TEST_USER.uid);
  for (const path of ['escape/file', '../victim/file', join(victim, 'file'), 'escape/.', '/proc/self/root/etc/passwd']) {
    const answer = asTestUser({ step: 'file-ops', dir, ops: [{ op: 'chown', path, uid: 1000, gid: 1000 }] });
    assert.equal(answer.ok, false, path);
    assert.match(answer.error!.code!, /^(ELOOP|EXDEV)$/, path);
    assert.match(answer.error!.message, /failed at step 'file-op': openat2 /);
  }
  // the last component is acted on itself: the symlink gets the owner, its target does not
  const chowned = asTestUser({ step: 'file-ops', dir, ops: [{ op: 'chown', path: 'escape-file', uid: 7, gid: 7 }] });
  assert.equal(chowned.ok, true, JSON.stringify(chowned.error));
  assert.equal(lstatSync(join(dir, 'escape-file')).uid, host(7));
  // and a chmod or capability never goes through one
  for (const op of [{ op: 'chmod', path: 'escape-file', mode: 0o4777 }, { op: 'setcap', path: 'escape-file', value: '0100000200000000' }]) {
    const answer = asTestUser({ step: 'file-ops', dir, ops: [op] });
    assert.equal(answer.ok, false, op.op);
  }
  for (const entry of [victim, join(victim, 'file')]) {
    const stats = lstatSync(entry);
    assert.deepEqual([stats.uid, stats.gid], [TEST_USER.uid, TEST_USER.uid], entry);
  }
  assert.equal(lstatSync(join(victim, 'file')).mode & 0o7777, 0o644);
});

test('userns-files remove-tree: a tree of private directories of subordinate ids goes; the caller alone could not remove it', options, () => {
  const dir = userTree('tree', ['a/b/c', 'a/d', 'e']);
  const ops = ['a/b/c', 'a/b', 'a/d', 'a', 'e'].flatMap((path) => [
    { op: 'chown', path, uid: 999, gid: 999 },
    { op: 'chmod', path, mode: path.includes('/') && path !== 'a/b' ? 0o600 : 0o700 },
  ]);
  assert.equal(asTestUser({ step: 'file-ops', dir, ops }).ok, true);
  assert.equal(lstatSync(join(dir, 'a')).uid, host(999));
  const removed = asTestUser({ step: 'remove-tree', dir });
  assert.equal(removed.ok, true, JSON.stringify(removed.error));
  assert.equal(existsSync(dir), false);
  // a missing directory is not an error (rm -rf)
  assert.equal(asTestUser({ step: 'remove-tree', dir }).ok, true);
});

test('rootless runtime: default root under XDG_DATA_HOME, runtime dir under XDG_RUNTIME_DIR, info() reports the maps and cgroups', options, () => {
  const data = join(work, 'xdg-data');
  const run = join(work, 'xdg-run');
  for (const dir of [data, run]) {
    mkdirSync(dir);
    chownSync(dir, TEST_USER.uid, TEST_USER.uid);
  }
  const answer = asTestUser({ step: 'open' }, { XDG_DATA_HOME: data, XDG_RUNTIME_DIR: run });
  assert.equal(answer.ok, true, JSON.stringify(answer.error));
  const info = answer.info as Record<string, unknown>;
  assert.equal(info.root, join(data, 'berth'));
  assert.equal(info.rootless, true);
  assert.equal(info.runtimeDir, join(run, 'berth'));
  const maps = {
    uidMap: [{ containerId: 0, hostId: TEST_USER.uid, size: 1 }, { containerId: 1, hostId: TEST_USER.subStart, size: TEST_USER.subCount }],
    gidMap: [{ containerId: 0, hostId: TEST_USER.uid, size: 1 }, { containerId: 1, hostId: TEST_USER.subStart, size: TEST_USER.subCount }],
    mapWith: 'newuidmap',
  };
  assert.deepEqual(info.idMaps, maps);
  assert.deepEqual(answer.maps, maps);
  assert.equal(typeof (info.cgroups as { delegated: boolean }).delegated, 'boolean');
  assert.equal(lstatSync(join(data, 'berth')).mode & 0o777, 0o700);
  assert.equal(lstatSync(join(run, 'berth')).mode & 0o777, 0o700);
});

test('rootless refusals: limits without delegation, bridge networks; nothing is created', options, () => {
  const root = join(work, 'refusals');
  const opened = asTestUser({ step: 'open', root });
  const delegated = ((opened.info as Record<string, unknown>).cgroups as { delegated: boolean }).delegated;
  const answer = asTestUser({ step: 'refusals', root });
  assert.equal(answer.ok, true, JSON.stringify(answer.error));
  const errors = answer.errors as Record<string, { name: string; code: string; message: string } | null>;
  for (const name of ['bridge', 'network']) {
    assert.equal(errors[name]?.name, 'RootlessUnsupportedError', name);
    assert.equal(errors[name]!.code, 'ERR_ROOTLESS_UNSUPPORTED');
    assert.match(errors[name]!.message, /bridge networks need root .* Use network 'none', 'slirp4netns' \(outbound access\), or published ports/);
  }
  if (delegated) {
    console.log('# this user has a delegated cgroup here: the limit refusals are not reachable');
  } else {
    assert.match(errors.memory!.message, /^containers\.create: memory is a limit that needs a cgroup, and this rootless runtime has none .*Delegate=yes/);
    assert.match(errors.pids!.message, /^containers\.create: pidsLimit is a limit/);
    assert.equal(errors.memory!.code, 'ERR_ROOTLESS_UNSUPPORTED');
  }
  assert.equal(answer.containers, 0);
  assert.equal(answer.networks, 0);
  assert.deepEqual(readdirSync(join(root, 'images')), []); // refused before the image was even looked at
});

test('rootless unpack: owners in the user namespace\'s view, set-id bits, whiteouts, opaque dirs, devices skipped; removal of the image', options, async () => {
  const root = join(work, 'unpack');
  const tar = join(work, 'good.tar');
  await writeTar(tar, [
    { name: 'etc/', type: 'directory', mode: 0o755, uid: 0, gid: 0 },
    { name: 'etc/hostname', mode: 0o644, uid: 0, gid: 0, content: 'box\n' },
    { name: 'home/app/', type: 'directory', mode: 0o555, uid: 1000, gid: 1000 },
    { name: 'home/app/tool', mode: 0o4755, uid: 1000, gid: 1000, content: '#!/bin/sh\n' },
    { name: 'home/app/link', type: 'symlink', linkname: 'tool', uid: 1000, gid: 1000 },
    { name: 'home/app/hard', type: 'link', linkname: 'home/app/tool', uid: 1000, gid: 1000 },
    { name: 'run/', type: 'directory', mode: 0o755, uid: 0, gid: 0 },
    { name: 'run/fifo', type: 'fifo', mode: 0o600, uid: 5, gid: 5 },
    { name: 'dev/', type: 'directory', mode: 0o755, uid: 0, gid: 0 },
    { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666, uid: 0, gid: 0 },
    { name: 'opaque/.wh..wh..opq', mode: 0o644, uid: 0, gid: 0 },
    { name: '.wh.gone', mode: 0o644, uid: 0, gid: 0 },
  ]);
  const imported = asTestUser({ step: 'import', root, tar, ref: 'localhost/rootless-good:1' });
  assert.equal(imported.ok, true, JSON.stringify(imported.error));
  const diff = (imported.layers as string[])[0]!;
  const stat = (rel: string) => lstatSync(join(diff, rel));
  assert.deepEqual([stat('etc/hostname').uid, stat('etc/hostname').gid], [TEST_USER.uid, TEST_USER.uid]);
  assert.deepEqual([stat('home/app').uid, stat('home/app').mode & 0o7777], [host(1000), 0o555]);
  assert.deepEqual([stat('home/app/tool').uid, stat('home/app/tool').gid, stat('home/app/tool').mode & 0o7777], [host(1000), host(1000), 0o4755]);
  assert.equal(stat('home/app/link').uid, host(1000));
  assert.equal(stat('home/app/hard').ino, stat('home/app/tool').ino);
  assert.equal(stat('run/fifo').uid, host(5));
  assert.equal(existsSync(join(diff, 'dev/null')), false); // skipped, as Podman does rootless
  assert.equal(stat('gone').isCharacterDevice() && stat('gone').rdev === 0, true);
  assert.equal(nativeAddon().getXattr(join(diff, 'opaque'), 'user.overlay.opaque')?.toString(), 'y');
  // removing the image removes its layer, files of subordinate ids and a 0555 directory included
  const removed = asTestUser({ step: 'remove-image', root, ref: 'localhost/rootless-good:1' });
  assert.equal(removed.ok, true, JSON.stringify(removed.error));
  assert.equal(existsSync(diff), false);
  assert.deepEqual(readdirSync(join(root, 'layers')), []);
});

test('rootless unpack as an attacker: the chown list never follows a symlink out of the layer; unmapped owners refuse the layer', options, async () => {
  const root = join(work, 'hostile');
  const victim = userTree('hostile-victim', ['file']);
  // entries that make a directory (owned by container uid 5, so its chown is queued), then replace it by a symlink to the victim
  const swap = join(work, 'swap.tar');
  await writeTar(swap, [
    { name: 'd/', type: 'directory', mode: 0o700, uid: 5, gid: 5 },
    { name: 'd/file', mode: 0o4777, uid: 5, gid: 5, content: 'x' },
    { name: 'd', type: 'symlink', linkname: victim, uid: 0, gid: 0 },
    { name: 'other', mode: 0o644, uid: 7, gid: 7, content: 'y' },
  ]);
  const swapped = asTestUser({ step: 'import', root, tar: swap, ref: 'localhost/swap:1' });
  assert.equal(swapped.ok, true, JSON.stringify(swapped.error));
  const diff = (swapped.layers as string[])[0]!;
  assert.equal(lstatSync(join(diff, 'd')).isSymbolicLink(), true);
  assert.equal(lstatSync(join(diff, 'other')).uid, host(7));
  // writing through a symlink the layer made is refused outright
  const through = join(work, 'through.tar');
  await writeTar(through, [
    { name: 'l', type: 'symlink', linkname: victim, uid: 5, gid: 5 },
    { name: 'l/file', mode: 0o4777, uid: 5, gid: 5, content: 'x' },
  ]);
  const refused = asTestUser({ step: 'import', root, tar: through, ref: 'localhost/through:1' });
  assert.equal(refused.ok, false);
  assert.equal(refused.error!.name, 'LayerUnpackError');
  assert.match(refused.error!.message, /would be written through the symlink 'l'/);
  for (const entry of [victim, join(victim, 'file')]) {
    const stats = lstatSync(entry);
    assert.deepEqual([stats.uid, stats.gid], [TEST_USER.uid, TEST_USER.uid], entry);
    assert.equal(stats.mode & 0o7000, 0, entry);
  }
  // an owner beyond the subordinate ids: a typed error naming it, nothing kept
  const before = readdirSync(join(root, 'layers')).sort();
  const unmapped = join(work, 'unmapped.tar');
  await writeTar(unmapped, [
    { name: 'ok', mode: 0o644, uid: 1000, gid: 1000, content: 'x' },
    { name: 'far', mode: 0o644, uid: 100000, gid: 0, content: 'x' },
  ]);
  const far = asTestUser({ step: 'import', root, tar: unmapped, ref: 'localhost/far:1' });
  assert.equal(far.ok, false);
  assert.equal(far.error!.name, 'RootlessUnsupportedError');
  assert.equal(far.error!.code, 'ERR_ROOTLESS_UNSUPPORTED');
  assert.equal(far.error!.path, 'far');
  assert.match(far.error!.message, /^layer entry 'far' is owned by uid 100000, which this user's id map does not hold \(container uids 0-65536: .*usermod --add-subuids 100000-165535 <user>/);
  assert.deepEqual(readdirSync(join(root, 'layers')).sort(), before);
});

test('rootless volumes: a volume holding private files of subordinate ids is removed', options, () => {
  const root = join(work, 'volumes');
  const made = asTestUser({
    step: 'volume', root, name: 'data', ops: [
      { op: 'chown', path: 'private/secret', uid: 999, gid: 999 },
      { op: 'chmod', path: 'private/secret', mode: 0o600 },
      { op: 'chown', path: 'private', uid: 999, gid: 999 },
      { op: 'chmod', path: 'private', mode: 0o700 },
    ],
  });
  assert.equal(made.ok, true, JSON.stringify(made.error));
  assert.equal(lstatSync(join(made.data as string, 'private')).uid, host(999));
  const removed = asTestUser({ step: 'remove-volume', root, name: 'data' });
  assert.equal(removed.ok, true, JSON.stringify(removed.error));
  assert.deepEqual(readdirSync(join(root, 'volumes')).filter((name) => !name.endsWith('.lock')), []);
});

test('rootless container files: copy in and out (other owners too), export and commit through a user-namespace mount, owners in the container\'s ids; remove with private files of a container user', options, async () => {
  const root = join(work, 'container-files');
  const tar = join(work, 'hello.tar');
  await writeTar(tar, [{ name: 'hello', mode: 0o644, uid: 0, gid: 0, content: 'hi\n' }]);
  const foreignTar = join(work, 'foreign.tar');
  await writeTar(foreignTar, [{ name: 'theirs', mode: 0o644, uid: 1000, gid: 1000, content: 'x' }]);
  const answer = asTestUser({ step: 'container-files', root, tar, foreignTar });
  assert.equal(answer.ok, true, JSON.stringify(answer.error));
  // the built-in image's /home/app belongs to container uid 1000: on disk the subordinate id, in every archive 1000
  assert.deepEqual(answer.copied, { hello: [0, 0, 'hi\n'] });
  assert.deepEqual((answer.app as Record<string, unknown[]>)['app/']?.slice(0, 2), [1000, 1000]);
  assert.deepEqual((answer.exportedApp as unknown[]).slice(0, 2), [1000, 1000]);
  assert.deepEqual(answer.exportedHello, [0, 0, 'hi\n']);
  // an archive owner other than root is given through the user namespace helper
  assert.equal(answer.foreign, null, JSON.stringify(answer.foreign));
  assert.deepEqual(answer.exportedTheirs, [1000, 1000, 'x']);
  // the committed layer holds the copied file as the user's own (container root)
  const layer = (answer.committed as string[])[0]!;
  assert.equal(lstatSync(join(layer, 'hello')).uid, TEST_USER.uid);
  assert.equal(answer.gone, true);
});

test('rootless volume fill from the image: owners given through the user namespace helper', options, () => {
  const root = join(work, 'volume-fill');
  const answer = asTestUser({ step: 'volume-fill', root });
  assert.equal(answer.ok, true, JSON.stringify(answer.error));
  // the built-in image's /home/app: container uid 1000, mode 0755
  const data = lstatSync(answer.data as string);
  assert.deepEqual([data.uid, data.gid, data.mode & 0o7777], [host(1000), host(1000), 0o755]);
  const removed = asTestUser({ step: 'remove-volume', root, name: 'app' });
  assert.equal(removed.ok, true, JSON.stringify(removed.error));
});
