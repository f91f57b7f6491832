#!/usr/bin/env node
// berth's startup benchmark: container start-to-exit of /bin/true for berth and
// its peers, all in one run, plus the memory of an idle container monitor.
//
//   npm run bench                      (builds first)
//   node benchmarks/run.mjs [--runs N] [--warmup N] [--rss-containers N] [--only startup|rss]
//
// Needs root. Re-executes itself under `unshare --mount --propagation private`;
// inside, the cgroup2 mount at /sys/fs/cgroup/unified is hidden (crun 1.8.1
// refuses the hybrid layout), so every peer runs in the same setting. All it
// creates (a temp dir with a berth root, OCI bundles and state, the floor
// binary; cgroups below our own) is removed at the end, and checked.
// See benchmarks/README.md for what each row means.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, lstatSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findCgroupsNamed, hideUnifiedHierarchy, mounts, planCgroupParent, removeCgroups } from './cgroups.mjs';
import { measureMonitorMemory } from './monitor-rss.mjs';
import { inPrivateMountNamespace } from './mount-namespace.mjs';
import { OciRuntime, which } from './oci.mjs';
import { rootlessPeers } from './rootless.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);

function parseArgs(argv) {
  const options = { runs: 100, warmup: 5, rssContainers: 10, only: 'all' };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${flag} needs a value`);
      return v;
    };
    const count = (min) => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < min) usage(`${flag} must be an integer ≥ ${min}`);
      return n;
    };
    if (flag === '--runs') options.runs = count(1);
    else if (flag === '--warmup') options.warmup = count(0);
    else if (flag === '--rss-containers') options.rssContainers = count(1);
    else if (flag === '--only') {
      options.only = value();
      if (!['all', 'startup', 'rss'].includes(options.only)) usage('--only takes startup or rss');
    } else if (flag === '--help' || flag === '-h') usage();
    else usage(`unknown argument ${flag}`);
  }
  return options;
}

function usage(problem) {
  if (problem) console.error(`run.mjs: ${problem}`);
  console.error('usage: node benchmarks/run.mjs [--runs N] [--warmup N] [--rss-containers N] [--only startup|rss]');
  process.exit(problem ? 2 : 0);
}

const options = parseArgs(process.argv.slice(2));

// ---------------------------------------------------------------- re-exec
inPrivateMountNamespace('BERTH_BENCH_NAMESPACE', root);

// ---------------------------------------------------------------- helpers
const { Runtime } = await import('../dist/index.js');

function sh(bin, args) {
  const r = spawnSync(bin, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')}: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
  return r.stdout;
}

const nowNs = () => process.hrtime.bigint();
const msSince = (t0) => Number(nowNs() - t0) / 1e6;

/** Spawns a command (`options`: spawn's, e.g. uid/gid/env) and resolves with ms from spawn() to its 'exit' event; rejects unless it exits 0. */
function spawnTimed(bin, args, options = {}) {
  return new Promise((resolve, reject) => {
    const t0 = nowNs();
    const child = spawn(bin, args, { ...options, stdio: ['ignore', 'ignore', 'pipe'] });
    let ms = 0;
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('exit', () => (ms = msSince(t0)));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve(ms);
      else reject(new Error(`${bin} ${args.join(' ')}: ${signal ?? `exit ${code}`}${stderr ? `: ${stderr.trim()}` : ''}`));
    });
  });
}

/** A copy of `items` in a random order (Fisher–Yates). */
function shuffled(items) {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = p * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { n: sorted.length, median: percentile(sorted, 0.5), p10: percentile(sorted, 0.1), p90: percentile(sorted, 0.9) };
}

/** A listing of every file under dir (path, mode, size, link target): to see that no peer changed the shared rootfs. */
function fingerprint(dir) {
  const hash = createHash('sha256');
  const walk = (path) => {
    for (const entry of readdirSync(path).sort()) {
      const full = join(path, entry);
      const st = lstatSync(full);
      hash.update(`${full.slice(dir.length)} ${st.mode} ${st.isDirectory() ? 0 : st.size}\n`);
      if (st.isDirectory()) walk(full);
    }
  };
  walk(dir);
  return hash.digest('hex');
}

const fmt = (ms) => (Number.isFinite(ms) ? ms.toFixed(2) : 'n/a');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a');

function printTable(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  console.log(line(headers));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

// ---------------------------------------------------------------- setup
let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) return;
  interrupted = true;
  console.error('\ninterrupted: cleaning up');
});
process.on('SIGTERM', () => (interrupted = true));

const problems = []; // failures: the bench exits 1
const warnings = []; // peers that could not run here
const notes = [];
let unifiedScratch = null;
try {
  const hidden = hideUnifiedHierarchy(sh);
  notes.push(hidden.note);
  unifiedScratch = hidden.scratch;
} catch (error) {
  warnings.push(`could not hide the cgroup2 mount at /sys/fs/cgroup/unified (crun may refuse to run): ${error.message}`);
}
const tmp = mkdtempSync('/tmp/berth-bench-');
let cgroupPlan = { error: 'not planned' };
const ociRuntimes = [];
const berthIds = new Set(); // every berth container this run created: to check that their cgroups are gone
let runtime;
let rootless; // the rootless rows' worker and sandbox (benchmarks/rootless.mjs)
let exitCode = 0;

try {
  console.log(`berth startup benchmark — ${new Date().toISOString()}, kernel ${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}, ` +
    `node ${process.version}, ${readdirSync('/sys/devices/system/cpu').filter((e) => /^cpu\d+$/.test(e)).length} CPUs`);
  cgroupPlan = planCgroupParent();
  runtime = await Runtime.open({ root: join(tmp, 'berth-root') });
  const image = await runtime.images.get('localhost/busybox');
  const rootfs = image.layerPaths[0];
  const before = fingerprint(rootfs);
  notes.push(`rootfs for every peer: the built-in busybox layer ${rootfs}`);

  if (options.only !== 'rss') await startupBenchmark(rootfs);
  if (interrupted) throw new Error('interrupted');
  if (options.only !== 'startup') await memoryBenchmark(rootfs);

  if (fingerprint(rootfs) !== before) problems.push(`the shared rootfs ${rootfs} was changed by a peer during the benchmark`);
} catch (error) {
  problems.push(interrupted ? 'interrupted: no results' : (error.stack ?? String(error)));
} finally {
  await cleanup();
  for (const note of notes) console.log(`note: ${note}`);
  for (const warning of warnings) console.log(`WARNING: ${warning}`);
  if (problems.length) {
    exitCode = 1;
    console.error(`\nPROBLEMS:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}
