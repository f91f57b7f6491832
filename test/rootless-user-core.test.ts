// berth as an unprivileged user sees it (run as the test user by
// test/rootless-phase.mjs): the rootless runtime by default, containers whose
// root is the user and whose other ids are its subordinate range, and run,
// exec, logs, copy and commit working as they do for root.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Container, Runtime, type LogEntry } from '../lib/index.js';
import { BUSYBOX, collectAll, withDeadline } from './helpers.js';
import { makeTar, tarEntries } from './helpers-tar.js';
import { ROOTLESS_USER, expectedUidMap, hostIdOf, mapLines, removeAsUserNamespaceRoot, rootlessRuntime } from './rootless-helpers.js';

test('a runtime opened by a normal user is rootless, with its state under XDG_DATA_HOME by default', async () => {
  const runtime = await Runtime.open();
  try {
    assert.equal(runtime.rootless, true);
    assert.equal(runtime.root, join(process.env.XDG_DATA_HOME!, 'berth'));
    assert.equal(statSync(runtime.root).uid, ROOTLESS_USER.uid);
    assert.equal(statSync(runtime.root).mode & 0o777, 0o700, 'the state root is private');
  } finally {
    removeAsUserNamespaceRoot(runtime.root);
  }
});

test('run: the command\'s exit code and output, as root does', async () => {
  await using runtime = await rootlessRuntime();
  const result = await Container.run(BUSYBOX, ['sh', '-c', 'echo out; echo err >&2; exit 3'], { runtime });
  assert.equal(result.exitCode, 3);
  assert.equal(result.stdout, 'out\n');
  assert.equal(result.stderr, 'err\n');
  assert.deepEqual(await runtime.containers.list({ all: true }), [], 'Container.run removed it');
});

test('the container\'s root is the user: /proc/self/uid_map and gid_map map 0 to it and 1… to its subordinate range', async () => {
  await using runtime = await rootlessRuntime();
  const { exitCode, stdout } = await Container.run(BUSYBOX, ['sh', '-c', 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map'], { runtime });
  assert.equal(exitCode, 0);
  assert.deepEqual(mapLines(stdout), ['0', '0', ...expectedUidMap(), ...expectedUidMap()]);
});

test('exec joins the container\'s user namespace: root there is the user, --user 1000 its subordinate id', async () => {
  await using runtime = await rootlessRuntime();
  await using container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sleep', '600'] });
  await container.start();
  const asRoot = await container.exec(['sh', '-c', 'id -u; cat /proc/self/uid_map; echo err >&2; exit 4']);
  assert.equal(asRoot.exitCode, 4);
  assert.deepEqual(mapLines(asRoot.stdout), ['0', ...expectedUidMap()]);
  assert.equal(asRoot.stderr, 'err\n');
  const asApp = await container.exec(['sh', '-c', 'id -u; touch /tmp/by-app; stat -c %u /tmp/by-app'], { user: '1000:1000' });
  assert.deepEqual(mapLines(asApp.stdout), ['1000', '1000']);
  assert.equal((await container.exec(['tr', 'a-z', 'A-Z'], { stdin: 'stdin too\n' })).stdout, 'STDIN TOO\n');
});

test('logs: stdout and stderr lines, each stream in order (as Docker, no order between the two pipes)', async () => {
  await using runtime = await rootlessRuntime();
  await using container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sh', '-c', 'echo out-1; echo err-1 >&2; echo out-2'] });
  await container.start();
  assert.equal((await withDeadline(container.wait(), 'the container to exit')).exitCode, 0);
  const entries: LogEntry[] = await collectAll(container.logs(), 'the log entries');
  const stream = (name: string) => entries.filter((e) => e.stream === name).map((e) => e.line);
  assert.deepEqual([stream('stdout'), stream('stderr'), entries.length], [['out-1', 'out-2'], ['err-1'], 3]);
  // a second runtime on the same root (another process would do the same)
  const again = await Runtime.open({ root: runtime.root });
  const lines = await collectAll((await again.containers.get(container.id)).logs({ stderr: false }), 'the stdout entries');
  assert.deepEqual(lines.map((e) => e.line), ['out-1', 'out-2']);
});

test('copyTo and copyFrom keep the owners of the container\'s view (files of uid 1000 stay 1000 inside and in the archive)', async () => {
  await using runtime = await rootlessRuntime();
  await using container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sleep', '600'] });
  await container.start();
  const tar = makeTar([
    { name: 'in/', type: 'directory', mode: 0o755, uid: 0, gid: 0 },
    { name: 'in/root.txt', mode: 0o644, uid: 0, gid: 0, content: 'by root\n' },
    { name: 'in/app.txt', mode: 0o644, uid: 1000, gid: 1000, content: 'by app\n' }, // readable: copyFrom reads as the caller
  ]);
  await container.copyTo(tar, '/srv');
  const listing = await container.exec(['sh', '-c', 'cd /srv/in && stat -c "%n %u:%g %a" root.txt app.txt && cat app.txt']);
  assert.equal(listing.stdout, 'root.txt 0:0 644\napp.txt 1000:1000 644\nby app\n');
  const out = await tarEntries(await container.copyFrom('/srv/in'));
  const summary = Object.fromEntries(out.map((e) => [e.name, `${e.uid}:${e.gid} ${e.data.toString()}`]));
  assert.deepEqual(summary, { 'in/': '0:0 ', 'in/app.txt': '1000:1000 by app\n', 'in/root.txt': '0:0 by root\n' });
  // a file private to the container's user 1000 is not the caller's on the host: a typed error that says so
  await container.exec(['sh', '-c', 'echo secret > /srv/in/private && chown 1000:1000 /srv/in/private && chmod 600 /srv/in/private']);
  await assert.rejects(async () => tarEntries(await container.copyFrom('/srv/in')), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'ERR_ROOTLESS_UNSUPPORTED');
    assert.match(error.message, /in\/private: EACCES: a rootless runtime cannot read this file of the container/);
    return true;
  });
});

test('commit: a container\'s changes become an image whose files keep their container owners, and it runs', async () => {
  await using runtime = await rootlessRuntime();
  await using container = await runtime.containers.create({
    image: BUSYBOX, cmd: ['sh', '-c', 'echo committed > /made; chown 1000:1000 /made'],
  });
  await container.start();
  assert.equal((await withDeadline(container.wait(), 'the container to exit')).exitCode, 0);
  const image = await runtime.images.commit(container, { ref: 'localhost/committed:1' });
  const top = image.layerPaths[0]!; // top layer first, as overlayfs takes them
  const onHost = statSync(join(top, 'made'));
  assert.deepEqual([onHost.uid, onHost.gid], [hostIdOf(1000), hostIdOf(1000)], 'stored in the user namespace\'s view: container 1000 is host 200999');
  const { exitCode, stdout } = await Container.run('localhost/committed:1', ['sh', '-c', 'stat -c %u:%g /made; cat /made'], { runtime });
  assert.equal(exitCode, 0);
  assert.equal(stdout, '1000:1000\ncommitted\n');
});
