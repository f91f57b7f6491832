import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import type { Container } from '../lib/index.js';
import { BUSYBOX, cgroupsNamed, temporaryRuntime, waitUntil, withDeadline } from './helpers.js';

async function logLines(container: Container): Promise<string[]> {
  const { logPath } = await container.inspect();
  if (!existsSync(logPath)) return [];
  return readFileSync(logPath, 'utf8').split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { log: string }).log.trim());
}

test('on-failure:3 restarts a failing command exactly 3 times', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({ image: BUSYBOX, restart: 'on-failure:3', cmd: ['sh', '-c', 'echo run; exit 3'] });
  await container.start();
  assert.deepEqual(await withDeadline(container.wait(), 'the container to exit'), { exitCode: 3, signal: null, oomKilled: false });
  const { state } = await container.inspect();
  assert.equal(state.restartCount, 3);
  assert.deepEqual(await logLines(container), ['run', 'run', 'run', 'run']);
  // the monitor removes the cgroups just after it has reported the exit
  await waitUntil(() => cgroupsNamed([container.id]).length === 0, 'the cgroups to go');
});

test('on-failure does not restart a command that succeeds', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({ image: BUSYBOX, restart: 'on-failure', cmd: ['sh', '-c', 'echo once'] });
  await container.start();
  assert.equal((await withDeadline(container.wait(), 'the container to exit')).exitCode, 0);
  assert.deepEqual(await logLines(container), ['once']);
});

test('always survives the command exiting, until stop()', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({ image: BUSYBOX, restart: 'always', cmd: ['sh', '-c', 'echo run; sleep 0.05'] });
  await container.start();
  for (let i = 0; (await logLines(container)).length < 3 && i < 300; i++) await sleep(10);
  assert.ok((await logLines(container)).length >= 3, 'it ran at least three times');
  const running = await container.inspect();
  assert.equal(running.state.status, 'running');
  assert.ok(running.state.restartCount >= 2);
  await container.stop({ timeout: 1 });
  const runs = (await logLines(container)).length;
  await sleep(300);
  assert.equal((await container.inspect()).state.status, 'exited');
  assert.equal((await logLines(container)).length, runs, 'no restart after stop()');
});

test('autoRemove leaves no trace', async () => {
  await using runtime = await temporaryRuntime();
  const container = await runtime.containers.create({ image: BUSYBOX, autoRemove: true, name: 'ephemeral', cmd: ['sh', '-c', 'exit 5'], memory: '64m' });
  await container.start();
  assert.deepEqual(await withDeadline(container.wait(), 'the container to exit'), { exitCode: 5, signal: null, oomKilled: false });
  // the monitor removes it right after reporting the exit
  // (its directory and its name: wait for both, the name may go last)
  const gone = () => !existsSync(join(runtime.root, 'containers', container.id)) && readdirSync(join(runtime.root, 'names')).length === 0;
  for (let i = 0; !gone() && i < 2000; i++) await sleep(10);
  assert.deepEqual(readdirSync(join(runtime.root, 'containers')), []);
  assert.deepEqual(readdirSync(join(runtime.root, 'names')), []);
  assert.deepEqual(cgroupsNamed([container.id]), []);
  await assert.rejects(runtime.containers.get('ephemeral'), { name: 'NotFoundError' });
  // and the name is free again
  await (await runtime.containers.create({ image: BUSYBOX, name: 'ephemeral', cmd: ['true'] })).remove();
});

test('invalid restart options are TypeErrors', async () => {
  await using runtime = await temporaryRuntime();
  await assert.rejects(runtime.containers.create({ image: BUSYBOX, cmd: ['true'], restart: 'sometimes' as never }), TypeError);
  await assert.rejects(runtime.containers.create({ image: BUSYBOX, cmd: ['true'], restart: 'always', autoRemove: true }), /autoRemove cannot be combined/);
});