process.exit(exitCode);

// ---------------------------------------------------------------- startup
async function startupBenchmark(rootfs) {
  const floorBin = join(tmp, 'floor');
  try {
    sh('cc', ['-O2', '-static', '-o', floorBin, join(here, 'floor.c')]);
  } catch (error) {
    throw new Error(`cannot compile benchmarks/floor.c (needs gcc and the static libc of libc6-dev; see benchmarks/setup.sh): ${error.message}`);
  }

  /** name, what it times, run() → ms (or throws), optional: a failure skips the row instead of failing the bench */
  const peers = [];
  peers.push({
    name: 'ref: spawn /bin/true (no container)',
    how: 'spawn → exit',
    run: () => spawnTimed('/bin/true', []),
  });
  peers.push({ name: 'floor', how: 'spawn → exit', run: () => spawnTimed(floorBin, [rootfs, '/bin/true']) });

  if (cgroupPlan.error) {
    warnings.push(`crun/runc not run: ${cgroupPlan.error}`);
  } else {
    notes.push(cgroupPlan.describe);
    const peer = (name, bin, label, globalArgs = []) => {
      if (!bin) {
        if (!warnings.some((w) => w.startsWith(`${name.replace(/-.*/, '')} `))) {
          warnings.push(`${name.replace(/-.*/, '')} is not installed: its rows are skipped (install it with benchmarks/setup.sh, or apt-get install -y crun runc)`);
        }
        peers.push({ name: label, how: 'spawn → exit', missing: true, run: async () => NaN });
        return;
      }
      const oci = new OciRuntime({ name, bin, dir: tmp, rootfs, cgroupBase: cgroupPlan.base, globalArgs });
      ociRuntimes.push(oci);
      peers.push({ name: label, how: 'spawn → exit', oci, run: async () => {
        const { id, args } = oci.prepareRun();
        try {
          return await spawnTimed(bin, args);
        } finally {
          // after the clock stopped: what crun wrote for the hidden v2 hierarchy
          if (unifiedScratch) rmSync(join(unifiedScratch, cgroupPlan.base, id), { recursive: true, force: true });
        }
      } });
    };
    const crun = which('crun');
    const runc = which('runc');
    peer('crun', crun, 'crun run', ['--cgroup-manager=cgroupfs']);
    peer('crun-nocg', crun, 'crun run, no cgroups', ['--cgroup-manager=disabled']);
    peer('runc', runc, 'runc run');
    if (ociRuntimes[0]) notes.push(`OCI bundle (from \`crun spec\`/\`runc spec\`): ${ociRuntimes[0].describe()}`);
  }

  const phases = { create: [], start: [], wait: [] };
  peers.push({
    name: 'berth create+start+wait',
    how: 'API, in-process',
    run: async () => {
      const t0 = nowNs();
      const container = await runtime.containers.create({ rootfs, cmd: ['/bin/true'] });
      const t1 = nowNs();
      berthIds.add(container.id);
      try {
        await container.start();
        const t2 = nowNs();
        const { exitCode: code } = await container.wait();
        const t3 = nowNs();
        if (code !== 0) throw new Error(`berth: /bin/true exited ${code}`);
        phases.create.push(Number(t1 - t0) / 1e6);
        phases.start.push(Number(t2 - t1) / 1e6);
        phases.wait.push(Number(t3 - t2) / 1e6);
        return Number(t3 - t0) / 1e6;
      } finally {
        await container.remove({ force: true });
      }
    },
  });
  // start+wait, with Docker's default seccomp profile (as every container) and without any filter
  for (const [name, extra] of [['berth start+wait', {}], ['berth start+wait, no seccomp', { seccomp: 'unconfined' }]]) {
    peers.push({
      name,
      how: 'API, in-process',
      run: async () => {
        const container = await runtime.containers.create({ rootfs, cmd: ['/bin/true'], ...extra });
        berthIds.add(container.id);
        try {
          const t0 = nowNs();
          await container.start();
          const { exitCode: code } = await container.wait();
          const ms = msSince(t0);
          if (code !== 0) throw new Error(`berth: /bin/true exited ${code}`);
          return ms;
        } finally {
          await container.remove({ force: true });
        }
      },
    });
  }

  // rootless berth and rootless podman, as the test suite's unprivileged user; optional rows
  rootless = await rootlessPeers({ root, rootfs, spawnTimed });
  for (const row of rootless.peers) {
    if (row.skipped) warnings.push(`${row.name}: skipped: ${row.skipped}`);
    peers.push(row.skipped ? { ...row, missing: 'skipped' } : row);
  }

  for (const peer of peers) peer.samples = [];
  const active = () => peers.filter((p) => !p.failed && !p.missing);
  const runOnce = async (peer, record) => {
    try {
      const ms = await peer.run();
      if (record) peer.samples.push(ms);
    } catch (error) {
      if (interrupted) return; // the signal reached the peer too
      peer.failed = error.message.split('\n').slice(0, 3).join(' | ');
      // an optional row (the rootless ones) that fails is skipped, not a failure of the benchmark
      if (peer.optional) warnings.push(`${peer.name}: skipped after it failed: ${peer.failed}`);
      else problems.push(`${peer.name} failed: ${peer.failed}`);
    }
  };

  const started = Date.now();
  console.log(`${options.warmup} warm-up + ${options.runs} timed runs per row, interleaved (a new random order every round)…`);
  for (let round = 0; round < options.warmup + options.runs && !interrupted; round++) {
    // shuffled, not rotated: with a rotation each row always follows the same
    // row, and what one row leaves behind (a berth row's monitor exiting, say)
    // would always land on the same next one
    const list = shuffled(active());
    for (let i = 0; i < list.length && !interrupted; i++) {
      await runOnce(list[i], round >= options.warmup);
    }
  }
  if (interrupted) throw new Error('interrupted');

  // the floor again, its loop timed in C: the same containers without Node's spawn
  const inC = { name: 'floor, timed in C', how: 'in C (fork → wait)', samples: [] };
  try {
    const out = sh(floorBin, ['--loop', String(options.warmup + options.runs), rootfs, '/bin/true']);
    inC.samples = out.trim().split('\n').slice(options.warmup).map((ns) => Number(ns) / 1e6);
  } catch (error) {
    inC.failed = error.message;
    problems.push(`floor --loop failed: ${error.message}`);
  }
  peers.splice(2, 0, inC);
  const elapsed = ((Date.now() - started) / 1000).toFixed(1);

  const floor = stats(peers.find((p) => p.name === 'floor').samples).median;
  const crunRow = peers.find((p) => p.name === 'crun run');
  const crunMedian = crunRow && !crunRow.failed && !crunRow.missing ? stats(crunRow.samples).median : NaN;
  console.log(`\nContainer start-to-exit of /bin/true, ms (${elapsed} s)\n`);
  printTable(
    ['peer', 'runs', 'median', 'p10', 'p90', 'vs floor', 'vs crun', 'timed'],
    peers.map((p) => {
      if (p.missing) return [p.name, 0, p.missing === 'skipped' ? 'skipped' : 'not installed', '', '', '', '', p.how];
      if (p.failed) return [p.name, p.samples.length, p.optional ? 'skipped' : 'FAILED', '', '', '', '', p.how];
      const s = stats(p.samples);
      return [p.name, s.n, fmt(s.median), fmt(s.p10), fmt(s.p90), ratio(s.median, floor), ratio(s.median, crunMedian), p.how];
    }),
  );
  if (phases.create.length) {
    const m = (k) => fmt(stats(phases[k]).median);
    console.log(`\nberth create+start+wait, by phase (medians, ms): create ${m('create')}, start ${m('start')} (start() → command exec'd, monitor spawn included), ` +
      `wait ${m('wait')} (exec'd → exit seen)`);
    const median = (name) => {
      const row = peers.find((p) => p.name === name);
      return row && !row.failed && row.samples.length ? stats(row.samples).median : NaN;
    };
    const filtered = median('berth start+wait');
    const unfiltered = median('berth start+wait, no seccomp');
    console.log(`seccomp (Docker's default profile, compiled once, loaded by the container's process): start+wait ${fmt(filtered)} ` +
      `vs ${fmt(unfiltered)} without a filter, a cost of ${fmt(filtered - unfiltered)} ms`);
  }
  console.log('\ntimed: "spawn → exit" = spawned from this Node process with child_process.spawn, from spawn() to the child\'s exit event;');
  console.log('       "API, in-process" = berth\'s API from this same process, from create() (or start()) until wait() resolves (remove() not timed).');

  const berthRow = peers.find((p) => p.name === 'berth create+start+wait');
  const berth = berthRow.failed ? NaN : stats(berthRow.samples).median;
  const crunNoCg = peers.find((p) => p.name === 'crun run, no cgroups');
  const crunNoCgMedian = crunNoCg && !crunNoCg.failed && !crunNoCg.missing ? stats(crunNoCg.samples).median : NaN;
  const yesNo = (ok) => (ok ? 'yes' : 'no');
  console.log('');
  console.log(`berth ≤ 2× floor: ${Number.isFinite(berth) ? yesNo(berth <= 2 * floor) : 'n/a'} (berth create+start+wait ${fmt(berth)} ms = ${ratio(berth, floor)} floor ${fmt(floor)} ms)`);
  console.log(`berth ≤ 0.7× crun without cgroups: ${Number.isFinite(berth) && Number.isFinite(crunNoCgMedian) ? yesNo(berth <= 0.7 * crunNoCgMedian) : 'n/a'} ` +
    `(${fmt(berth)} ms = ${ratio(berth, crunNoCgMedian)} crun run, no cgroups ${fmt(crunNoCgMedian)} ms)`);
  console.log(`berth faster than crun: ${Number.isFinite(berth) && Number.isFinite(crunMedian) ? yesNo(berth < crunMedian) : 'n/a'} ` +
    `(${fmt(berth)} ms vs crun run ${fmt(crunMedian)} ms; crun without cgroups ${fmt(crunNoCgMedian)} ms)`);
  const rowMedian = (name) => {
    const row = peers.find((p) => p.name === name);
    return row && !row.failed && !row.missing && row.samples.length ? stats(row.samples).median : NaN;
  };
  const berthRootless = rowMedian('berth rootless create+start+wait');
  const podmanRootless = rowMedian('podman rootless run');
  console.log(`berth rootless: ${fmt(berthRootless)} ms = ${ratio(berthRootless, berth)} berth as root (${fmt(berth)} ms), ` +
    `${ratio(berthRootless, podmanRootless)} podman rootless run (${fmt(podmanRootless)} ms)`);
}

