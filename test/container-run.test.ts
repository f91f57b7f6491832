import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Container } from '../lib/index.js';
import { BUSYBOX, temporaryRuntime, withDeadline } from './helpers.js';

test('Container.run returns stdout, stderr and the exit code exactly', async () => {
  await using runtime = await temporaryRuntime();
  for (const code of [0, 1, 42]) {
    const result = await Container.run(BUSYBOX, ['sh', '-c', `echo out-${code}; echo err-${code} >&2; exit ${code}`], { runtime });
    assert.equal(result.exitCode, code);
    assert.equal(result.signal, null);
    assert.equal(result.stdout, `out-${code}\n`);
    assert.equal(result.stderr, `err-${code}\n`);
  }
});

test('a command killed by a signal reports the signal and 128+n', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sleep', '60'] });
  await container.start();
  await container.kill('SIGKILL');
  assert.deepEqual(await withDeadline(container.wait(), 'the container to exit'), { exitCode: 137, signal: 'SIGKILL', oomKilled: false });
});

test('a command that handles the signal exits with its own code', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({
    image: BUSYBOX, cmd: ['sh', '-c', 'trap "exit 7" TERM; echo ready; while :; do sleep 0.05; done'], attach: true,
  });
  await container.start();
  await withDeadline(new Promise((resolve) => container.stdout!.once('data', resolve)), 'the first output');
  await container.kill('SIGTERM');
  assert.deepEqual(await withDeadline(container.wait(), 'the container to exit'), { exitCode: 7, signal: null, oomKilled: false });
});

test('stdin reaches the command and its output comes back', async () => {
  await using runtime = await temporaryRuntime();
  const result = await Container.run(BUSYBOX, ['tr', 'a-z', 'A-Z'], { runtime, input: 'hello berth\n' });
  assert.equal(result.stdout, 'HELLO BERTH\n');
});

test('tty: true gives the command a terminal', async () => {
  await using runtime = await temporaryRuntime();
  const result = await Container.run(BUSYBOX, ['sh', '-c', 'tty; [ -t 1 ] && echo is-a-tty; stty size'], {
    runtime, tty: true, ttySize: { rows: 30, cols: 100 },
  });
  assert.equal(result.exitCode, 0);
  assert.match(result.stdout, /^\/dev\/pts\/\d+\r?\n/);
  assert.match(result.stdout, /is-a-tty/);
  assert.match(result.stdout, /30 100/);
});

test('a tty command that never reads its input still has its output copied: the monitor never waits on the terminal', async () => {
  await using runtime = await temporaryRuntime();
  // far more input than the terminal holds, to a command that never reads it and prints more than it holds
  const input = 'a line the command never reads\n'.repeat(32768);
  const result = await withDeadline(Container.run(BUSYBOX, ['sh', '-c', 'yes | head -c 1000000; echo; echo all-printed'], {
    runtime, tty: true, input,
  }), 'the command to finish');
  assert.equal(result.exitCode, 0);
  assert.match(result.stdout, /all-printed/);
});

test('start, wait, kill, stop, inspect and await using', async () => {
  await using runtime = await temporaryRuntime();
  let id: string;
  {
    await using container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sleep', '60'], name: 'sleeper' });
    id = container.id;
    assert.equal((await container.inspect()).state.status, 'created');
    await container.start();
    const running = await container.inspect();
    assert.equal(running.state.status, 'running');
    assert.ok(running.state.pid! > 0);
    // PID 1 ignores SIGTERM without a handler, so stop() escalates to SIGKILL
    const status = await container.stop({ timeout: 0.2 });
    assert.deepEqual(status, { exitCode: 137, signal: 'SIGKILL', oomKilled: false });
    const exited = await container.inspect();
    assert.equal(exited.state.status, 'exited');
    assert.equal(exited.state.exitCode, 137);
    assert.ok(exited.state.finishedAt);
    await container.start();
    await container.kill('SIGKILL');
    assert.deepEqual(await withDeadline(container.wait(), 'the container to exit'), { exitCode: 137, signal: 'SIGKILL', oomKilled: false });
  }
  await assert.rejects(runtime.containers.get(id), { name: 'NotFoundError' });
});

test('a running container is not removed without force', async () => {
  await using runtime = await temporaryRuntime();
  const container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sleep', '60'] });
  await container.start();
  await assert.rejects(container.remove(), { name: 'InvalidStateError', code: 'ERR_INVALID_STATE' });
  await container.remove({ force: true });
  await assert.rejects(runtime.containers.get(container.name), { name: 'NotFoundError' });
});

test("without a command (or with []) the image's own Entrypoint and Cmd run, as with docker run IMAGE", async () => {
  await using runtime = await temporaryRuntime();
  {
    await using source = await runtime.containers.create({ image: BUSYBOX, cmd: ['true'] });
    await source.commit({ ref: 'localhost/greeter', changes: ['ENTRYPOINT ["echo", "from-entrypoint"]', 'CMD ["from-cmd"]'] });
  }
  assert.equal((await Container.run('localhost/greeter', { runtime })).stdout, 'from-entrypoint from-cmd\n');
  assert.equal((await Container.run('localhost/greeter', [], { runtime })).stdout, 'from-entrypoint from-cmd\n');
  assert.equal((await Container.run('localhost/greeter', ['given'], { runtime })).stdout, 'from-entrypoint given\n');
  await using created = await runtime.containers.create({ image: 'localhost/greeter', cmd: [] });
  assert.deepEqual((await created.inspect()).config.cmd, ['echo', 'from-entrypoint', 'from-cmd']);
  // an image with neither has nothing to run: a TypeError, nothing created
  await using bare = await runtime.containers.create({ image: BUSYBOX, cmd: ['true'] });
  await bare.commit({ ref: 'localhost/no-command', changes: ['CMD []'] });
  await assert.rejects(Container.run('localhost/no-command', { runtime }), { name: 'TypeError', message: /no command/ });
  assert.deepEqual((await runtime.containers.list({ all: true })).map((c) => c.id).sort(), [created.id, bare.id].sort());
});
