/**
 * Test parts for the rootless phase (`rootless-user-*.test.ts`, run as the
 * test user by test/rootless-phase.mjs): the user's ids, a rootless berth
 * runtime on a temporary root, files removed through the user's own user
 * namespace, rootless podman beside it.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Runtime } from '../lib/index.js';
import { busyboxTar, requireTool } from './image-helpers.js';

const run = promisify(execFile);

/** The test user test/rootless-phase.mjs makes (keep the two alike). */
export const ROOTLESS_USER = { name: 'berth-rootless', uid: 2901, gid: 2901, home: '/home/berth-rootless', subStart: 200000, subCount: 65536 } as const;

/** The host id of container id `id` in a rootless container: the user for 0, its subordinate range from 1. */
export function hostIdOf(id: number): number {
  return id === 0 ? ROOTLESS_USER.uid : ROOTLESS_USER.subStart + id - 1;
}

/** `/proc/self/uid_map` (and gid_map) of a rootless container, each line's fields joined by one space. */
export function expectedUidMap(): string[] {
  return [`0 ${ROOTLESS_USER.uid} 1`, `1 ${ROOTLESS_USER.subStart} ${ROOTLESS_USER.subCount}`];
}

/** The lines of a uid_map/gid_map text, fields joined by one space. */
export function mapLines(text: string): string[] {
  return text.trim().split('\n').map((line) => line.trim().split(/\s+/).join(' '));
}

/** The address test/rootless-phase.mjs put in the test namespace (on lo), for outbound tests. */
export function outboundAddress(): string {
  const address = process.env.BERTH_TEST_OUTBOUND_ADDRESS;
  if (!address) throw new Error('BERTH_TEST_OUTBOUND_ADDRESS is not set: run the rootless tests with `node test/run.mjs rootless-user`');
  return address;
}

/**
 * Removes `path` with everything in it, files of subordinate ids included:
 * `rm -rf` inside a user namespace of the user's own ranges (`unshare
 * --map-auto`, newuidmap/newgidmap), where it is root over them.
 */
export function removeAsUserNamespaceRoot(path: string): void {
  if (!existsSync(path)) return;
  execFileSync('unshare', ['--map-root-user', '--map-auto', 'rm', '-rf', '--', path], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A temporary directory of the test user, removed (subordinate ids' files too) on dispose. */
export function userTemporaryDir(prefix = 'berth-rootless-'): { path: string } & Disposable {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, [Symbol.dispose]: () => removeAsUserNamespaceRoot(path) };
}

/**
 * A rootless runtime (the default for a non-root caller) on a fresh temporary
 * root; disposing it removes every container, network and volume, then the root.
 */
export async function rootlessRuntime(): Promise<Runtime & AsyncDisposable> {
  const root = mkdtempSync(join(tmpdir(), 'berth-test-'));
  const runtime = await Runtime.open({ root });
  return Object.assign(runtime, {
    async [Symbol.asyncDispose]() {
      try {
        for (const container of await runtime.containers.list({ all: true })) await container.remove({ force: true });
        for (const network of await runtime.networks.list()) await runtime.networks.remove(network.name);
        for (const volume of await runtime.volumes.list()) await runtime.volumes.remove(volume.name);
      } finally {
        removeAsUserNamespaceRoot(root);
      }
    },
  });
}

export interface RootlessPodman extends AsyncDisposable {
  /** An image made from the host's busybox-static in this podman's storage. */
  image: string;
  /** `podman run …` with this podman's storage; its stdout. */
  run(args: string[]): Promise<{ stdout: string }>;
}

/**
 * Rootless podman of the test user with storage of its own (a temporary
 * directory; no systemd session here, so cgroupfs and file events), and the
 * busybox image imported into it. Dispose removes the storage and ends the
 * pause process podman keeps for its user namespace.
 */
export async function rootlessPodman(): Promise<RootlessPodman> {
  requireTool('/usr/bin/podman', 'podman');
  const dir = mkdtempSync(join(tmpdir(), 'berth-podman-'));
  // podman refuses a runroot longer than 50 characters: in XDG_RUNTIME_DIR
  const runroot = mkdtempSync(join(process.env.XDG_RUNTIME_DIR ?? tmpdir(), 'podman-'));
  const global = [
    '--root', join(dir, 'storage'), '--runroot', runroot, '--tmpdir', join(dir, 'tmp'),
    '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', '--storage-driver', 'overlay',
  ];
  const podman = async (args: string[], input?: Buffer) => {
    try {
      if (input) return { stdout: execFileSync('podman', [...global, ...args], { input, encoding: 'utf8', stdio: 'pipe', maxBuffer: 64 * 1024 * 1024 }) };
      const { stdout } = await run('podman', [...global, ...args], { maxBuffer: 64 * 1024 * 1024 });
      return { stdout };
    } catch (error) {
      throw new Error(`podman ${args.join(' ')} failed: ${(error as { stderr?: string }).stderr ?? (error as Error).message}`);
    }
  };
  const image = 'localhost/busybox-rootless:1';
  const dispose = async () => {
    try {
      await podman(['unshare', 'rm', '-rf', join(dir, 'storage')]).catch(() => undefined);
    } finally {
      endPauseProcess(dir, runroot);
      removeAsUserNamespaceRoot(dir);
      removeAsUserNamespaceRoot(runroot);
    }
  };
  try {
    await podman(['import', '--change', 'CMD ["sh"]', '-', image], busyboxTar());
  } catch (error) {
    await dispose();
    throw error;
  }
  // no cgroups (none delegated to the user); crun 1.8 refuses a hybrid host's layout even so, rootless runc runs without them there
  const runtime = hybridCgroups() ? (requireTool('/usr/sbin/runc', 'runc'), ['--runtime', '/usr/sbin/runc']) : ['--cgroups=disabled'];
  return { image, run: (args) => podman(['run', ...runtime, ...args]), [Symbol.asyncDispose]: dispose };
}

/** Ends the pause process rootless podman left to hold its user namespace (by the pid it recorded in its tmpdir or runroot). */
function endPauseProcess(dir: string, runroot: string): void {
  for (const file of [join(dir, 'tmp', 'pause.pid'), join(runroot, 'libpod', 'tmp', 'pause.pid')]) {
    let pid: number;
    try {
      pid = Number(readFileSync(file, 'utf8').trim());
    } catch {
      continue;
    }
    if (Number.isInteger(pid) && pid > 1) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  }
}

/** cgroup v1 controllers beside a cgroup2 mount at /sys/fs/cgroup/unified. */
function hybridCgroups(): boolean {
  return existsSync('/sys/fs/cgroup/unified/cgroup.procs') && existsSync('/sys/fs/cgroup/memory/cgroup.procs');
}

/** Whether the test user's own cgroup (v2) is delegated to it: then limits work rootless. */
export function hasCgroupDelegation(): boolean {
  const line = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'));
  if (!line || !existsSync('/sys/fs/cgroup/cgroup.controllers')) return false;
  const dir = join('/sys/fs/cgroup', line.slice(3));
  try {
    execFileSync('test', ['-w', join(dir, 'cgroup.procs'), '-a', '-w', join(dir, 'cgroup.subtree_control')]);
    return true;
  } catch {
    return false;
  }
}
