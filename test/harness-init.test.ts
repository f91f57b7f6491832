import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Wait, type Container } from '../lib/index.js';
import { BUSYBOX, temporaryRuntime } from './helpers.js';

test('init: true — stop() of busybox httpd ends at SIGTERM, not at the SIGKILL after the timeout', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({
    image: BUSYBOX, init: true, stopTimeout: 30, cmd: ['httpd', '-f', '-p', '80', '-h', '/'], waitFor: Wait.forListeningPorts(80),
  });
  await container.start();
  const { stdout } = await container.exec(['ps', '-o', 'pid,comm']);
  const processes = stdout.trim().split('\n').slice(1).map((line) => line.trim().split(/\s+/));
  assert.deepEqual(processes.filter(([, comm]) => comm !== 'ps'), [['1', 'docker-init'], ['2', 'httpd']]);
  assert.equal((await container.inspect()).config.init, true);
  const began = performance.now();
  const status = await container.stop();
  console.log(`# stop() with init: ${(performance.now() - began).toFixed(0)} ms (stop timeout 30 s)`);
  // 143: httpd died of the SIGTERM berth-init passed on (a SIGKILL would be 137)
  assert.deepEqual(status, { exitCode: 143, signal: null, oomKilled: false });
});

/** The processes in the container (`ps` excluded): [stat, comm] each. */
async function processStates(container: Container): Promise<string[][]> {
  const { stdout } = await container.exec(['sh', '-c', 'for f in /proc/[0-9]*/stat; do cat $f; echo; done']);
  return stdout.split('\n').filter((line) => line.includes(')')).map((line) => {
    const comm = line.slice(line.indexOf('(') + 1, line.lastIndexOf(')'));
    return [line.slice(line.lastIndexOf(')') + 2).split(' ')[0]!, comm];
  }).filter(([, comm]) => !['sh', 'cat'].includes(comm!));
}

/** Starts a container whose first command leaves an orphan (`sleep 0.2`) and then execs `sleep 60`; returns the states once the orphan has exited. */
async function orphanStates(init: boolean): Promise<string[][]> {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({ image: BUSYBOX, init, cmd: ['sh', '-c', 'sh -c "sleep 0.2 &"; exec sleep 60'] });
  await container.start();
  const deadline = performance.now() + 10_000;
  let states = await processStates(container);
  // until the orphan is no longer running (a zombie, or reaped)
  while (states.filter(([state, comm]) => comm === 'sleep' && state !== 'Z').length > 1 && performance.now() < deadline) {
    await sleep(50);
    states = await processStates(container);
  }
  return states;
}

test('init: true — an orphaned grandchild is reaped, not left a zombie', async () => {
  const withInit = await orphanStates(true);
  assert.deepEqual(withInit.filter(([state]) => state === 'Z'), [], JSON.stringify(withInit));
  assert.deepEqual(withInit.map(([, comm]) => comm).sort(), ['docker-init', 'sleep']);
  // the same without init: PID 1 (sleep) never reaps, the orphan stays a zombie
  const without = await orphanStates(false);
  assert.deepEqual(without.filter(([state]) => state === 'Z').map(([, comm]) => comm), ['sleep']);
});

test('init: true — the exit status of the command is the container\'s; a missing command is 127', async () => {
  await using runtime = await temporaryRuntime();
  await using failing = await runtime.containers.create({ image: BUSYBOX, init: true, cmd: ['sh', '-c', 'exit 7'] });
  await failing.start();
  assert.equal((await failing.wait()).exitCode, 7);
  await using missing = await runtime.containers.create({ image: BUSYBOX, init: true, cmd: ['no-such-command'], attach: true });
  await missing.start();
  assert.equal((await missing.wait()).exitCode, 127);
  const lines = [];
  for await (const entry of missing.logs()) lines.push(entry.line);
  assert.deepEqual(lines, ['docker-init: exec no-such-command: No such file or directory']);
  await assert.rejects(runtime.containers.create({ image: BUSYBOX, cmd: ['true'], init: 'yes' as never }), TypeError);
});
