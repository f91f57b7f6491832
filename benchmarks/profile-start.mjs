#!/usr/bin/env node
// Where berth's start-to-exit time goes, from the Node side: wraps the addon's
// spawnMonitor (the monitor's posix_spawn) and fs.fsyncSync (before berth is
// loaded, through module.syncBuiltinESMExports) and splits create+start+wait of /bin/true into
// phases. A diagnostic, not part of `npm run bench`. Runs alternate between a
// state root under /tmp (the disk) and one on a tmpfs mounted in its private
// mount namespace, where fsync/fdatasync cost nothing: the difference is what
// berth's durable state writes cost on the critical path.
//
//   node benchmarks/profile-start.mjs [--runs N]     (root; after npm run build)
//
// For the monitor's own timeline (fdatasync, clone, mounts), trace it:
//   perf trace -e execve,fdatasync,fsync,clone,mount,recvmsg,wait4 -- node benchmarks/profile-start.mjs --runs 20
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inPrivateMountNamespace } from './mount-namespace.mjs';

const runsFlag = process.argv.indexOf('--runs');
const runs = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 100;
if (!Number.isInteger(runs) || runs < 1) {
  console.error('usage: node benchmarks/profile-start.mjs [--runs N]');
  process.exit(2);
}

inPrivateMountNamespace('BERTH_BENCH_NAMESPACE', dirname(dirname(fileURLToPath(import.meta.url))));

const now = () => Number(process.hrtime.bigint()) / 1e6;
let current = {};
/**
 * Times the addon's spawnMonitor: the N-API module berth loaded is in
 * require's cache (whichever build or prebuilt directory it came from), and
 * berth calls its exports through that object. Returns false until it is loaded.
 */
function wrapSpawnMonitor() {
  const cache = createRequire(import.meta.url).cache;
  const key = Object.keys(cache).find((path) => path.endsWith('berth_native.node'));
  const addon = key && cache[key].exports;
  if (!addon?.spawnMonitor) return false;
  const original = addon.spawnMonitor;
  addon.spawnMonitor = function spawnMonitor(...args) {
    current.spawnCalled = now();
    const result = original.apply(this, args);
    current.spawnReturned = now();
    return result;
  };
  return true;
}
let wrapped = false;
const originalFsync = fs.fsyncSync;
fs.fsyncSync = function fsyncSync(...args) {
  const t = now();
  try {
    return originalFsync.apply(this, args);
  } finally {
    current.fsync = (current.fsync ?? 0) + now() - t;
  }
};
syncBuiltinESMExports();

const { Runtime } = await import('../dist/index.js');
const tmp = mkdtempSync('/tmp/berth-profile-');
const tmpfs = join(tmp, 'tmpfs');
let mounted = false;
try {
  fs.mkdirSync(tmpfs);
  mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256m', 'berth-profile', tmpfs]).status === 0;
  const setups = [{ label: 'disk (/tmp)', root: join(tmp, 'root') }];
  if (mounted) setups.push({ label: 'tmpfs', root: join(tmpfs, 'root') });
  for (const setup of setups) {
    setup.runtime = await Runtime.open({ root: setup.root });
    setup.rootfs = (await setup.runtime.images.get('localhost/busybox')).layerPaths[0];
    setup.rows = [];
  }
  for (let i = 0; i < runs + 5; i++) {
    for (const { runtime, rootfs, rows } of setups) {
      wrapped ||= wrapSpawnMonitor(); // after the first start has loaded the addon
      current = {};
      const t0 = now();
      const container = await runtime.containers.create({ rootfs, cmd: ['/bin/true'] });
      const t1 = now();
      const fsyncInCreate = current.fsync ?? 0;
      await container.start();
      const t2 = now();
      await container.wait();
      const t3 = now();
      await container.remove();
      if (i < 5) continue; // warm-up
      rows.push({
        'create': t1 - t0,
        '  of which fsync (config.json)': fsyncInCreate,
        'start: Node work before spawn (lock, user, rm, cgroup.json)': current.spawnCalled - t1,
        '  of which fsync (state files written by start())': (current.fsync ?? 0) - fsyncInCreate,
        'start: addon.spawnMonitor() call (pipes; the spawn runs on a thread of its own)': current.spawnReturned - current.spawnCalled,
        'start: spawn returned → "started" (dirs, cgroups, /etc files, spec sent, monitor, child)': t2 - current.spawnReturned,
        'wait: start resolved → wait resolved': t3 - t2,
        'total': t3 - t0,
      });
    }
  }
  const median = (rows, key) => {
    const values = rows.map((row) => row[key]).sort((a, b) => a - b);
    return values[values.length >> 1];
  };
  const keys = Object.keys(setups[0].rows[0]);
  console.log(`berth create+start+wait of /bin/true, phase medians over ${runs} runs each (ms), by where the state root is:`);
  const width = Math.max(...keys.map((k) => k.length));
  console.log(`  ${''.padEnd(width)}  ${setups.map((s) => s.label.padStart(11)).join('  ')}`);
  for (const key of keys) {
    console.log(`  ${key.padEnd(width)}  ${setups.map((s) => median(s.rows, key).toFixed(2).padStart(11)).join('  ')}`);
  }
  if (!mounted) console.log('(no tmpfs row: mounting a tmpfs failed)');
} finally {
  if (mounted) spawnSync('umount', [tmpfs]);
  rmSync(tmp, { recursive: true, force: true });
}
