#!/usr/bin/env node
// Log throughput: a container that writes 500 MB of 100-byte lines (5,000,000
// lines) as fast as it can, not attached, timed from create to exit, for
// berth (its monitor writes Docker's json-file log) and podman (conmon writes
// its k8s-file log), interleaved in one run; plus the container's own work
// (the same command with its output to /dev/null inside the container).
//
//   node benchmarks/logs.mjs [--rounds N] [--lines N]      (as root, after `npm run build`)
//
// Runs in a private mount namespace (as benchmarks/run.mjs does: crun under
// podman refuses the hybrid cgroup layout, so /sys/fs/cgroup/unified is hidden
// there); podman's containers and conmon go below this process's own cgroups,
// its storage in a temporary directory; everything is removed at the end.
import { spawnSync } from 'node:child_process';
import { createReadStream, cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hideUnifiedHierarchy, planCgroupParent } from './cgroups.mjs';
import { which } from './oci.mjs';
import { inPrivateMountNamespace } from './mount-namespace.mjs';
import { positiveIntFlag } from './args.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);
const flag = (name, fallback) => positiveIntFlag(args, name, fallback);
const rounds = flag('--rounds', 3);
const lineCount = flag('--lines', 5_000_000);
inPrivateMountNamespace('BERTH_BENCH_NAMESPACE', root);

const { Runtime } = await import('../dist/index.js');
const run = (bin, argv) => {
  const r = spawnSync(bin, argv, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${bin} ${argv.join(' ')}: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
  return r.stdout.trim();
};
const LINE = '0123456789'.repeat(10).slice(0, 99); // 99 bytes and the newline
const burst = `yes ${LINE} | head -n ${lineCount}`;

/** Lines in a file, counted as it streams (a log of 700 MB does not fit a string). */
async function countLines(path) {
  let n = 0;
  for await (const chunk of createReadStream(path)) for (const byte of chunk) if (byte === 10) n++;
  return n;
}

const dir = mkdtempSync(join(tmpdir(), 'berth-logs-bench-'));
const hidden = hideUnifiedHierarchy(run);
const cgroups = planCgroupParent();
const runtime = await Runtime.open({ root: join(dir, 'berth') });
const layer = (await runtime.images.get('localhost/busybox')).layerPaths[0];
const podmanRootfs = join(dir, 'podman-rootfs');
cpSync(layer, podmanRootfs, { recursive: true, verbatimSymlinks: true });
const podmanBin = which('podman');
const podman = [
  '--root', join(dir, 'podman-root'), '--runroot', join(dir, 'podman-run'), '--cgroup-manager', 'cgroupfs', '--events-backend', 'file',
];
let podmanNote = podmanBin ? '' : 'podman not installed (apt-get install podman): its row is skipped';
if (podmanBin && cgroups.error) podmanNote = `podman skipped: ${cgroups.error}`;

const rows = {
  'own work (output to /dev/null)': async () => {
    const c = await runtime.containers.create({ rootfs: layer, cmd: ['sh', '-c', `${burst} > /dev/null`] });
    const t0 = performance.now();
    await c.start();
    await c.wait();
    const ms = performance.now() - t0;
    await c.remove();
    return ms;
  },
  'berth (json-file)': async (check) => {
    const t0 = performance.now();
    const c = await runtime.containers.create({ rootfs: layer, cmd: ['sh', '-c', burst], log: { maxSize: '2g', maxFiles: 2 } });
    await c.start();
    await c.wait();
    const ms = performance.now() - t0;
    if (check) {
      const logged = await countLines(join((await c.inspect()).path, 'container.log'));
      if (logged !== lineCount) throw new Error(`berth logged ${logged} of ${lineCount} lines`);
    }
    await c.remove();
    return ms;
  },
};
if (!podmanNote) {
  rows['podman (conmon, k8s-file)'] = async (check) => {
    const t0 = performance.now();
    const id = run(podmanBin, [...podman, 'run', '-d', '--network', 'none', '--cgroup-parent', cgroups.base, '--ulimit', 'nofile=1024:1024',
      '--ulimit', 'nproc=4096:4096', '--log-driver', 'k8s-file', '--rootfs', podmanRootfs, 'sh', '-c', burst]);
    run(podmanBin, [...podman, 'wait', id]);
    const ms = performance.now() - t0;
    if (check) {
      const path = run(podmanBin, [...podman, 'inspect', id, '--format', '{{.HostConfig.LogConfig.Path}}']);
      const logged = await countLines(path);
      // conmon splits a line that spans two of its reads into a partial and a final record
      if (logged < lineCount) throw new Error(`podman logged ${logged} records for ${lineCount} lines`);
    }
    run(podmanBin, [...podman, 'rm', id]);
    return ms;
  };
}

const samples = Object.fromEntries(Object.keys(rows).map((name) => [name, []]));
try {
  for (let round = 0; round <= rounds; round++) {
    // round 0 warms up and checks that every line arrived; each round runs the rows in a new random order
    const order = Object.keys(rows).sort(() => Math.random() - 0.5);
    for (const name of order) {
      const ms = await rows[name](round === 0);
      if (round > 0) samples[name].push(ms);
    }
  }
} finally {
  spawnSync(podmanBin ?? 'true', [...podman, 'rm', '-a', '-f'], { stdio: 'ignore' });
  spawnSync(podmanBin ?? 'true', [...podman, 'system', 'reset', '-f'], { stdio: 'ignore' });
  for (const c of await runtime.containers.list({ all: true })) await c.remove({ force: true });
  const left = cgroups.error ? [] : await cgroups.cleanup();
  if (left.length > 0) console.error(`could not remove: ${left.join(', ')}`);
  rmSync(dir, { recursive: true, force: true });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (lineCount * 100) / 1e6;
console.log(`log throughput: ${lineCount} lines of 100 bytes (${mb} MB), not attached, create → exit; median of ${rounds} rounds`);
if (hidden.note) console.log(`(${hidden.note})`);
if (podmanNote) console.log(`(${podmanNote})`);
const berth = median(samples['berth (json-file)']);
const peer = samples['podman (conmon, k8s-file)'] ? median(samples['podman (conmon, k8s-file)']) : undefined;
for (const [name, xs] of Object.entries(samples)) {
  const m = median(xs);
  const ratio = name.startsWith('podman') ? `   berth ÷ podman: ${(berth / m).toFixed(2)}` : '';
  console.log(`${name.padEnd(32)} ${(m / 1000).toFixed(2).padStart(7)} s  ${(mb / (m / 1000)).toFixed(0).padStart(5)} MB/s${ratio}`);
}
if (peer !== undefined) console.log(`berth log lines as fast as podman or faster: ${berth <= peer ? 'yes' : 'no'} (${(berth / peer).toFixed(2)}×)`);
