import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { constants } from 'node:os';
import { basename, dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ContainerStatus, SignalName } from '../../types/container.js';
import { nativeAddon } from '../native/addon.js';
import { readJsonIfExists, writeJsonAtomic } from '../state/atomic-file.js';
import type { ContainerPaths } from './container-config.js';

/** monitor.json, written by berth-monitor: its own pid, then the container's. */
export interface MonitorRecord {
  monitorPid: number;
  monitorStartTime: number;
  /** The monitor holds an exclusive flock on monitor.lock while it lives (absent from monitors of older berths). */
  livenessLock?: boolean;
  pid?: number;
  pidStartTime?: number;
  startedAt?: string;
  restartCount?: number;
}

/** exit.json, written by berth-monitor when the container's process has been reaped. */
export interface ExitRecord {
  exitCode: number;
  signal: number;
  oomKilled?: boolean;
  restartCount?: number;
  startedAt: string;
  finishedAt: string;
  /** Set when berth, not the monitor, recorded the exit (the monitor died). */
  error?: string;
}

/** A container's state, derived from its files and the processes they name. */
export interface ContainerState {
  status: ContainerStatus;
  /** A start is under way: the monitor runs but the command has not been exec'd yet. */
  starting: boolean;
  monitorPid: number | null;
  pid: number | null;
  /** With `pid`: its start time, so a signal never reaches a reused pid. */
  pidStartTime?: number;
  exit: ExitRecord | null;
  startedAt: string | null;
  restartCount: number;
}

/**
 * Field 22 of /proc/<pid>/stat (start time in clock ticks), or undefined when
 * there is no such live process. A zombie counts as dead: a monitor whose
 * parent died is reaped by init, sometimes late.
 */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

/** True when `pid` is alive and is the same process that was recorded (not a reused pid). */
export function isSameProcess(pid: number | undefined, startTime: number | undefined): pid is number {
  return pid !== undefined && pid > 0 && processStartTime(pid) === startTime;
}

/**
 * True while the monitor of `record` runs. A monitor that says so holds an
 * exclusive flock on monitor.lock for its whole life: one open and one
 * non-blocking shared flock prove it, several times cheaper than reading
 * /proc/<pid>/stat, and immune to pid reuse. A monitor of an older berth (or
 * a lock file that is not there) is checked by its pid and start time.
 */
function monitorAlive(record: MonitorRecord, paths: ContainerPaths): boolean {
  if (record.livenessLock !== true) return isSameProcess(record.monitorPid, record.monitorStartTime);
  return monitorLockHeld(paths) ?? isSameProcess(record.monitorPid, record.monitorStartTime);
}

/**
 * Whether a process holds the container's monitor.lock (its monitor, alive;
 * no file read, no JSON): undefined when there is no lock file.
 */
function monitorLockHeld(paths: Pick<ContainerPaths, 'monitorLock'>): boolean | undefined {
  let fd: number;
  try {
    fd = openSync(paths.monitorLock, 'r');
  } catch {
    return undefined;
  }
  try {
    return !nativeAddon().tryLock(fd, false);
  } finally {
    closeSync(fd); // a shared lock we got goes with it
  }
}

/**
 * The size of monitor.lock says what its monitor is doing (addon/monitor_main.cc,
 * mark_lock): RUNNING from the monitor.json that names the command's pid until
 * just before exit.json; EXITED from then until the monitor has let go of the
 * container's root filesystem (the last reference to an overlay syncs its
 * upper filesystem) and removed its cgroups, which it does after reporting the
 * exit; 0 otherwise.
 */
const LOCK_SIZE_RUNNING = 1;
const LOCK_SIZE_EXITED = 2;

/**
 * The monitor.lock of each container (ids, below `containersDir`), probed in
 * one native call: see {@link NativeAddon.probeLocks}. What list() and
 * recovery ask of every container, by descriptors relative to the directory.
 */
export function probeMonitorLocks(containersDir: string, ids: string[]): Int32Array {
  return nativeAddon().probeLocks(containersDir, ids, 'monitor.lock');
}

