import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime, type Container, type ContainerCreateOptions } from '../lib/index.js';
import { connect } from 'node:net';

/** The built-in image, made from the host's busybox-static. */
export const BUSYBOX = 'localhost/busybox';

/** A runtime on a fresh temporary root; disposing it removes every container and the root. */
export async function temporaryRuntime(): Promise<Runtime & AsyncDisposable> {
  const root = mkdtempSync(join(tmpdir(), 'berth-test-'));
  const runtime = await Runtime.open({ root });
  return Object.assign(runtime, {
    async [Symbol.asyncDispose]() {
      for (const container of await runtime.containers.list({ all: true })) await container.remove({ force: true });
      for (const network of await runtime.networks.list()) await runtime.networks.remove(network.name);
      rmSync(root, { recursive: true, force: true });
    },
  });
}

/** Mount points whose path lies under `root` (from this process's mountinfo). */
export function mountsUnder(root: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((mountPoint) => mountPoint.startsWith(root));
}

/** Cgroup directories (in every hierarchy) named after one of `ids`, e.g. a test's containers. */
export function cgroupsNamed(ids: readonly string[], dir = '/sys/fs/cgroup', depth = 0): string[] {
  if (depth > 7) return [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      return [...(ids.includes(entry.name) ? [path] : []), ...cgroupsNamed(ids, path, depth + 1)];
    });
}

/** Pids of processes whose command line mentions `text` (e.g. a runtime root). */
export function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Asserts `grep -E '^(Cap|NoNewPrivs)' /proc/self/status` output: Docker's default set, nothing inheritable or ambient, no_new_privs. */
export function assertDockerDefaultCapabilities(statusLines: string): void {
  const status = Object.fromEntries(statusLines.trim().split('\n').map((line) => line.split(/:\s+/)));
  assert.equal(status.CapEff, '00000000a80425fb');
  assert.equal(status.CapPrm, '00000000a80425fb');
  assert.equal(status.CapBnd, '00000000a80425fb');
  assert.equal(status.CapInh, '0000000000000000');
  assert.equal(status.CapAmb, '0000000000000000');
  assert.equal(status.NoNewPrivs, '1');
}

/** How long a test waits for a container or process that should end promptly. */
export const DEADLINE_MS = 60_000;

/**
 * `promise`, or a rejection naming `what` once `ms` pass first: every wait in a
 * test has a deadline, so a hang fails with a message instead of stalling the run.
 */
export async function withDeadline<T>(promise: Promise<T>, what: string, ms = DEADLINE_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `condition` every `intervalMs` until it holds; rejects naming `what` after `ms`. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, ms = DEADLINE_MS, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Every item `iterable` yields (a stream's chunks, log entries) until it ends; rejects naming `what` after `ms`. */
export function collectAll<T>(iterable: AsyncIterable<T> | null, what: string, ms = DEADLINE_MS): Promise<T[]> {
  return withDeadline((async () => {
    const items: T[] = [];
    for await (const item of iterable ?? []) items.push(item);
    return items;
  })(), what, ms);
}

/** Sends `text` to 127.0.0.1:port, half-closes, returns everything that comes back. */
export function roundTrip(port: number, text: string): Promise<string> {
  return withDeadline(new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.on('end', () => resolve(received));
    socket.on('error', reject);
    socket.end(text);
  }), `the reply on port ${port}`);
}

/** Alive and not a zombie (init on this machine may reap orphans late). */
export function alive(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Creates a container with `options` attached, runs it to its end; its exit code and everything it wrote to stdout. */
export async function runAttached(runtime: Runtime, options: ContainerCreateOptions): Promise<{ exitCode: number; stdout: string }> {
  await using container = await runtime.containers.create({ ...options, attach: true });
  const chunks: Buffer[] = [];
  await container.start();
  container.stdout!.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise((resolve) => container.stdout!.once('end', resolve));
  const status = await withDeadline(container.wait(), 'the container to exit');
  await withDeadline(ended, 'the end of stdout');
  return { exitCode: status.exitCode, stdout: Buffer.concat(chunks).toString() };
}

/**
 * Kills the running container's monitor with SIGKILL, waits for the container
 * to die with it, opens the runtime's root again and asserts that the exit was
 * recorded as the monitor's death, with nothing left running or mounted.
 * Returns the container as the new runtime sees it.
 */
export async function killMonitorAndReopen(runtime: Runtime, container: Container): Promise<Container> {
  const { pid, monitorPid } = (await container.inspect()).state;
  process.kill(monitorPid!, 'SIGKILL');
  await waitUntil(() => !alive(pid!), 'the container process to die with its monitor');
  const reopened = await Runtime.open({ root: runtime.root });
  const again = await reopened.containers.get(container.id);
  const { state } = await again.inspect();
  assert.equal(state.status, 'exited');
  assert.equal(state.exitCode, 255);
  assert.match(state.error!, /monitor died/);
  assert.deepEqual(processesMentioning(runtime.root), []);
  assert.deepEqual(mountsUnder(runtime.root), []);
  return again;
}
