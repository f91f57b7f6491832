#!/usr/bin/env node
// Runs every test in test/ with node's test runner, inside a network and mount
// namespace of its own (unshare --net --mount), so nothing a test creates
// reaches the host's network or mount table. Tests print why they skip.
//
// Whatever a test needs from the network is fetched first, outside that
// namespace (see `prepare`): the VM's kernel and busybox packages, and the npm
// dependencies of the packed tarball that test/package-install.test.ts installs.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeBerthCgroupParents } from '../scripts/berth-cgroup-parents.mjs';
import { isRootlessUserFile, openRootlessSandbox, prepareRootlessUser, runRootlessPhase } from './rootless-phase.mjs';

/** Files of the rootless work: `rootless-user-*` run as the test user, the other `rootless-*` as root with steps as that user. */
const isRootlessFile = (file) => basename(file).startsWith('rootless-');

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);

// Node 20's --test-timeout bounds each test file (not each test): generous for
// the slowest legitimate file, so a hang fails the run instead of stalling it.
// The VM's phase gets the VM test's own budget (its run-in-vm.sh -t is 840 s).
const FILE_TIMEOUT_MS = 240_000;
const VM_FILE_TIMEOUT_MS = 900_000;

function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'fixtures' ? [] : testFiles(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const filter = process.argv.slice(2);
const files = testFiles(here)
  .filter((file) => filter.length === 0 || filter.some((f) => file.includes(f)))
  .map((file) => relative(root, file))
  .sort();
// Tests that time CPU use must not share the machine with the VM (QEMU keeps
// both cores busy), so the VM's tests run on their own, after the rest.
const alone = (file) => file.includes('-vm.test.');

if (!process.env.BERTH_TEST_NAMESPACE) {
  if (process.getuid?.() !== 0) {
    console.error('berth tests need root (they create namespaces, mounts and containers): run them as root');
    process.exit(1);
  }
  const prepared = prepare();
  const result = spawnSync('unshare', ['--net', '--mount', '--propagation', 'private', process.execPath, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, ...prepared.env, BERTH_TEST_NAMESPACE: '1' },
  });
  prepared.cleanup();
  process.exit(result.status ?? 1);
}

/** Runs `command`; on failure prints its output and ends the run (a preparation that failed is not a test result). */
function mustRun(what, command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (result.status !== 0) {
    process.stderr.write(`${result.stdout ?? ''}${result.stderr ?? ''}`);
    console.error(`test/run.mjs: ${what} failed (${result.error?.message ?? `exit ${result.status}`}), before any test ran`);
    process.exit(1);
  }
  return result;
}