/**
 * True when a probe says the container certainly runs: its monitor holds
 * monitor.lock (alive) and has marked it running, so no file need be read.
 * False says nothing (not running, starting, or a monitor of an older berth):
 * ask {@link readContainerState}.
 */
export function probeSaysRunning(probe: number): boolean {
  return probe === 1 + LOCK_SIZE_RUNNING;
}

/**
 * Resolves once the container's monitor has finished what it does after
 * reporting the exit (letting go of the root filesystem, removing the
 * cgroups): what a start waits for before it makes the cgroups again, and
 * remove() before it deletes the directories. At most `ms`; a monitor that
 * takes longer is left to it.
 */
export async function monitorLetGo(paths: ContainerPaths, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (let pause = 1; Date.now() < deadline; pause = Math.min(pause * 2, 20)) {
    const [probe] = probeMonitorLocks(dirname(paths.dir), [basename(paths.dir)]);
    if (probe !== 1 + LOCK_SIZE_EXITED) return;
    await sleep(pause);
  }
}

/** True when a probe found monitor.lock held: the monitor lives. */
export function probeSaysAlive(probe: number): boolean {
  return probe >= 1;
}

/** Signal number → name (`9` → `'SIGKILL'`). */
export function signalName(signal: number): SignalName | null {
  if (!signal) return null;
  const entry = Object.entries(constants.signals).find(([, value]) => value === signal);
  return (entry?.[0] as SignalName | undefined) ?? null;
}

/**
 * Reads a container's state. When its monitor died without recording an exit
 * (kill -9, OOM, reboot), the container is recorded as exited with code 255
 * and an `error`, and a first process that somehow survived is killed: the
 * state on disk is put right by whoever looks first.
 */
export function readContainerState(paths: ContainerPaths): ContainerState {
  // existsSync first: a running container has no exit.json, and a failed open costs an exception
  const exit = existsSync(paths.exit) ? readJsonIfExists<ExitRecord>(paths.exit) : undefined;
  if (exit) return { status: 'exited', starting: false, monitorPid: null, pid: null, exit, startedAt: exit.startedAt, restartCount: exit.restartCount ?? 0 };
  const monitor = readJsonIfExists<MonitorRecord>(paths.monitor);
  if (!monitor) return { status: 'created', starting: false, monitorPid: null, pid: null, exit: null, startedAt: null, restartCount: 0 };
  if (monitorAlive(monitor, paths)) {
    return monitor.pid
      ? { status: 'running', starting: false, monitorPid: monitor.monitorPid, pid: monitor.pid, pidStartTime: monitor.pidStartTime, exit: null, startedAt: monitor.startedAt ?? null, restartCount: monitor.restartCount ?? 0 }
      : { status: 'created', starting: true, monitorPid: monitor.monitorPid, pid: null, exit: null, startedAt: null, restartCount: 0 };
  }
  // The monitor is gone. It may have recorded the exit just now: look again.
  const lateExit = readJsonIfExists<ExitRecord>(paths.exit);
  if (lateExit) return readContainerState(paths);
  if (!monitor.pid) {
    // it died before the command started: the container is simply not started
    rmSync(paths.monitor, { force: true });
    return { status: 'created', starting: false, monitorPid: null, pid: null, exit: null, startedAt: null, restartCount: 0 };
  }
  if (isSameProcess(monitor.pid, monitor.pidStartTime)) {
    try {
      process.kill(monitor.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const recovered: ExitRecord = {
    exitCode: 255,
    signal: 0,
    startedAt: monitor.startedAt ?? new Date(0).toISOString(),
    finishedAt: new Date().toISOString(),
    error: 'the container monitor died; the exit status is unknown',
  };
  writeJsonAtomic(paths.exit, recovered, false);
  return { status: 'exited', starting: false, monitorPid: null, pid: null, exit: recovered, startedAt: recovered.startedAt, restartCount: monitor.restartCount ?? 0 };
}
