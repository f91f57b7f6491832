import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { Container, Runtime } from '../lib/index.js';
import { BUSYBOX, cgroupsNamed, temporaryRuntime, withDeadline } from './helpers.js';

/** A busybox awk script that allocates and touches `mib` MiB, says so, then sleeps. */
const allocate = (mib: number, then = 'sleep 30') =>
  `awk 'BEGIN { s = sprintf("%${mib * 1024 * 1024}s", ""); print "allocated"; fflush(); system("${then}") }'`;

function processAlive(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function cgroupPids(path: string): number[] {
  const record = JSON.parse(readFileSync(join(path, 'cgroup.json'), 'utf8')) as { dirs: string[] };
  return readFileSync(join(record.dirs[0]!, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
}

async function firstLine(container: Container): Promise<string> {
  return withDeadline(new Promise((resolve) => container.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString()))), 'the first line of output');
}

test('runtime.info() reports the cgroup mode', async () => {
  await using runtime = await temporaryRuntime();
  const mode = runtime.info().cgroupMode;
  console.log(`# cgroup mode: ${mode}`);
  assert.ok(['v2', 'hybrid', 'v1'].includes(mode));
});

test('a process over a 32 MiB memory limit is OOM-killed: exit 137, oomKilled', async () => {
  await using runtime = await temporaryRuntime();
  const result = await Container.run(BUSYBOX, ['sh', '-c', allocate(200, 'true')], { runtime, memory: '32m', memorySwap: '32m', keep: true });
  assert.equal(result.exitCode, 137);
  assert.equal(result.signal, 'SIGKILL');
  assert.equal(result.oomKilled, true);
  const container = await runtime.containers.get(result.id);
  assert.equal((await container.inspect()).state.oomKilled, true);
  // within the limit the same program is fine
  const fine = await Container.run(BUSYBOX, ['sh', '-c', allocate(8, 'true')], { runtime, memory: '64m' });
  assert.deepEqual([fine.exitCode, fine.oomKilled], [0, false]);
});

test('a pids limit of 20 stops a fork loop with EAGAIN and leaves the host alone', async () => {
  await using runtime = await temporaryRuntime();
  const container = await runtime.containers.create({
    image: BUSYBOX, pidsLimit: 20, attach: true,
    // the inner shell forks until EAGAIN (ash gives up at the first failure);
    // the outer one then reports using builtins only, and blocks on a fifo
    cmd: ['sh', '-c', 'mkfifo /tmp/block; sh -c "for i in \\$(seq 1 60); do sleep 30 & done" 2>/tmp/errors; echo forked; ' +
      'while read -r line; do echo "$line"; done </tmp/errors; echo end; read -r x </tmp/block'],
  });
  await container.start();
  const output = await withDeadline(new Promise<string>((resolve) => {
    let text = '';
    container.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('end\n')) resolve(text);
    });
  }), "the fork bomb's report");
  assert.match(output, /forked\n.*(Resource temporarily unavailable|can't fork)/s, 'a fork failed with EAGAIN');
  const stats = await container.stats();
  assert.equal(stats.pids.limit, 20);
  assert.ok(stats.pids.current <= 20, `${stats.pids.current} pids`);
  assert.equal(spawnSync('true').status, 0, 'the host can still fork');
  await container.remove({ force: true });
});

test('cpus: 0.5 holds a busy loop to half a CPU', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({ image: BUSYBOX, cpus: 0.5, cmd: ['sh', '-c', 'while :; do :; done'] });
  await container.start();
  // the acceptance: over 2 s of a busy loop, never more than 0.6 CPU-seconds per second, and over 0.2
  const samples: Awaited<ReturnType<typeof container.stats>>[] = [];
  await withDeadline((async () => {
    for await (const sample of container.statsStream({ interval: 1000 })) {
      samples.push(sample);
      if (samples.length === 3) break;
    }
  })(), 'three stats samples');
  const perSecond = (samples[2]!.cpu.totalNs - samples[0]!.cpu.totalNs) / 1e9 / 2;
  const worstSecond = Math.max(...samples.slice(1).map((s) => s.cpu.percent / 100));
  console.log(`# cpu seconds per wall second over 2 s: ${perSecond.toFixed(3)}, worst 1 s window ${worstSecond.toFixed(3)}`);
  assert.ok(worstSecond <= 0.6, `used ${worstSecond} CPU in one second, limit 0.5`);
  assert.ok(perSecond <= 0.6, `used ${perSecond} CPU per second, limit 0.5`);
  assert.ok(perSecond > 0.2, `used ${perSecond} CPU per second: it should have run`);
});