// ---------------------------------------------------------------- memory
async function memoryBenchmark(rootfs) {
  const result = await measureMonitorMemory(runtime, { rootfs, count: options.rssContainers, onCreate: (c) => berthIds.add(c.id) });
  const list = (values) => values.join(' ');
  console.log(`\nIdle berth-monitor memory, ${result.count} containers running \`sleep 3600\`:`);
  console.log(`  median VmRSS ${result.medianRssKiB} KiB per monitor (each: ${list(result.rssKiB)})`);
  console.log(`  median Pss   ${result.medianPssKiB} KiB per monitor (each: ${list(result.pssKiB)})`);
  console.log(`  containers in cgroups of their own: ${result.ownCgroups} of ${result.count} (read from /proc/PID/cgroup of each container's first process)`);
}

// ---------------------------------------------------------------- cleanup
async function cleanup() {
  // the rootless rows: their worker removes its containers, then the sandbox goes
  if (rootless) {
    try {
      for (const problem of await rootless.close()) problems.push(`cleanup: ${problem}`);
    } catch (error) {
      problems.push(`cleanup: rootless rows: ${error.message}`);
    }
  }
  // berth containers (the benchmarks remove their own; this catches an interrupted run)
  if (runtime) {
    try {
      for (const container of await runtime.containers.list({ all: true })) await container.remove({ force: true });
    } catch (error) {
      problems.push(`cleanup: berth containers: ${error.message}`);
    }
  }
  // berth removes a container's cgroups itself (when it has any): check, and tidy up after it
  try {
    const leaked = findCgroupsNamed(berthIds);
    if (leaked.length) {
      const stayed = await removeCgroups(leaked);
      const removed = leaked.filter((dir) => !stayed.includes(dir));
      if (removed.length) warnings.push(`berth left ${removed.length} container cgroup(s) behind (the bench removed them), e.g. ${removed[0]}`);
      if (stayed.length) problems.push(`cleanup: berth's container cgroups could not be removed: ${stayed.join(', ')}`);
    }
  } catch (error) {
    problems.push(`cleanup: checking berth's cgroups: ${error.message}`);
  }
  for (const oci of ociRuntimes) {
    const left = oci.deleteLeftovers();
    if (left.length) problems.push(`cleanup: ${oci.name} still lists ${left.join(', ')} in ${oci.stateRoot}`);
  }
  if (cgroupPlan.cleanup) {
    const left = await cgroupPlan.cleanup();
    if (left.length) problems.push(`cleanup: cgroups left: ${left.join(', ')}`);
  }
  const mounted = mounts().filter((m) => m.mountPoint === tmp || m.mountPoint.startsWith(`${tmp}/`));
  if (mounted.length) problems.push(`cleanup: still mounted: ${mounted.map((m) => m.mountPoint).join(', ')}`);
  const processes = readdirSync('/proc').filter((pid) => /^\d+$/.test(pid) && Number(pid) !== process.pid).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(tmp);
    } catch {
      return false;
    }
  });
  if (processes.length) problems.push(`cleanup: processes still running from ${tmp}: ${processes.join(', ')}`);
  try {
    rmSync(tmp, { recursive: true, force: true });
  } catch (error) {
    problems.push(`cleanup: ${tmp}: ${error.message}`);
  }
  if (problems.every((p) => !p.startsWith('cleanup:'))) {
    console.log(`\ncleanup: ok (no containers, OCI state, cgroups, mounts or processes left; ${tmp} removed)`);
  }
}