/** What the selected tests need from the network, fetched while there is one. */
function prepare() {
  const env = {};
  const cleanups = [];
  if (files.some(isRootlessFile)) {
    try {
      prepareRootlessUser();
    } catch (error) {
      console.error(`test/run.mjs: preparing the rootless test user failed (${error.message}), before any test ran`);
      process.exit(1);
    }
  }
  if (files.some(alone) && vmPhaseWillBoot()) {
    env.BERTH_TEST_VM_BOOTS = '1';
    // silent and quick when the cache is complete; on a cold cache it says what
    // it downloads (Debian's kernel and busybox-static packages, apt-get download)
    mustRun('preparing the VM cache (test/vm/run-in-vm.sh --setup)', 'bash', [join(here, 'vm/run-in-vm.sh'), '--setup'], { stdio: ['ignore', 'inherit', 'inherit'] });
  }
  if (files.some((file) => file.includes('package-install.test.'))) {
    const dir = mkdtempSync(join(tmpdir(), 'berth-package-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    mustRun('packing and installing berth (test/package-prepare.mjs)', process.execPath, [join(here, 'package-prepare.mjs'), dir]);
    env.BERTH_TEST_PACKAGE_DIR = dir;
  }
  return { env, cleanup: () => cleanups.forEach((cleanup) => cleanup()) };
}

/** The VM test boots a VM only on a cgroup v1 or hybrid host with QEMU (the test's own skip conditions). */
function vmPhaseWillBoot() {
  if (spawnSync('sh', ['-c', 'command -v qemu-system-x86_64'], { stdio: 'ignore' }).status !== 0) return false;
  const mode = mustRun('detecting the cgroup mode', process.execPath, [
    '--import', 'tsx', '--input-type=module', '-e',
    "import { cgroupMode } from './lib/cgroup/cgroup-driver.ts'; process.stdout.write(cgroupMode());",
  ]).stdout;
  return mode !== 'v2';
}

spawnSync('ip', ['link', 'set', 'lo', 'up'], { stdio: 'inherit' });

// `rootless-user-*.test.ts` run as the unprivileged test user, in a phase of
// their own (test/rootless-phase.mjs); other `rootless-*` files run as root.
// `*-cgroup-v2.test.ts` test what only a cgroup v2 host has: when this run
// boots the cgroup v2 VM, they run there (test/cgroup-v2-vm.test.ts), counted
// in its result, rather than skipping here; without the VM they run here and
// skip with their reason.
const vmOnly = (f) => process.env.BERTH_TEST_VM_BOOTS === '1' && f.includes('-cgroup-v2.test.');
const phases = [
  { files: files.filter((f) => !alone(f) && !isRootlessUserFile(f) && !vmOnly(f)), timeout: FILE_TIMEOUT_MS },
  { files: files.filter((f) => !alone(f) && isRootlessUserFile(f)), timeout: FILE_TIMEOUT_MS, rootless: true },
  { files: files.filter(alone), timeout: VM_FILE_TIMEOUT_MS },
].filter((phase) => phase.files.length > 0);
// a file cut off by the timeout counts as cancelled: a failure too
const totals = { pass: 0, fail: 0, cancelled: 0, skipped: 0 };
let status = 0;
for (const phase of phases) {
  const { output, status: phaseStatus } = phase.rootless
    ? runRootlessPhase({ root, nodeArgs: testRunnerArgs(phase) })
    : runAsRoot(phase);
  process.stdout.write(output);
  for (const key of Object.keys(totals)) {
    const match = new RegExp(`^ℹ ${key} (\\d+)$`, 'm').exec(output);
    totals[key] += match ? Number(match[1]) : 0;
  }
  if (phaseStatus !== 0) status = phaseStatus || 1;
}
removeBerthCgroupParents();
if (phases.length > 1) {
  if (totals.cancelled > 0) console.log(`${totals.cancelled} test file(s) timed out (counted as failed below)`);
  console.log(`${totals.pass} passed, ${totals.fail + totals.cancelled} failed, ${totals.skipped} skipped`);
}
process.exit(status);

/** node's arguments that run a phase's files with its test runner (paths relative to the checkout). */
function testRunnerArgs(phase) {
  return ['--import', 'tsx', '--test', '--test-reporter', 'spec', '--test-concurrency', '2', `--test-timeout=${phase.timeout}`, ...phase.files];
}

/**
 * Runs a phase's files with node's test runner as root; its output and exit
 * status. Root's `rootless-*` files run steps as the test user: they get the
 * checkout where that user can reach it (the rootless sandbox's read-only
 * bind mount; the checkout itself may be under a 0700 /root) in
 * BERTH_TEST_USER_CHECKOUT.
 */
function runAsRoot(phase) {
  const sandbox = phase.files.some(isRootlessFile) ? openRootlessSandbox(root) : undefined;
  try {
    const result = spawnSync(process.execPath, testRunnerArgs(phase), {
      cwd: root,
      stdio: ['inherit', 'pipe', 'inherit'],
      env: sandbox ? { ...process.env, BERTH_TEST_USER_CHECKOUT: sandbox.checkout } : process.env,
      maxBuffer: 256 * 1024 * 1024,
    });
    return { output: result.stdout.toString(), status: result.status ?? 1 };
  } finally {
    for (const problem of sandbox?.close() ?? []) console.error(`test/run.mjs: rootless sandbox: ${problem}`);
  }
}
