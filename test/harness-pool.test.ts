import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { ContainerSetupError, InvalidStateError, type Container } from '../lib/index.js';
import { BUSYBOX, temporaryRuntime } from './helpers.js';

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** The container's processes but ps itself, as `comm` names. */
async function processes(container: Container): Promise<string[]> {
  const { stdout } = await container.exec(['ps', '-o', 'comm']);
  return stdout.trim().split('\n').slice(1).filter((c) => c !== 'ps').sort();
}

test('pool: acquire() hands out a warm container at once; release() resets processes and files and keeps it warm', async () => {
  await using runtime = await temporaryRuntime();
  const options = { image: BUSYBOX, init: true, cmd: ['sleep', '600'] };
  const createStart: number[] = [];
  for (let i = 0; i < 5; i++) {
    const began = performance.now();
    await using container = await runtime.containers.create(options);
    await container.start();
    createStart.push(performance.now() - began);
  }

  await using pool = runtime.pool({ ...options, size: 3 });
  await pool.warm();
  assert.equal(pool.available, 3);
  const acquireMs: number[] = [];
  for (let i = 0; i < 20; i++) {
    const began = performance.now();
    const container = await pool.acquire();
    acquireMs.push(performance.now() - began);
    const info = await container.inspect();
    assert.equal(info.state.status, 'running');
    // init forks its child a moment after it starts, and that child execs `sleep` a moment later: until then
    // ps shows docker-init alone or twice; a process left by a previous user would stay
    let seen = await processes(container);
    const deadline = Date.now() + 5_000;
    while (!isDeepStrictEqual(seen, ['docker-init', 'sleep']) && Date.now() < deadline) seen = await processes(container);
    assert.deepEqual(seen, ['docker-init', 'sleep'], 'fresh: no process of a previous user');
    assert.equal((await container.exec(['ls', '/dirty'])).exitCode, 1, 'fresh: no file of a previous user');
    // the test dirties it
    await container.exec(['sh', '-c', 'touch /dirty; rm /bin/sh.bak 2>/dev/null; (sleep 1000 &)']);
    await pool.release(container);
  }
  console.log(`# pool acquire(): median ${median(acquireMs).toFixed(3)} ms (max ${Math.max(...acquireMs).toFixed(3)}); create+start in the same run: median ${median(createStart).toFixed(1)} ms`);
  assert.equal(pool.available, 3);
});

test('pool: more callers than warm containers all get their own; destroy; close removes everything', async () => {
  await using runtime = await temporaryRuntime();
  const pool = runtime.pool({ image: BUSYBOX, cmd: ['sleep', '600'], size: 2 });
  const many = await Promise.all(Array.from({ length: 5 }, () => pool.acquire()));
  assert.equal(new Set(many.map((c) => c.id)).size, 5);
  for (const container of many) assert.equal((await container.inspect()).state.status, 'running');
  await pool.release(many[0]!, { destroy: true });
  await assert.rejects(many[0]!.inspect(), /no longer exists/);
  await assert.rejects(pool.release(many[0]!), TypeError);
  // released, the extras made for the burst go; the pool keeps its size, warm
  for (const container of many.slice(1)) await pool.release(container);
  assert.equal(pool.available, 2);
  assert.equal((await runtime.containers.list({ all: true })).length, 2);
  await assert.rejects(pool.release(many[4]!), InvalidStateError);
  await pool.close();
  assert.deepEqual(await runtime.containers.list({ all: true }), []);
  await assert.rejects(pool.acquire(), InvalidStateError);
  assert.throws(() => runtime.pool({ image: BUSYBOX, size: 0 }), RangeError);
});

test("pool with userns: 'auto': each warm container has its own range, and release() resets files its root wrote", async () => {
  await using runtime = await temporaryRuntime();
  await using pool = runtime.pool({ image: BUSYBOX, init: true, cmd: ['sleep', '600'], userns: 'auto', size: 2 });
  const [a, b] = [await pool.acquire(), await pool.acquire()];
  const roots = await Promise.all([a, b].map(async (c) => (await c.exec(['cat', '/proc/self/uid_map'])).stdout.trim().split(/\s+/)[1]));
  assert.notEqual(roots[0], '0');
  assert.notEqual(roots[0], roots[1], 'disjoint ranges');
  await a.exec(['sh', '-c', 'echo x > /etc/dirty && chown 1000 /etc/dirty']);
  await pool.release(a);
  const again = await pool.acquire();
  assert.equal((await again.exec(['ls', '/etc/dirty'])).exitCode, 1, 'fresh: no file of a previous user');
  await pool.release(again);
  await pool.release(b);
});

test('pool: a configuration that cannot start fails acquire() with its error, and leaves nothing', async () => {
  await using runtime = await temporaryRuntime();
  await using pool = runtime.pool({ image: BUSYBOX, cmd: ['no-such-command'], size: 2 });
  const error = await pool.acquire().then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof ContainerSetupError && error.step === 'exec', String(error));
  await assert.rejects(pool.warm(), ContainerSetupError);
  await pool.close();
  assert.deepEqual(await runtime.containers.list({ all: true }), []);
});
