import { closeSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { BerthError, ContainerSetupError, errnoName } from '../errors.js';
import { nativeAddon, sealedHelper, type SealedHelper } from '../native/addon.js';
import type { ExitRecord } from './container-state.js';
import type { PublishedPort } from '../../types/network.js';
import type { SpawnedMonitor } from '../../types/native.js';

/** The events berth-monitor writes on its control pipe (fd 3), one JSON object per line. */
type MonitorEvent =
  | { event: 'started'; pid: number; startedAt: string; ports?: PublishedPort[] }
  | { event: 'error'; step: string; syscall: string; errno: number; path: string }
  | ({ event: 'exited' } & ExitRecord);

/** A monitor this process started: its attached stdio and the exit event. */
export interface MonitorHandle {
  pid: number;
  containerPid: number;
  stdin: Writable | null;
  stdout: Readable | null;
  stderr: Readable | null;
  /** Resolves with the exit record, or `undefined` if the monitor went away without one. */
  exited: Promise<ExitRecord | undefined>;
  /** Keep this process alive while someone waits for the exit (or not). */
  setKeepAlive(keep: boolean): void;
}

export interface LaunchOptions {
  containerId: string;
  attach: boolean;
  stdin: boolean;
}

/** A monitor spawned and waiting for its spec (its fd 4). */
export interface MonitorLaunch {
  /**
   * Hands the monitor its spec (lib/container/monitor-spec.ts) and closes
   * the pipe; resolves once the container's command has been exec'd. A
   * setup failure rejects with a ContainerSetupError naming the step, the
   * system call, the errno and the path.
   */
  send(spec: Buffer): Promise<MonitorHandle>;
  /**
   * Closes the pipe without a spec: the monitor exits having started
   * nothing (it reads no `end`). For a start that failed before its spec
   * was whole.
   */
  abort(): void;
}

/**
 * Starts berth-monitor for the container in `dir`, detached in its own session
 * so it outlives this process. It starts up while the caller makes what the
 * spec names (the cgroups, the /etc files), then waits for the spec.
 * @throws ContainerSetupError step `monitor` when the process cannot be spawned.
 */
export function spawnMonitor(dir: string, options: LaunchOptions): MonitorLaunch {
  let spawned;
  let monitor: SealedHelper | undefined;
  const failure = (error: unknown) => {
    if (error instanceof BerthError) return error;
    const e = error as { message: string; errno?: number; syscall?: string };
    return new ContainerSetupError(`cannot start berth-monitor: ${e.message}`, {
      step: 'monitor', code: e.errno ? errnoName(e.errno) : 'ERR_MONITOR', errno: e.errno, syscall: e.syscall ?? 'posix_spawn',
      path: monitor?.argv0, containerId: options.containerId, cause: error,
    });
  };
  try {
    // the sealed copy, so that the container's first process (a clone of the
    // monitor until its execve) and any restart never run the file on disk
    monitor = sealedHelper('berth-monitor');
    spawned = nativeAddon().spawnMonitor(monitor.path, [dir], { stdin: options.stdin, attach: options.attach, argv0: monitor.argv0 });
  } catch (error) {
    throw failure(error);
  }
  const ours = spawned;
  // the spawn itself runs on a thread of the addon's, while the caller makes the spec
  const pid = ours.pid.catch((error: unknown) => {
    for (const fd of [ours.control, ours.stdin, ours.stdout, ours.stderr]) if (fd >= 0) closeSync(fd);
    throw failure(error);
  });
  let specFd = ours.spec;
  const closeSpec = () => {
    if (specFd >= 0) closeSync(specFd);
    specFd = -1;
  };
  let started: Promise<MonitorHandle> | undefined;
  const events = () => (started ??= pid.then((monitorPid) => monitorEvents(dir, options, ours, monitorPid)));
  return {
    send(spec: Buffer): Promise<MonitorHandle> {
      try {
        // the pipe holds it until the monitor reads; a spec larger than the
        // pipe blocks here until the monitor has read the rest
        for (let offset = 0; offset < spec.length;) offset += writeSync(specFd, spec, offset);
      } catch (error) {
        // EPIPE: the monitor is gone (or was never spawned); its control pipe or the spawn says why
        if ((error as NodeJS.ErrnoException).code !== 'EPIPE') {
          closeSpec();
          events().catch(() => {});
          throw error;
        }
      }
      closeSpec();
      return events();
    },
    abort(): void {
      closeSpec();
      events().catch(() => {}); // its error (no spec) is not the start's
    },
  };
}

/** How long a failed start waits for its monitor to exit before it reports the failure anyway. */
const MONITOR_EXIT_AFTER_ERROR_MS = 5_000;

/** The monitor's events on its control pipe, from `started` (or `error`) to `exited`. */
function monitorEvents(dir: string, options: LaunchOptions, spawned: SpawnedMonitor, monitorPid: number): Promise<MonitorHandle> {
  const stream = (fd: number, readable: boolean) => (fd < 0 ? null : new Socket({ fd, readable, writable: !readable }));
  const control = stream(spawned.control, true)!;
  const stdin = stream(spawned.stdin, false);
  const stdout = stream(spawned.stdout, true);
  const stderr = stream(spawned.stderr, true);
  let resolveExited!: (record: ExitRecord | undefined) => void;
  const exited = new Promise<ExitRecord | undefined>((resolve) => (resolveExited = resolve));

  return new Promise<MonitorHandle>((resolve, reject) => {
    let buffered = '';
    let settled = false;
    let setupError: ContainerSetupError | undefined;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    control.setEncoding('utf8');
    control.on('data', (chunk: string) => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        let event: MonitorEvent;
        try {
          event = JSON.parse(line) as MonitorEvent;
        } catch {
          fail(new ContainerSetupError(`berth-monitor sent a malformed event: ${line.slice(0, 200)}`, {
            step: 'monitor', code: 'ERR_MONITOR_PROTOCOL', path: dir, containerId: options.containerId,
          }));
          continue;
        }
        if (event.event === 'started') {
          settled = true;
          control.unref();
          resolve({
            pid: monitorPid,
            containerPid: event.pid,
            stdin,
            stdout,
            stderr,
            exited,
            setKeepAlive: (keep) => (keep ? control.ref() : control.unref()),
          });
        } else if (event.event === 'error') {
          const code = errnoName(event.errno);
          const where = event.path ? ` \`${event.path}\`` : '';
          // reported once the monitor has exited (its control pipe closes): when start() fails, nothing of
          // the attempt is left running or mounted; bounded, in case something else holds the pipe open
          setupError ??= new ContainerSetupError(
            `container setup failed at step '${event.step}': ${event.syscall}${where}: ${code}${setupHint(event.step, code)}`,
            { step: event.step, syscall: event.syscall, errno: event.errno, code, path: event.path, containerId: options.containerId },
          );
          const giveUp = setTimeout(() => fail(setupError!), MONITOR_EXIT_AFTER_ERROR_MS).unref();
          control.once('close', () => clearTimeout(giveUp));
        } else {
          const { event: _kind, ...record } = event;
          resolveExited(record);
        }
      }
    });
    control.once('close', () => {
      reapSoon(monitorPid);
      resolveExited(undefined);
      fail(setupError ?? new ContainerSetupError('berth-monitor exited before the container started', {
        step: 'monitor', code: 'ERR_MONITOR_EXITED', path: dir, containerId: options.containerId,
      }));
    });
  });
}

