// Files a rootless container writes into a named volume or a bind mount land on
// the host owned by the ids its user namespace maps to: container root → the
// test user (2901), container uid 1000 → 200000 + 999. Checked with stat(2)
// on the host side, which the user can do. Runs as the test user (test/rootless-phase.mjs).
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Container, type Runtime } from '../lib/index.js';
import { BUSYBOX } from './helpers.js';
import { hostIdOf, rootlessRuntime, userTemporaryDir } from './rootless-helpers.js';

/** Writes `root.txt` as container root and `app/app.txt` as uid 1000 into the mount at /data, in two containers. */
async function writeAsRootAndApp(runtime: Runtime, mount: { type: 'volume' | 'bind'; source: string }): Promise<void> {
  const mounts = [{ ...mount, target: '/data' }];
  const byRoot = await Container.run(BUSYBOX, ['sh', '-c', 'echo root > /data/root.txt && mkdir /data/app && chown 1000:1000 /data/app'], { runtime, mounts });
  assert.equal(byRoot.exitCode, 0, byRoot.stderr);
  const byApp = await Container.run(BUSYBOX, ['sh', '-c', 'echo app > /data/app/app.txt && stat -c %u:%g /data/root.txt /data/app/app.txt'], { runtime, mounts, user: '1000:1000' });
  assert.equal(byApp.exitCode, 0, byApp.stderr);
  assert.equal(byApp.stdout, '0:0\n1000:1000\n', 'inside, the container sees its own ids');
}

/** Asserts the host owners of what {@link writeAsRootAndApp} wrote below `dir`. */
function assertHostOwners(dir: string): void {
  const root = statSync(join(dir, 'root.txt'));
  assert.deepEqual([root.uid, root.gid], [hostIdOf(0), hostIdOf(0)], 'container root wrote as the test user');
  const app = statSync(join(dir, 'app', 'app.txt'));
  assert.deepEqual([app.uid, app.gid], [hostIdOf(1000), hostIdOf(1000)], 'container uid 1000 wrote as 200999');
  assert.equal(readFileSync(join(dir, 'root.txt'), 'utf8'), 'root\n');
}

test('a named volume: files written by container root and by uid 1000 are owned on the host by 2901 and 200999', async () => {
  await using runtime = await rootlessRuntime();
  const volume = await runtime.volumes.create({ name: 'data' });
  await writeAsRootAndApp(runtime, { type: 'volume', source: 'data' });
  assertHostOwners(volume.mountpoint);
  // the next container sees the same files, with the same owners
  const again = await Container.run(BUSYBOX, ['sh', '-c', 'stat -c "%n %u" /data/root.txt /data/app/app.txt'], {
    runtime, mounts: [{ type: 'volume', source: 'data', target: '/data' }],
  });
  assert.equal(again.stdout, '/data/root.txt 0\n/data/app/app.txt 1000\n');
});

test('a bind mount of the user\'s directory: container root is the user there, never host root; uid 1000 is 200999', async () => {
  await using runtime = await rootlessRuntime();
  using dir = userTemporaryDir('berth-bind-');
  chmodSync(dir.path, 0o755);
  await writeAsRootAndApp(runtime, { type: 'bind', source: dir.path });
  assertHostOwners(dir.path);
  // the user's own files are root's inside the container; a host file of another id is nobody's
  const seen = await Container.run(BUSYBOX, ['sh', '-c', 'stat -c %u /data; stat -c %u /etc/passwd-host'], {
    runtime, mounts: [{ type: 'bind', source: dir.path, target: '/data' }, { type: 'bind', source: '/etc/passwd', target: '/etc/passwd-host', readonly: true }],
  });
  assert.equal(seen.stdout, '0\n65534\n', 'the user\'s directory is root\'s, host root\'s file is the overflow id');
  const write = await Container.run(BUSYBOX, ['sh', '-c', 'echo x >> /etc/passwd-host'], {
    runtime, mounts: [{ type: 'bind', source: '/etc/passwd', target: '/etc/passwd-host' }],
  });
  assert.notEqual(write.exitCode, 0, 'container root cannot write a host root file even through a writable bind mount');
  assert.ok(!readFileSync('/etc/passwd', 'utf8').includes('\nx\n'));
});
