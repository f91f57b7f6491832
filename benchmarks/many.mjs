#!/usr/bin/env node
// Many containers (issue 15, part 5): starts `--count` idle containers
// (`sleep 3600`, default 1,000) in batches, then prints the create+start rate,
// each monitor's memory (RSS and PSS, median and total), `list()` of the
// running ones, `list({ all: true })`, `Runtime.open()` from a fresh Node
// process, and stop+remove of them all.
//
//   node benchmarks/many.mjs [--count N] [--batch N] [--rounds N]   (as root, after `npm run build`)
//
// Runs in a private mount namespace, with a temporary state root. The
// containers are owner-bound (`removeOnOwnerExit`): should the benchmark die
// even by SIGKILL, their monitors remove them, and the process outside the
// namespace recovers and deletes the root; on SIGINT/SIGTERM or an error the
// benchmark stops creating, removes every container, and deletes the root.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInPrivateMountNamespace } from './mount-namespace.mjs';
import { kib, median } from './monitor-rss.mjs';

const repo = dirname(dirname(fileURLToPath(import.meta.url)));
const flag = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  const value = at > 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) {
    console.error(`--${name} takes a positive integer\nusage: node benchmarks/many.mjs [--count N] [--batch N] [--rounds N]`);
    process.exit(2);
  }
  return value;
};
const count = flag('count', 1000);
const batch = flag('batch', 20);
const rounds = flag('rounds', 11);
if (!process.env.BERTH_BENCH_NAMESPACE) {
  // outside: the state root is made here, so that whatever the benchmark
  // inside leaves when it is killed (SIGKILL: containers created but not
  // started, the cgroups of a start under way) is cleaned up after it
  process.env.BERTH_BENCH_MANY_ROOT = mkdtempSync(join(tmpdir(), 'berth-bench-many-'));
  const status = runInPrivateMountNamespace('BERTH_BENCH_NAMESPACE', repo);
  process.exit(await removeLeftovers(process.env.BERTH_BENCH_MANY_ROOT) ? status : 1);
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (!interrupted) console.error(`\n${signal}: stopping, removing every container`);
    interrupted = true;
  });
}

/**
 * After the benchmark (outside its namespace): a root it left (it was killed)
 * is recovered (Runtime.open: exits recorded, cgroups removed), emptied of
 * containers, and deleted. False when something could not be removed.
 */
async function removeLeftovers(root) {
  if (!existsSync(root)) return true;
  try {
    const { Runtime } = await import('../dist/index.js');
    const left = await Runtime.open({ root });
    const containers = await left.containers.list({ all: true });
    for (const container of containers) await container.remove({ force: true });
    rmSync(root, { recursive: true, force: true });
    console.error(`cleanup after the benchmark: ${containers.length} containers removed, ${root} deleted`);
    return true;
  } catch (error) {
    console.error(`cleanup after the benchmark: ${root}: ${error.message}`);
    return false;
  }
}

const { Runtime } = await import('../dist/index.js');
const stateRoot = process.env.BERTH_BENCH_MANY_ROOT;
const runtime = await Runtime.open({ root: stateRoot, removeOnOwnerExit: true });
const containers = [];
const ms = (value) => `${value.toFixed(1)} ms`;
/** Wall and CPU (user + system) milliseconds of `fn`: the machine may be shared, the CPU time says what it cost. */
const timed = async (fn) => {
  const began = performance.now();
  const cpu = process.cpuUsage();
  const result = await fn();
  const used = process.cpuUsage(cpu);
  return { ms: performance.now() - began, cpuMs: (used.user + used.system) / 1000, result };
};
/**
 * Median, min and max of `rounds` runs of `measure` (which resolves with `{ ms, result }`);
 * `result` must be `expected` containers each time.
 */
