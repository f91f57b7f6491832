import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Runtime } from '../lib/index.js';
import { crashStartsOn, reopenAfterCrashes } from './helpers-process.js';
import { alive, BUSYBOX, cgroupsNamed, killMonitorAndReopen, temporaryRuntime, waitUntil } from './helpers.js';

test('kill -9 of a monitor: the container dies with it and the next open records it as exited', async () => {
  await using runtime = await temporaryRuntime();
  const container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sleep', '300'] });
  await container.start();
  await killMonitorAndReopen(runtime, container);
  assert.deepEqual(cgroupsNamed([container.id]), []);
  // and it can start again
  await container.start();
  assert.equal((await container.inspect()).state.status, 'running');
  await container.remove({ force: true });
});

test('kill -9 of the Node process mid-start and of the monitor: Runtime.open cleans everything', async () => {
  await using runtime = await temporaryRuntime();
  await runtime.images.get(BUSYBOX); // built once, so the kills land in start()
  const delays = [0, 1, 2, 4, 8, 16, 32];
  await crashStartsOn(runtime.root, delays);

  const containers = await reopenAfterCrashes(runtime.root, delays.length);
  assert.deepEqual(cgroupsNamed(containers.map((c) => c.id)), [], 'no cgroup remains');
  for (const container of containers) await container.remove();
  assert.deepEqual(readdirSync(join(runtime.root, 'containers')), []);
  assert.deepEqual(readdirSync(join(runtime.root, 'names')), []);
});

test('Runtime.open removes half-created containers and dangling names', async () => {
  await using runtime = await temporaryRuntime();
  const id = 'a'.repeat(64);
  mkdirSync(join(runtime.root, 'containers', id)); // crashed before config.json was written
  symlinkSync('b'.repeat(64), join(runtime.root, 'names', 'dangling'));
  await Runtime.open({ root: runtime.root });
  assert.deepEqual(readdirSync(join(runtime.root, 'containers')), []);
  assert.deepEqual(readdirSync(join(runtime.root, 'names')), []);
});

test('liveness: a stopped (SIGSTOP) monitor is alive, a monitor record from an older berth (no lock) is checked by pid, a dead one is recorded', async () => {
  await using runtime = await temporaryRuntime();
  const container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sleep', '300'] });
  await container.start();
  const { monitorPid } = (await container.inspect()).state;
  const monitorJson = join(runtime.root, 'containers', container.id, 'monitor.json');
  const record = JSON.parse(readFileSync(monitorJson, 'utf8')) as Record<string, unknown>;
  assert.equal(record.livenessLock, true);
  // while the command runs the monitor marks its lock file (size 1): list() then reads no state file
  const lockFile = join(runtime.root, 'containers', container.id, 'monitor.lock');
  assert.equal(statSync(lockFile).size, 1);

  // a frozen monitor still holds its lock: still running, from a fresh open too
  process.kill(monitorPid!, 'SIGSTOP');
  try {
    const reopened = await Runtime.open({ root: runtime.root });
    assert.deepEqual((await reopened.containers.list()).map((c) => c.id), [container.id]);
  } finally {
    process.kill(monitorPid!, 'SIGCONT');
  }

  // a record as an older monitor wrote it (no livenessLock): checked by pid and start time (an older
  // monitor never marked its lock file running either: size 0, so list() reads monitor.json)
  const { livenessLock: _, ...older } = record;
  writeFileSync(monitorJson, JSON.stringify(older));
  truncateSync(lockFile, 0);
  assert.deepEqual((await runtime.containers.list()).map((c) => c.id), [container.id]);
  // … and with a start time that is not the monitor's (its pid reused): dead, recorded as such
  writeFileSync(monitorJson, JSON.stringify({ ...older, monitorStartTime: 1 }));
  const reopened = await Runtime.open({ root: runtime.root });
  assert.deepEqual(await reopened.containers.list(), []);
  // (the monitor, alive in truth, then sees its container killed and records that exit over berth's 255)
  assert.equal((await container.inspect()).state.status, 'exited');
  await waitUntil(() => !alive(monitorPid!), 'the monitor to end once its container is killed');
  await container.remove({ force: true });
});
