// The rootless phase itself (test/rootless-phase.mjs), checked from inside it:
// this file runs as the unprivileged test user. It holds whatever berth does:
// the user, its environment and subordinate ids are what the other
// rootless-user-* files rely on, and rootless podman on the same user proves
// that newuidmap/newgidmap, the ranges and XDG_RUNTIME_DIR work here.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { requireTool } from './image-helpers.js';
import { ROOTLESS_USER, expectedUidMap, mapLines, outboundAddress, rootlessPodman } from './rootless-helpers.js';

test('the rootless phase runs as the test user, in a clean environment of its own', () => {
  assert.equal(process.getuid!(), ROOTLESS_USER.uid);
  assert.equal(process.geteuid!(), ROOTLESS_USER.uid);
  assert.equal(process.getgid!(), ROOTLESS_USER.gid);
  assert.equal(process.env.HOME, ROOTLESS_USER.home);
  assert.equal(process.env.USER, ROOTLESS_USER.name);
  const runtimeDir = statSync(process.env.XDG_RUNTIME_DIR!);
  assert.equal(runtimeDir.uid, ROOTLESS_USER.uid, 'XDG_RUNTIME_DIR is the user\'s');
  assert.equal(runtimeDir.mode & 0o777, 0o700);
  for (const key of ['TMPDIR', 'XDG_DATA_HOME', 'XDG_CONFIG_HOME', 'XDG_CACHE_HOME']) {
    const dir = statSync(process.env[key]!);
    assert.equal(dir.uid, ROOTLESS_USER.uid, `${key} is the user's`);
    assert.equal(dir.mode & 0o777, 0o700, `${key} is private`);
  }
  // nothing of the root run leaks in
  assert.equal(process.env.BERTH_TEST_NAMESPACE, undefined);
  assert.equal(process.env.SUDO_USER, undefined);
});

test('the package loads for the test user: the library, its native part and the built-in image\'s host binary', async () => {
  const berth = await import('../lib/index.js');
  assert.equal(typeof berth.Runtime.open, 'function');
  const { nativeAddon, nativeFile } = await import('../lib/native/addon.js');
  assert.equal(typeof nativeAddon(), 'object', 'the N-API module loads');
  for (const helper of ['berth-monitor', 'berth-exec']) assert.ok(statSync(nativeFile(helper)).isFile(), helper);
  assert.ok(statSync('/bin/busybox').isFile());
});

test('rootless podman runs a container as the test user: its root is the user, its other ids the subordinate range', async () => {
  await using podman = await rootlessPodman();
  const { stdout } = await podman.run(['--rm', '--network', 'none', podman.image, 'sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map; id -u']);
  assert.deepEqual(mapLines(stdout), [...expectedUidMap(), ...expectedUidMap(), '0']);
});

test('the outbound address of the phase is reachable from a rootless podman container on slirp4netns', async () => {
  requireTool('/usr/bin/slirp4netns', 'slirp4netns');
  const address = outboundAddress();
  const server = createServer((socket) => socket.end('reached\n'));
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  try {
    const { port } = server.address() as { port: number };
    await using podman = await rootlessPodman();
    const { stdout } = await podman.run(['--rm', '--network', 'slirp4netns', podman.image, 'nc', address, String(port)]);
    assert.equal(stdout, 'reached\n');
  } finally {
    server.close();
  }
});
