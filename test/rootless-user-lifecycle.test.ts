// Lifecycle rootless, as the test user (test/rootless-phase.mjs): restart
// policies re-create the user namespace and keep the container's files, stop
// without cgroups still ends every process of the container, and a monitor
// killed with SIGKILL takes its container along and is recorded by the next
// Runtime.open, as for root.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { alive, BUSYBOX, killMonitorAndReopen, processesMentioning, waitUntil, withDeadline } from './helpers.js';
import { crashStartsOn, reopenAfterCrashes } from './helpers-process.js';
import { rootlessRuntime } from './rootless-helpers.js';

test('restart policy rootless: each run is a new user namespace over the same upper directory', async () => {
  await using runtime = await rootlessRuntime();
  await using container = await runtime.containers.create({
    image: BUSYBOX, restart: 'on-failure:2',
    // each run appends to a file that a non-root user of the container owns (a subordinate id on the host), then fails
    cmd: ['sh', '-c', 'mkdir -p /data && echo run >> /data/runs && chown -R 1000:1000 /data && wc -l < /data/runs; exit 1'],
  });
  await container.start();
  const status = await withDeadline(container.wait(), 'the container to give up restarting');
  assert.equal(status.exitCode, 1);
  const { state } = await container.inspect();
  assert.equal(state.restartCount, 2);
  const counts = [];
  for await (const entry of container.logs()) counts.push(entry.line.trim());
  assert.deepEqual(counts, ['1', '2', '3'], 'the file survived every restart');
});

test('stop without cgroups ends every process of the container, forked ones included', async () => {
  await using runtime = await rootlessRuntime();
  // cmdlines are NUL-separated: `sleep 3017` reads as 'sleep\0' + '3017'
  const sleeps = () => processesMentioning('sleep\u00003017');
  await using container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sh', '-c', 'sleep 3017 & sleep 3017 & wait'] });
  await container.start();
  const { pid } = (await container.inspect()).state;
  await waitUntil(() => sleeps().length >= 2, 'the two sleeps');
  await container.stop({ timeout: 1 });
  assert.equal(alive(pid!), false);
  await waitUntil(() => sleeps().length === 0, 'every process of the container to end');
  assert.equal((await container.inspect()).state.status, 'exited');
});

test('kill -9 of a rootless monitor: the container dies with it, the next open records it, it starts again', async () => {
  await using runtime = await rootlessRuntime();
  const container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sleep', '300'] });
  await container.start();
  const again = await killMonitorAndReopen(runtime, container);
  await again.start();
  assert.equal((await again.inspect()).state.status, 'running');
  await again.remove({ force: true });
  assert.equal(existsSync(join(runtime.root, 'containers', container.id)), false);
  assert.deepEqual(readdirSync(join(runtime.root, 'containers')), []);
});

test('kill -9 of rootless Node processes mid-start and of their monitors: Runtime.open cleans everything', async () => {
  await using runtime = await rootlessRuntime();
  await runtime.images.get(BUSYBOX); // made once, so the kills land in start()
  const delays = [0, 2, 8, 32];
  await crashStartsOn(runtime.root, delays);
  const containers = await reopenAfterCrashes(runtime.root, delays.length);
  for (const container of containers) await container.remove();
  assert.deepEqual(readdirSync(join(runtime.root, 'containers')), [], 'the containers\' files, subordinate ids included, are gone');
});
