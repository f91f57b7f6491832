#!/usr/bin/env node
// CLI start time: `berth --version` and `berth ps -a` with 100 containers, against
// `podman` and `docker` for the same commands, each a fresh process timed from
// spawn to exit (median of the runs, rows interleaved in a new random order
// every round), printed with berth's ratio to each peer.
//
//   node benchmarks/cli.mjs [--runs N] [--containers N]     (as root, after `npm run build`)
//
// The containers are created, not started (ps reads them either way); berth's
// in a temporary root, podman's in temporary storage (--root/--runroot), both
// removed at the end. docker here is the client alone: `docker --version`
// runs, `docker ps` cannot (there is no engine to answer it), so its row says so.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inPrivateMountNamespace } from './mount-namespace.mjs';
import { which } from './oci.mjs';
import { positiveIntFlag } from './args.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);
const flag = (name, fallback) => positiveIntFlag(args, name, fallback);
const runs = flag('--runs', 20);
const count = flag('--containers', 100);
inPrivateMountNamespace('BERTH_BENCH_NAMESPACE', root);

const cli = join(root, 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'berth-cli-bench-'));
const env = { ...process.env, BERTH_ROOT: join(dir, 'berth') };
const run = (bin, argv, options = {}) => {
  const r = spawnSync(bin, argv, { encoding: 'utf8', env, ...options });
  if (r.status !== 0) throw new Error(`${bin} ${argv.join(' ')}: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
  return r.stdout;
};
const podmanBin = which('podman');
const dockerBin = which('docker');
const podman = ['--root', join(dir, 'podman-root'), '--runroot', join(dir, 'podman-run'), '--cgroup-manager', 'cgroupfs', '--events-backend', 'file'];
const notes = [];

/** Milliseconds from spawn to exit of one command. */
function timed(bin, argv, expectOk = true) {
  const t0 = performance.now();
  const r = spawnSync(bin, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = performance.now() - t0;
  if (expectOk && r.status !== 0) throw new Error(`${bin} ${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

try {
  // the containers: berth's from its built-in busybox, podman's from a copy of that root filesystem
  for (let i = 0; i < count; i++) run(process.execPath, [cli, 'create', '--name', `c${i}`, '--network', 'none', 'localhost/busybox', 'true']);
  const rows = {
    'berth --version': () => timed(process.execPath, [cli, '--version']),
    [`berth ps -a (${count})`]: () => timed(process.execPath, [cli, 'ps', '-a']),
  };
  if (podmanBin) {
    const { Runtime } = await import('../dist/index.js');
    const runtime = await Runtime.open({ root: env.BERTH_ROOT });
    const layer = (await runtime.images.get('localhost/busybox')).layerPaths[0];
    cpSync(layer, join(dir, 'rootfs'), { recursive: true, verbatimSymlinks: true });
    for (let i = 0; i < count; i++) run(podmanBin, [...podman, 'create', '--network', 'none', '--name', `c${i}`, '--rootfs', join(dir, 'rootfs'), 'true']);
    rows['podman --version'] = () => timed(podmanBin, ['--version']);
    rows[`podman ps -a (${count})`] = () => timed(podmanBin, [...podman, 'ps', '-a']);
  } else notes.push('podman is not installed: its rows are skipped');
  if (dockerBin) {
    rows['docker --version'] = () => timed(dockerBin, ['--version']);
    const probe = spawnSync(dockerBin, ['ps', '-a'], { encoding: 'utf8' });
    if (probe.status === 0) rows[`docker ps -a`] = () => timed(dockerBin, ['ps', '-a']);
    else notes.push(`docker ps cannot run here: the docker client has no engine to ask (${(probe.stderr.split('\n')[0] ?? '').trim()})`);
  } else notes.push('docker is not installed: its rows are skipped');
  rows['node -e 0 (the floor)'] = () => timed(process.execPath, ['-e', '0']);

  const samples = Object.fromEntries(Object.keys(rows).map((name) => [name, []]));
  for (let round = 0; round <= runs; round++) {
    for (const name of Object.keys(rows).sort(() => Math.random() - 0.5)) {
      const ms = rows[name]();
      if (round > 0) samples[name].push(ms); // round 0 warms the page cache
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const m = Object.fromEntries(Object.entries(samples).map(([name, xs]) => [name, median(xs)]));
  console.log(`CLI start time, spawn to exit, median of ${runs} runs`);
  for (const note of notes) console.log(`(${note})`);
  for (const [name, ms] of Object.entries(m)) console.log(`${name.padEnd(26)} ${ms.toFixed(1).padStart(7)} ms`);
  const ratio = (a, b) => (m[a] !== undefined && m[b] !== undefined ? `${(m[a] / m[b]).toFixed(2)}` : 'n/a');
  console.log(`berth ÷ podman: --version ${ratio('berth --version', 'podman --version')}, ps -a ${ratio(`berth ps -a (${count})`, `podman ps -a (${count})`)}`);
  console.log(`berth ÷ docker: --version ${ratio('berth --version', 'docker --version')}, ps -a ${ratio(`berth ps -a (${count})`, 'docker ps -a')}`);
} finally {
  if (podmanBin) {
    spawnSync(podmanBin, [...podman, 'rm', '-a', '-f'], { stdio: 'ignore' });
    spawnSync(podmanBin, [...podman, 'system', 'reset', '-f'], { stdio: 'ignore' });
  }
  rmSync(dir, { recursive: true, force: true });
}
