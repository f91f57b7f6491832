// The startup benchmark's rootless rows, run as the unprivileged user
// berth-rootless (the test suite's user: uid 2901, subordinate ids
// 200000:65536, made by the same idempotent step as test/run.mjs makes it):
//
//   berth rootless create+start+wait   a worker process of that user
//                                      (rootless-worker.mjs) with a rootless
//                                      runtime of its own, timed there
//   podman rootless run                `podman run --rm --network none` as that
//                                      user, spawned from run.mjs, an image of
//                                      the same busybox tree in its own storage
//
// Both live in the rootless sandbox of test/rootless-phase.mjs (a temporary
// directory of the user, the checkout bind-mounted read-only into it, a tmpfs
// on its XDG_RUNTIME_DIR), inside run.mjs's private mount namespace. A row that
// cannot be set up is returned with `skipped` (the reason); a row that fails
// later is optional: it is skipped, never failing the benchmark.
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ROOTLESS_RUNTIME_DIR, ROOTLESS_USER, openRootlessSandbox, prepareRootlessUser } from '../test/rootless-phase.mjs';
import { which } from './oci.mjs';

const ANSWER_MS = 60_000;
const asUser = { uid: ROOTLESS_USER.uid, gid: ROOTLESS_USER.gid };

/**
 * The rootless rows for run.mjs's startup table. `spawnTimed(bin, args,
 * options)` is run.mjs's timer; `rootfs` the busybox layer the root rows use.
 * Returns { peers, close() → problems[] }.
 */
export async function rootlessPeers({ root, rootfs, spawnTimed }) {
  const berthRow = { name: 'berth rootless create+start+wait', how: 'API, in-process', optional: true };
  const podmanRow = { name: 'podman rootless run', how: 'spawn → exit', optional: true };
  const peers = [berthRow, podmanRow];
  let sandbox;
  try {
    prepareRootlessUser();
    sandbox = openRootlessSandbox(root);
  } catch (error) {
    for (const row of peers) row.skipped = `the rootless user or its sandbox could not be set up: ${error.message}`;
    return { peers, close: async () => [] };
  }
  const worker = await startWorker(sandbox).catch((error) => {
    berthRow.skipped = error.message;
    return undefined;
  });
  if (worker) berthRow.run = () => worker.run();
  const podman = preparePodman(sandbox, rootfs);
  if (podman.skipped) podmanRow.skipped = podman.skipped;
  else podmanRow.run = () => spawnTimed(podman.bin, podman.runArgs, { ...asUser, env: sandbox.env, cwd: sandbox.env.TMPDIR });
  const close = async () => {
    const problems = [];
    if (worker) problems.push(...(await worker.stop()));
    podman.endPauseProcess?.();
    problems.push(...sandbox.close());
    return problems.map((problem) => `rootless rows: ${problem}`);
  };
  return { peers, close };
}

/** Starts rootless-worker.mjs as the user; resolves once its runtime is open (the built-in image made). */
async function startWorker(sandbox) {
  const child = spawn(process.execPath, [join(sandbox.checkout, 'benchmarks', 'rootless-worker.mjs')], {
    ...asUser,
    cwd: sandbox.checkout,
    env: { ...sandbox.env, BERTH_BENCH_ROOT: join(sandbox.env.TMPDIR, 'berth-root') },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-2000)));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (what) => {
    let timer;
    const expired = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the rootless worker did not answer within ${ANSWER_MS} ms (${what})`)), ANSWER_MS);
    });
    try {
      const { value, done } = await Promise.race([lines.next(), expired]);
      if (done) throw new Error(`the rootless worker exited (${child.exitCode ?? child.signalCode}): ${stderr.trim()}`);
      const message = JSON.parse(value);
      if (message.error) throw new Error(`berth rootless: ${message.error}`);
      return message;
    } finally {
      clearTimeout(timer);
    }
  };
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), ANSWER_MS);
      await exited;
      clearTimeout(timer);
    }
    return child.exitCode === 0 ? [] : [`the rootless worker ended with ${child.exitCode ?? child.signalCode}: ${stderr.trim()}`];
  };
  try {
    await next('opening its runtime');
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    run: async () => {
      child.stdin.write('run\n');
      return (await next('a run')).ms;
    },
    stop,
  };
}

/**
 * podman's storage for the user in the sandbox, the busybox tree imported into
 * it; its `run` arguments. `skipped` says why the row cannot run.
 */
function preparePodman(sandbox, rootfs) {
  const bin = which('podman');
  if (!bin) return { skipped: 'podman is not installed (apt-get install podman)' };
  const runroot = mkdtempSync(join(ROOTLESS_RUNTIME_DIR, 'podman-')); // podman wants ≤ 50 characters
  chownSync(runroot, ROOTLESS_USER.uid, ROOTLESS_USER.gid);
  const dir = join(sandbox.env.TMPDIR, 'podman');
  mkdirSync(dir, { mode: 0o700 });
  chownSync(dir, ROOTLESS_USER.uid, ROOTLESS_USER.gid);
  const global = [
    '--root', join(dir, 'storage'), '--runroot', runroot, '--tmpdir', join(dir, 'tmp'),
    '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', '--storage-driver', 'overlay',
  ];
  const endPauseProcess = () => {
    for (const file of [join(dir, 'tmp', 'pause.pid'), join(runroot, 'libpod', 'tmp', 'pause.pid')]) {
      const pid = existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : NaN;
      if (Number.isInteger(pid) && pid > 1) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
        // its exit takes a moment; the sandbox's close() must not find it still there
        const deadline = Date.now() + 2000;
        while (existsSync(`/proc/${pid}/cwd`) && readlinkOr(`/proc/${pid}/cwd`) !== '' && Date.now() < deadline) {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        }
      }
    }
  };
  const tar = join(dir, 'busybox.tar');
  const made = spawnSync('tar', ['--owner=0', '--group=0', '--numeric-owner', '-C', rootfs, '-cf', tar, '.'], { encoding: 'utf8' });
  if (made.status !== 0) return { skipped: `tar of the busybox tree failed: ${made.stderr}`, endPauseProcess };
  chownSync(tar, ROOTLESS_USER.uid, ROOTLESS_USER.gid);
  const image = 'localhost/bench-busybox:1';
  const imported = spawnSync(bin, [...global, 'import', tar, image], { ...asUser, env: sandbox.env, cwd: dir, encoding: 'utf8' });
  if (imported.status !== 0) return { skipped: `podman import as ${ROOTLESS_USER.name} failed: ${imported.stderr.trim()}`, endPauseProcess };
  // no cgroups, as rootless berth without delegation
  const runArgs = [...global, 'run', '--rm', '--network', 'none', '--cgroups=disabled', image, '/bin/true'];
  const tried = spawnSync(bin, runArgs, { ...asUser, env: sandbox.env, cwd: dir, encoding: 'utf8' });
  if (tried.status !== 0) return { skipped: `podman run as ${ROOTLESS_USER.name} failed: ${tried.stderr.trim()}`, endPauseProcess };
  return { bin, runArgs, endPauseProcess };
}

/** readlink, or '' when the link cannot be read (a zombie's cwd, a process gone). */
function readlinkOr(path) {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}