/**
 * The monitor is our child until this process exits: collect its exit status
 * once it is gone (its control pipe closes as it exits, but after the exit it
 * reported it may still be letting go of the container's filesystem, which
 * syncs it: retried for about a minute, more and more slowly).
 */
function reapSoon(pid: number, attempt = 0): void {
  if (nativeAddon().reap(pid) || attempt > 70) return;
  setTimeout(() => reapSoon(pid, attempt + 1), Math.min(5 * 2 ** Math.floor(attempt / 10), 1000)).unref();
}

/** What to do about the most common setup failures. */
function setupHint(step: string, code: string): string {
  if (step === 'exec' && code === 'ENOENT') return ' (the command is not in the image, or not on its PATH)';
  if (step === 'exec' && code === 'EACCES') return ' (the command is not executable)';
  if (step === 'rootfs' && code === 'ENOENT') return ' (the image layer or rootfs directory does not exist)';
  if (step === 'cwd' && code === 'ENOTDIR') return ' (the working directory is a file in the image)';
  if (step === 'userns' && code === 'EPERM') return ' (newuidmap/newgidmap refused the maps: the caller needs ranges in /etc/subuid and /etc/subgid, and the tools must be setuid root; see docs/rootless.md)';
  if (step === 'userns' && code === 'EINVAL') return ' (the kernel or this filesystem refuses an idmapped mount, which userns needs for image layers and named volumes)';
  return '';
}
