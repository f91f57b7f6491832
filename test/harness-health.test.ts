import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { test } from 'node:test';
import { BerthError, ImageContentError, Wait, type Container, type HealthState } from '../lib/index.js';
import { BUSYBOX, temporaryRuntime } from './helpers.js';
import { busyboxTar, temporaryDir, writeLayout } from './image-helpers.js';

/** Follows health changes until `status` (within 30 s). */
async function until(container: Container, status: HealthState['status']): Promise<HealthState> {
  for await (const health of container.healthChanges({ signal: AbortSignal.timeout(30_000) })) if (health.status === status) return health;
  throw new Error(`the health never became ${status}`);
}

test('healthcheck option: starting → healthy (waitFor), then unhealthy after `retries` failures, in inspect() and healthChanges()', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({
    image: BUSYBOX, user: '1000',
    cmd: ['sh', '-c', 'sleep 0.3; touch /tmp/ready; echo ready; exec sleep 60'],
    healthcheck: { test: ['CMD-SHELL', 'test -f /tmp/ready && echo "uid=$(id -u) host=$(hostname)"'], interval: 100, startInterval: 20, startPeriod: 10_000, retries: 2 },
  });
  const { waitedMs } = await container.start({ waitFor: Wait.forHealthy() });
  const now = Date.now();
  let readyAt = 0;
  for await (const { line, time } of container.logs()) if (line === 'ready') readyAt = time.getTime();
  console.log(`# forHealthy: resolved ${now - readyAt} ms after the service was ready (start interval 20 ms; waited ${waitedMs.toFixed(0)} ms)`);

  const healthy = (await container.inspect()).state.health!;
  assert.equal(healthy.status, 'healthy');
  assert.equal(healthy.failingStreak, 0);
  const last = healthy.log.at(-1)!;
  // run inside the container, as its user
  assert.deepEqual([last.exitCode, last.output], [0, `uid=1000 host=${(await container.inspect()).config.hostname}\n`]);
  assert.ok(healthy.log.length <= 5);
  assert.ok(!Number.isNaN(Date.parse(last.start)) && !Number.isNaN(Date.parse(last.end)));

  // the service breaks: after 2 failed checks in a row it is unhealthy
  const changes = container.healthChanges({ signal: AbortSignal.timeout(30_000) })[Symbol.asyncIterator]();
  assert.equal((await changes.next()).value?.status, 'healthy', 'the current state first');
  assert.equal((await container.exec(['rm', '/tmp/ready'])).exitCode, 0);
  const unhealthy = (await changes.next()).value as HealthState;
  assert.equal(unhealthy.status, 'unhealthy');
  assert.equal(unhealthy.failingStreak, 2);
  assert.deepEqual(unhealthy.log.slice(-2).map((r) => r.exitCode), [1, 1]);
  await changes.return?.();
});

test('a check that outlasts its timeout fails with exit code -1; unhealthy rejects forHealthy', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({
    image: BUSYBOX, cmd: ['sleep', '60'],
    healthcheck: { test: ['CMD', 'sleep', '5'], interval: 50, timeout: 100, retries: 1 },
  });
  const error = await container.start({ waitFor: Wait.forHealthy() }).then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof BerthError && error.code === 'ERR_UNHEALTHY', String(error));
  const health = (await container.inspect()).state.health!;
  assert.equal(health.status, 'unhealthy');
  assert.deepEqual([health.log[0]!.exitCode, health.log[0]!.output], [-1, 'Health check exceeded timeout (100ms)']);
  // checks go on every 50 ms, each killed after 100 ms: they never pile up (killed ones are
  // zombies until the container's PID 1 reaps them, as with `docker exec`; `init: true` would)
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const { stdout } = await container.exec(['ps', '-o', 'stat,comm']);
  const sleeping = stdout.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/)).filter(([stat, comm]) => comm === 'sleep' && !stat!.startsWith('Z')).length;
  assert.ok(sleeping <= 2, `${sleeping} sleep processes: the command and at most one check`);
  assert.ok((await container.inspect()).state.health!.log.length >= 3);
});

test("the image's HEALTHCHECK runs (nanoseconds converted); the option refines or disables it; a hostile one is refused", async () => {
  await using runtime = await temporaryRuntime();
  using dir = temporaryDir();
  const load = async (healthcheck: unknown) => {
    const layout = join(dir.path, `layout-${Math.random().toString(16).slice(2)}`);
    writeLayout(layout, 'localhost/checked:1', { layers: [busyboxTar()], config: { Cmd: ['sh', '-c', 'touch /tmp/up; exec sleep 60'], Healthcheck: healthcheck } });
    const [image] = await runtime.images.load(Readable.from(execFileSync('tar', ['-C', layout, '-cf', '-', '.'], { maxBuffer: 64 << 20 })));
    return image!;
  };
  const image = await load({ Test: ['CMD-SHELL', 'test -f /tmp/up'], Interval: 50e6, StartInterval: 20e6, StartPeriod: 5e9, Retries: 2 });
  await using fromImage = await runtime.containers.create({ image: image.id });
  await fromImage.start({ waitFor: Wait.forHealthy(), timeout: 20_000 });
  assert.equal((await fromImage.inspect()).state.health?.status, 'healthy');

  await using refined = await runtime.containers.create({ image: image.id, healthcheck: { test: ['CMD', 'false'], interval: 20, retries: 1 } });
  await refined.start();
  assert.equal((await until(refined, 'unhealthy')).log[0]!.exitCode, 1);

  await using disabled = await runtime.containers.create({ image: image.id, healthcheck: { test: ['NONE'] } });
  await disabled.start();
  assert.equal((await disabled.inspect()).state.health, null);
  assert.throws(() => disabled.healthChanges(), TypeError);

  for (const hostile of [{ Test: ['CMD'] }, { Test: 'rm -rf /' }, { Test: ['CMD-SHELL', 'true'], Interval: -1 }, { Test: ['CMD', 'true'], Retries: 1.5 }]) {
    // refused where the image enters (the config policy), or at the latest at create
    const error = await load(hostile).then((bad) => runtime.containers.create({ image: bad.id })).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof ImageContentError && ['ERR_INVALID_IMAGE', 'ERR_CONFIG_INVALID'].includes(error.code), `${JSON.stringify(hostile)}: ${String(error)}`);
    assert.match(error.message, /Healthcheck/);
  }
  assert.equal((await runtime.containers.list({ all: true })).length, 3, 'nothing made for the refused ones');
  await assert.rejects(runtime.containers.create({ image: BUSYBOX, cmd: ['true'], healthcheck: { test: ['CMD'] } }), TypeError);
  await assert.rejects(runtime.containers.create({ image: BUSYBOX, cmd: ['true'], healthcheck: { test: 'true', interval: 0 } }), RangeError);
});

test('a detached container stays health-checked after the Node process that started it exits', async () => {
  await using runtime = await temporaryRuntime();
  const id = execFileSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures/health-child.ts'), runtime.root], {
    encoding: 'utf8', timeout: 60_000,
  }).trim();
  await using container = await runtime.containers.get(id);
  await until(container, 'healthy');
  await container.exec(['rm', '/tmp/ok']);
  const unhealthy = await until(container, 'unhealthy');
  assert.equal(unhealthy.failingStreak, 2);
});
