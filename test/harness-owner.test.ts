import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Runtime } from '../lib/index.js';
import { processStartTime } from '../lib/container/container-state.js';
import { BUSYBOX, cgroupsNamed, mountsUnder, temporaryRuntime } from './helpers.js';

interface Made {
  ids: string[];
  created: string;
  pid: number;
  monitorPid: number;
  hostPort: number;
  volume: string;
}

/** Starts test/fixtures/owner-child.ts on `root` and reads what it made (within 60 s). */
async function startOwner(root: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures/owner-child.ts'), root], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const deadline = AbortSignal.timeout(60_000);
  const [line] = (await once(lines, 'line', { signal: deadline })) as [string];
  return { child, made: JSON.parse(line) as Made };
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** Everything of the owner's started containers that is still there. */
async function remains(root: string, made: Made): Promise<string[]> {
  const left: string[] = [];
  if (processStartTime(made.pid) !== undefined) left.push(`container process ${made.pid}`);
  if (processStartTime(made.monitorPid) !== undefined) left.push(`monitor ${made.monitorPid}`);
  if (await accepts(made.hostPort)) left.push(`host port ${made.hostPort}`);
  left.push(...cgroupsNamed(made.ids).map((dir) => `cgroup ${dir}`));
  for (const id of made.ids) if (existsSync(join(root, 'containers', id))) left.push(`state dir of ${id.slice(0, 12)}`);
  if (existsSync(join(root, 'volumes', made.volume))) left.push(`volume ${made.volume.slice(0, 12)}`);
  const veths = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).split('\n').filter((l) => / bv[0-9a-f]{10}@/.test(l));
  left.push(...veths.map((l) => `veth ${l.split(':')[1]!.trim()}`));
  left.push(...mountsUnder(root).map((m) => `mount ${m}`));
  return left;
}

for (const signal of ['SIGKILL', 'SIGINT', 'SIGTERM'] as const) {
  test(`removeOnOwnerExit: the owner dies by ${signal}; within 1 s nothing of its containers remains`, async () => {
    await using runtime = await temporaryRuntime();
    const { child, made } = await startOwner(runtime.root);
    assert.ok(await accepts(made.hostPort), 'the published port answers while the owner lives');
    assert.deepEqual((await remains(runtime.root, made)).filter((r) => r.startsWith('state dir')).length, 2);
    const exited = once(child, 'exit');
    const killedAt = performance.now();
    child.kill(signal);
    await exited;
    let left = await remains(runtime.root, made);
    while (left.length > 0 && performance.now() - killedAt < 1000) {
      await sleep(5);
      left = await remains(runtime.root, made);
    }
    console.log(`# ${signal}: ${left.length === 0 ? `nothing left ${(performance.now() - killedAt).toFixed(0)} ms after the kill` : `left: ${left.join(', ')}`}`);
    assert.deepEqual(left, []);
    // the names of the removed ones are gone; the never-started one has no monitor: the next open removes it
    assert.deepEqual(readdirSync(join(runtime.root, 'names')).map((n) => readlinkSync(join(runtime.root, 'names', n))), [made.created]);
    assert.ok(existsSync(join(runtime.root, 'containers', made.created)));
    await Runtime.open({ root: runtime.root });
    assert.ok(!existsSync(join(runtime.root, 'containers', made.created)));
    assert.deepEqual(readdirSync(join(runtime.root, 'names')), []);
  });
}

test('without removeOnOwnerExit containers outlive their creator; the option is checked', async () => {
  await using runtime = await temporaryRuntime();
  await assert.rejects(runtime.containers.create({ image: BUSYBOX, cmd: ['true'], removeOnOwnerExit: 'yes' as never }), TypeError);
  await assert.rejects(Runtime.open({ root: runtime.root, removeOnOwnerExit: 1 as never }), TypeError);
  // an owner-bound container of this (living) process is left alone by recovery
  await using mine = await runtime.containers.create({ image: BUSYBOX, cmd: ['sleep', '60'], removeOnOwnerExit: true });
  await mine.start();
  await Runtime.open({ root: runtime.root });
  assert.equal((await mine.inspect()).state.status, 'running');
  // and removing it by hand works as always; its monitor then goes away
  const { monitorPid } = (await mine.inspect()).state;
  await mine.remove({ force: true });
  const deadline = performance.now() + 5000;
  while (processStartTime(monitorPid!) !== undefined && performance.now() < deadline) await sleep(10);
  assert.equal(processStartTime(monitorPid!), undefined);
});