test('stats report memory usage within 10% of what the process allocated', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({ image: BUSYBOX, memory: '512m', attach: true, cmd: ['sh', '-c', allocate(100)] });
  await container.start();
  assert.equal(await firstLine(container), 'allocated\n');
  const stats = await container.stats();
  const allocated = 100 * 1024 * 1024;
  console.log(`# memory usage ${stats.memory.usage} for ${allocated} allocated; limit ${stats.memory.limit}`);
  assert.ok(Math.abs(stats.memory.usage - allocated) <= allocated * 0.1, `usage ${stats.memory.usage}`);
  assert.equal(stats.memory.limit, 512 * 1024 * 1024);
  assert.ok(stats.cpu.totalNs > 0);
});

test('update({ memory }) changes the enforced limit of a running container', async () => {
  await using runtime = await temporaryRuntime();
  const script = `read line; ${allocate(150, 'true')}`;
  const run = async (raise: boolean) => {
    await using container = await runtime.containers.create({ image: BUSYBOX, memory: '64m', memorySwap: '64m', stdin: true, cmd: ['sh', '-c', script] });
    await container.start();
    if (raise) await container.update({ memory: '512m', memorySwap: '512m' });
    assert.equal((await container.stats()).memory.limit, (raise ? 512 : 64) * 1024 * 1024);
    container.stdin!.end('go\n');
    return await withDeadline(container.wait(), 'the container to exit');
  };
  assert.deepEqual(await run(false), { exitCode: 137, signal: 'SIGKILL', oomKilled: true });
  assert.deepEqual(await run(true), { exitCode: 0, signal: null, oomKilled: false });
  await assert.rejects(
    (await runtime.containers.create({ image: BUSYBOX, cmd: ['true'] })).update({ memory: '1g' }),
    { name: 'InvalidStateError' },
  );
});

test('a process that double-forks and detaches is gone after kill() and after remove()', async () => {
  await using runtime = await temporaryRuntime();
  for (const how of ['kill', 'remove'] as const) {
    const container = await runtime.containers.create({
      image: BUSYBOX, attach: true,
      cmd: ['sh', '-c', '(setsid sh -c "trap \\"\\" TERM HUP; exec sleep 300" &) ; echo detached; sleep 300'],
    });
    await container.start();
    await firstLine(container);
    const { path } = await container.inspect();
    let pids = cgroupPids(path);
    // the first process (sh, which execs its last command) and the detached sleep
    for (let i = 0; pids.length < 2 && i < 100; i++) {
      await sleep(10);
      pids = cgroupPids(path);
    }
    assert.ok(pids.length >= 2, `expected the first process and the detached one, got ${pids.join(' ')}`);
    if (how === 'kill') {
      await container.kill();
      await withDeadline(container.wait(), 'the container to exit');
    }
    await container.remove({ force: true });
    for (const pid of pids) assert.equal(processAlive(pid), false, `pid ${pid} survived ${how}()`);
    assert.deepEqual(cgroupsNamed([container.id]), []);
  }
});

test('invalid limits are TypeErrors/RangeErrors before anything is created', async () => {
  await using runtime = await temporaryRuntime();
  const bad: [object, RegExp][] = [
    [{ memory: '1k' }, /at least 6m/],
    [{ memory: 'lots' }, /memory must be a size/],
    [{ memory: '64m', memorySwap: '32m' }, /memorySwap .* must be at least memory/],
    [{ cpus: 0 }, /cpus must be between/],
    [{ cpus: '2' }, /cpus must be a number/],
    [{ pidsLimit: 0 }, /pidsLimit must be between/],
    [{ cpuShares: 1 }, /cpuShares must be between/],
    [{ cpusetCpus: 'zero' }, /cpusetCpus must be a list/],
    [{ blkioWeight: 5 }, /blkioWeight must be between/],
    [{ devices: [{ type: 'x', major: 1, minor: 1, access: 'r' }] }, /devices\[0\].type/],
  ];
  for (const [limits, message] of bad) {
    await assert.rejects(runtime.containers.create({ image: BUSYBOX, cmd: ['true'], ...limits }), message);
  }
});

test("devices outside Docker's default list cannot be opened, even after mknod", async () => {
  await using runtime = await temporaryRuntime();
  const result = await Container.run(BUSYBOX, ['sh', '-c', 'mknod /tmp/disk b 7 0 && echo made; head -c 1 /tmp/disk; echo x > /dev/null && echo null-ok'], { runtime });
  assert.match(result.stdout, /made/);
  assert.match(result.stderr, /Operation not permitted/);
  assert.match(result.stdout, /null-ok/);
});

test('no cgroup of these containers remains, and a second runtime agrees', async () => {
  await using runtime = await temporaryRuntime();
  const container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sleep', '30'], memory: '64m' });
  await container.start();
  assert.equal(cgroupsNamed([container.id]).length > 0, true);
  const other = await Runtime.open({ root: runtime.root });
  await (await other.containers.get(container.id)).remove({ force: true });
  assert.deepEqual(cgroupsNamed([container.id]), []);
});
