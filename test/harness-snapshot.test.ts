import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidStateError, NotFoundError, Wait } from '../lib/index.js';
import { BUSYBOX, temporaryRuntime } from './helpers.js';

const SUMS = 'cd /data && find . -type f | sort | xargs md5sum';

test('snapshot() and reset() of 100 MB: changes since the snapshot are gone, the data set is back, in milliseconds', async () => {
  await using runtime = await temporaryRuntime();
  await using db = await runtime.containers.create({
    image: BUSYBOX, init: true, cmd: ['sh', '-c', 'mkdir -p /data; touch /data/.up; exec sleep 600'],
    waitFor: Wait.forSuccessfulCommand(['test', '-f', '/data/.up']),
  });
  await db.start();
  // the data set: 100 files of 1 MiB, and a tree
  const seed = await db.exec(['sh', '-c', 'mkdir -p /data/tree/a/b && for i in $(seq 1 100); do dd if=/dev/urandom of=/data/f$i bs=1048576 count=1 2>/dev/null; done; echo x > /data/tree/a/b/leaf']);
  assert.equal(seed.exitCode, 0, seed.stderr);
  const before = (await db.exec(['sh', '-c', SUMS])).stdout;
  assert.equal(before.trim().split('\n').length, 102); // 100 files, the leaf, .up

  let began = performance.now();
  const seeded = await db.snapshot();
  const snapshotMs = performance.now() - began;
  assert.equal((await db.inspect()).state.status, 'running', 'started again');
  assert.equal((await db.exec(['sh', '-c', SUMS])).stdout, before, 'the snapshot shows the same files');

  // a test changes the data: deletes, overwrites, adds, removes a whole tree
  const change = await db.exec(['sh', '-c', 'rm /data/f1 /data/f2 && echo changed > /data/f3 && dd if=/dev/zero of=/data/new bs=1048576 count=10 2>/dev/null && rm -r /data/tree && mkdir /data/tree && echo other > /data/tree/x']);
  assert.equal(change.exitCode, 0, change.stderr);
  assert.notEqual((await db.exec(['sh', '-c', SUMS])).stdout, before);

  began = performance.now();
  await db.reset(seeded);
  const resetRunningMs = performance.now() - began;
  assert.equal((await db.exec(['sh', '-c', SUMS])).stdout, before, 'every change undone, the removed tree back');

  // a later snapshot, then back past it to the first
  await db.exec(['sh', '-c', 'echo later > /data/later']);
  const later = await db.snapshot();
  assert.deepEqual(db.snapshots().map((s) => s.id), [seeded.id, later.id]);
  await db.reset(seeded);
  assert.deepEqual(db.snapshots().map((s) => s.id), [seeded.id]);
  assert.equal((await db.exec(['sh', '-c', SUMS])).stdout, before);

  // stopped: only the filesystem work
  await db.exec(['sh', '-c', 'rm -r /data/tree; echo y > /data/f4']);
  await db.kill();
  await db.wait();
  began = performance.now();
  await db.reset();
  const resetStoppedMs = performance.now() - began;
  await db.start();
  assert.equal((await db.exec(['sh', '-c', SUMS])).stdout, before);
  console.log(`# 100 MiB data set: snapshot (stop, start) ${snapshotMs.toFixed(1)} ms; reset of a running container (kill, reset, start) ${resetRunningMs.toFixed(1)} ms; reset of a stopped one ${resetStoppedMs.toFixed(1)} ms`);

  // back to the image itself
  await db.reset('image');
  assert.deepEqual(db.snapshots(), []);
  assert.equal((await db.exec(['sh', '-c', 'ls -A /data'])).stdout, '.up\n');
});

test('reset: an unknown snapshot is a NotFoundError and changes nothing; commit refuses a container with snapshots', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sh', '-c', 'echo kept > /kept'] });
  await container.start();
  await container.wait();
  const snapshot = await container.snapshot();
  await assert.rejects(container.reset('0123456789abcdef'), NotFoundError);
  await assert.rejects(container.reset(42 as never), TypeError);
  assert.deepEqual(container.snapshots(), [snapshot]);
  await assert.rejects(container.commit(), InvalidStateError);
  // the snapshot is the container's filesystem for exec-less readers too
  const chunks: Buffer[] = [];
  for await (const chunk of await container.copyFrom('/kept')) chunks.push(chunk as Buffer);
  assert.ok(Buffer.concat(chunks).includes('kept\n'));
  const again = await runtime.containers.get(container.id);
  assert.deepEqual(again.snapshots(), [snapshot], 'kept in config.json');
});
