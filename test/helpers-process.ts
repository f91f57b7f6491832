import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { Runtime, type Container } from '../lib/index.js';
import { mountsUnder, processesMentioning, waitUntil, withDeadline } from './helpers.js';
import { setTimeout as sleep } from 'node:timers/promises';

const fixtures = join(import.meta.dirname, 'fixtures');

/** Runs a fixture script in a separate Node process; resolves with its stdout once it exits. */
export function runFixture(script: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(fixtures, script), ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Starts a fixture script and returns the child process (for killing it mid-way). */
export function startFixture(script: string, args: string[]) {
  return spawn(process.execPath, ['--import', 'tsx', join(fixtures, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
}

/**
 * The JSON `child` prints on stdout, once it has exited 0; rejects with its
 * exit code (and stderr when piped) otherwise, or when `what` takes too long.
 */
export function jsonOutput<T>(child: ChildProcess, what: string): Promise<T> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return withDeadline(
    new Promise<T>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => (code === 0 ? resolve(JSON.parse(stdout) as T) : reject(new Error(`${what} exited ${code}: ${stderr}`))));
    }),
    what,
  );
}

/**
 * The processes whose parent is `parentPid` and that `matches` (given the pid,
 * its /proc/<pid>/stat and a reader of its cmdline); gone ones are left out.
 */
export function childrenOf(parentPid: number, matches: (pid: string, stat: string, cmdline: () => string) => boolean): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return ppid === parentPid && matches(pid, stat, () => readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
      } catch {
        return false;
      }
    })
    .map(Number);
}

/**
 * Starts containers on `root` from fixture processes killed with SIGKILL at
 * `delays` (ms) after they said "starting", then kills whatever monitors got
 * going: the crashes that Runtime.open must clean up after. Returns once no
 * process mentions the root.
 */
export async function crashStartsOn(root: string, delays: readonly number[]): Promise<void> {
  for (const [i, delay] of delays.entries()) {
    const child = startFixture('start-and-hang.ts', [root, `victim-${i}`]);
    await withDeadline(new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('starting') && resolve());
      child.once('exit', (code, signal) => reject(new Error(`the fixture exited (${code ?? signal}) before starting`)));
    }), 'the fixture to start');
    await sleep(delay);
    child.kill('SIGKILL');
    await withDeadline(new Promise((resolve) => child.once('exit', resolve)), 'the killed fixture to exit');
  }
  // whatever got started keeps running under its monitor: now kill those monitors too
  for (const pid of processesMentioning(root)) process.kill(pid, 'SIGKILL');
  await waitUntil(() => processesMentioning(root).length === 0, 'the monitors to go');
}

/**
 * After {@link crashStartsOn}: opens the root again and asserts that every
 * crashed start is a created or exited container with no process, and that no
 * process or mount of the root remains. The containers, as the new runtime sees them.
 */
export async function reopenAfterCrashes(root: string, expected: number): Promise<Container[]> {
  const reopened = await Runtime.open({ root });
  const containers = await reopened.containers.list({ all: true });
  assert.equal(containers.length, expected);
  for (const container of containers) {
    const { state } = await container.inspect();
    assert.ok(state.status === 'created' || state.status === 'exited', `${container.name}: ${state.status}`);
    assert.equal(state.pid, null);
  }
  await sleep(50);
  assert.deepEqual(processesMentioning(root), [], 'no container or monitor process remains');
  assert.deepEqual(mountsUnder(root), [], 'no mount remains');
  return containers;
}
