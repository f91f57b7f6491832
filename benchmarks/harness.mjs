#!/usr/bin/env node
// Test-harness figures (issue 12): a warm pool's acquire() against create+start
// of the same container, and reset() of a 100 MiB data set (stopped: the
// filesystem alone; running: kill, reset, start), in one run.
//
//   node benchmarks/harness.mjs [--runs N]      (as root, after `npm run build`)
//
// Runs in a private mount namespace; the runtime root is a temporary
// directory, removed at the end with everything in it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inPrivateMountNamespace } from './mount-namespace.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 50;
if (!Number.isInteger(runs) || runs < 5) throw new Error('--runs takes an integer ≥ 5');
inPrivateMountNamespace('BERTH_BENCH_NAMESPACE', root);

const { Runtime } = await import('../dist/index.js');
const stateRoot = mkdtempSync(join(tmpdir(), 'berth-bench-harness-'));
const runtime = await Runtime.open({ root: stateRoot });
const options = { image: 'localhost/busybox', init: true, cmd: ['sleep', '600'] };

const stats = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return `median ${at(0.5).toFixed(3)} ms, p10 ${at(0.1).toFixed(3)}, p90 ${at(0.9).toFixed(3)} (${values.length} runs)`;
};
const time = async (fn) => {
  const began = performance.now();
  await fn();
  return performance.now() - began;
};

try {
  // create+start, the cost a pool hides
  const createStart = [];
  for (let i = 0; i < runs; i++) {
    let container;
    createStart.push(await time(async () => {
      container = await runtime.containers.create(options);
      await container.start();
    }));
    await container.remove({ force: true });
  }

  // acquire() from a warm pool; each container is used, dirtied and released (reset) as a test would
  const pool = runtime.pool({ ...options, size: 4 });
  await pool.warm();
  const acquire = [];
  for (let i = 0; i < runs; i++) {
    let container;
    acquire.push(await time(async () => (container = await pool.acquire())));
    await container.exec(['sh', '-c', 'echo used > /used']);
    void pool.release(container);
    await new Promise((resolve) => setTimeout(resolve, 30)); // the test's own time; the reset runs meanwhile
  }
  await pool.close();

  // reset of a 100 MiB data set: 100 files of 1 MiB seeded and snapshotted, then each round a
  // test's changes (10 MiB written, 5 files deleted, one overwritten) are thrown away
  const db = await runtime.containers.create(options);
  await db.start();
  await db.exec(['sh', '-c', 'mkdir /data && for i in $(seq 1 100); do dd if=/dev/urandom of=/data/f$i bs=1048576 count=1 2>/dev/null; done']);
  const seeded = await db.snapshot();
  const dirty = ['sh', '-c', 'dd if=/dev/zero of=/data/new bs=1048576 count=10 2>/dev/null; rm /data/f1 /data/f2 /data/f3 /data/f4 /data/f5; echo x > /data/f6'];
  const resetRunning = [];
  const resetStopped = [];
  for (let i = 0; i < Math.min(runs, 20); i++) {
    await db.exec(dirty);
    resetRunning.push(await time(() => db.reset(seeded)));
    await db.exec(dirty);
    await db.kill();
    await db.wait();
    resetStopped.push(await time(() => db.reset(seeded)));
    await db.start();
  }
  const { stdout } = await db.exec(['sh', '-c', 'ls /data | wc -l; du -sm /data | cut -f1']);
  await db.remove({ force: true });

  console.log(`create+start (busybox sleep, init: true):   ${stats(createStart)}`);
  console.log(`pool acquire() (size 4, reset on release):  ${stats(acquire)}`);
  console.log(`reset() 100 MiB, stopped (filesystem):      ${stats(resetStopped)}`);
  console.log(`reset() 100 MiB, running (kill+reset+start): ${stats(resetRunning)}`);
  console.log(`after the resets /data holds ${stdout.trim().split('\n').join(' files, ')} MiB`);
} finally {
  for (const container of await runtime.containers.list({ all: true })) await container.remove({ force: true });
  rmSync(stateRoot, { recursive: true, force: true });
}