const repeat = async (what, expected, measure) => {
  const times = [];
  const cpu = [];
  for (let i = 0; i < rounds && !interrupted; i++) {
    const { ms: took, cpuMs, result } = await measure();
    if (result !== expected) throw new Error(`${what}: ${result} containers, expected ${expected}`);
    times.push(took);
    cpu.push(cpuMs);
  }
  return `${ms(median(times))} median (min ${ms(Math.min(...times))}, max ${ms(Math.max(...times))}; CPU ${ms(median(cpu))}; ${times.length} rounds)`;
};
/** Runtime.open() timed inside a new Node process (module loading outside the clock). */
const openInFreshProcess = () => {
  const script = `const { Runtime } = await import(${JSON.stringify(join(repo, 'dist', 'index.js'))});
    const began = performance.now();
    const cpu = process.cpuUsage();
    const runtime = await Runtime.open({ root: ${JSON.stringify(stateRoot)} });
    const used = process.cpuUsage(cpu);
    const took = performance.now() - began;
    const running = (await runtime.containers.list()).length;
    console.log(JSON.stringify({ took, cpuMs: (used.user + used.system) / 1000, running }));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`Runtime.open in a fresh process failed: ${child.stderr}`);
  const { took, cpuMs, running } = JSON.parse(child.stdout);
  return { ms: took, cpuMs, result: running };
};

let exitCode = 0;
try {
  console.log(`berth many-containers benchmark — ${new Date().toISOString()}, ${count} containers, batches of ${batch}, ` +
    `kernel ${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}, node ${process.version}`);
  const image = await runtime.images.get('localhost/busybox');
  const rootfs = image.layerPaths[0];

  const created = await timed(async () => {
    while (containers.length < count && !interrupted) {
      const size = Math.min(batch, count - containers.length);
      await Promise.all(Array.from({ length: size }, async () => {
        const container = await runtime.containers.create({ rootfs, cmd: ['sleep', '3600'], labels: { bench: 'many' } });
        containers.push(container);
        await container.start();
      }));
    }
  });
  if (interrupted) throw new Error('interrupted');
  console.log(`create+start: ${count} in ${(created.ms / 1000).toFixed(1)} s, ${(count / (created.ms / 1000)).toFixed(0)} containers/s`);

  const rss = [];
  const pss = [];
  for (const container of containers) {
    const { state } = await container.inspect();
    if (!state.running) throw new Error(`container ${container.name} is ${state.status}`);
    rss.push(kib(`/proc/${state.monitorPid}/status`, 'VmRSS'));
    pss.push(kib(`/proc/${state.monitorPid}/smaps_rollup`, 'Pss'));
  }
  const sum = (values) => values.reduce((a, b) => a + b, 0);
  console.log(`monitor memory: RSS median ${median(rss)} KiB (total ${(sum(rss) / 1024).toFixed(0)} MiB), ` +
    `PSS median ${median(pss)} KiB (total ${(sum(pss) / 1024).toFixed(0)} MiB)`);

  // five exited ones, so that `all` has more to list than the running
  const exited = containers.splice(0, 5);
  for (const container of exited) {
    await container.kill('SIGKILL');
    await container.wait();
  }
  containers.push(...exited);
  const running = count - exited.length;
  console.log(`list() of ${running} running (of ${count}):      ${await repeat('list', running, () => timed(async () => (await runtime.containers.list()).length))}`);
  console.log(`list({ all: true }) of ${count}:            ${await repeat('list all', count, () => timed(async () => (await runtime.containers.list({ all: true })).length))}`);
  console.log(`list({ labels }) of ${running} running:        ${await repeat('list labels', running, () => timed(async () => (await runtime.containers.list({ labels: { bench: 'many' } })).length))}`);
  console.log(`Runtime.open() in a fresh process:       ${await repeat('open', running, async () => openInFreshProcess())}`);

  const removed = await timed(async () => {
    for (let i = 0; i < containers.length; i += batch) {
      await Promise.all(containers.slice(i, i + batch).map((container) => container.remove({ force: true })));
    }
  });
  console.log(`stop+remove (SIGKILL): ${count} in ${(removed.ms / 1000).toFixed(1)} s, ${(count / (removed.ms / 1000)).toFixed(0)} containers/s`);
  containers.length = 0;
} catch (error) {
  exitCode = 1;
  console.error(interrupted ? 'interrupted: no (further) results' : (error.stack ?? String(error)));
} finally {
  const problems = [];
  try {
    for (const container of await runtime.containers.list({ all: true })) {
      await container.remove({ force: true }).catch((error) => problems.push(`${container.name}: ${error.message}`));
    }
  } catch (error) {
    problems.push(`listing: ${error.message}`);
  }
  const left = readdirSync(join(stateRoot, 'containers'));
  if (left.length) problems.push(`${left.length} container directories left`);
  rmSync(stateRoot, { recursive: true, force: true });
  if (problems.length) {
    exitCode = 1;
    console.error(`cleanup: ${problems.join('; ')}`);
  } else {
    console.log(`cleanup: ok (every container removed, ${stateRoot} deleted)`);
  }
}
process.exit(exitCode);
