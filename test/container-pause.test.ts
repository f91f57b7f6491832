import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Container } from '../lib/index.js';
import { BUSYBOX, temporaryRuntime, waitUntil } from './helpers.js';

/** The last number the counter wrote to its log. */
async function lastCount(container: Container): Promise<number> {
  for await (const entry of container.logs({ tail: 1 })) return Number(entry.line);
  return 0;
}

test('pause freezes the container (its counter stops advancing) and unpause resumes it', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({
    image: BUSYBOX, cmd: ['sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i; sleep 0.02; done'],
  });
  await container.start();
  await waitUntil(async () => (await lastCount(container)) >= 5, 'the counter to reach 5');

  await container.pause();
  const inspect = await container.inspect();
  assert.equal(inspect.state.status, 'paused');
  assert.equal(inspect.state.paused, true);
  assert.equal(inspect.state.running, true);
  assert.deepEqual((await runtime.containers.list({ status: 'paused' })).map((c) => c.id), [container.id]);
  assert.deepEqual(await runtime.containers.list({ status: 'running' }), []);
  const frozenAt = await lastCount(container);
  await sleep(400);
  assert.equal(await lastCount(container), frozenAt, 'nothing ran while paused');
  await assert.rejects(container.pause(), { name: 'InvalidStateError' });
  await assert.rejects(container.exec(['true']), { name: 'InvalidStateError' });

  await container.unpause();
  assert.equal((await container.inspect()).state.status, 'running');
  assert.equal((await container.inspect()).state.paused, false);
  await waitUntil(async () => (await lastCount(container)) > frozenAt + 5, 'the counter to go on after unpause');
  await assert.rejects(container.unpause(), { name: 'InvalidStateError' });
});

test('a paused container can be stopped and removed', async () => {
  await using runtime = await temporaryRuntime();
  const container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sleep', '60'] });
  await assert.rejects(container.pause(), { name: 'InvalidStateError' });
  await container.start();
  await container.pause();
  // the frozen command cannot handle SIGTERM: stop ends with SIGKILL
  assert.deepEqual(await container.stop({ timeout: 0.3 }), { exitCode: 137, signal: 'SIGKILL', oomKilled: false });
  assert.equal((await container.inspect()).state.status, 'exited');
  await container.start();
  await container.pause();
  await container.remove({ force: true });
  await assert.rejects(runtime.containers.get(container.id), { name: 'NotFoundError' });
});
