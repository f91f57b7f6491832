import { constants } from 'node:os';
import { join } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import type { ExecBaseOptions, ExecExit, ExecOptions, ExecProcess, ExecResult, ExecStreamOptions, SignalName } from '../../types/container.js';
import { BerthError, ContainerSetupError, InvalidStateError } from '../errors.js';
import { readJsonIfExists } from '../state/atomic-file.js';
import { readContainerCgroup } from '../cgroup/cgroup-driver.js';
import type { ContainerHandle } from './container-handle.js';
import { signalName, type MonitorRecord } from './container-state.js';
import { normalizeEnv } from './create-options.js';
import { ExecHelper, helperError, type SpecValue } from './exec-helper.js';
import { capabilityMask } from './monitor-spec.js';
import { seccompProgram } from './seccomp-program.js';
import { isPaused } from './container-pause.js';
import { RootDir } from './path-in-root.js';
import { RLIMIT_RESOURCES } from './security-defaults.js';
import { readRootUserDatabase, resolveUser, type ResolvedUser } from './user-resolve.js';

function checkCommand(cmd: unknown): string[] {
  if (!Array.isArray(cmd) || cmd.length === 0 || !cmd.every((arg) => typeof arg === 'string')) {
    throw new TypeError('exec: the command must be a non-empty array of strings');
  }
  if (cmd.some((arg: string) => arg.includes('\0'))) throw new TypeError('exec: the command must not contain NUL characters');
  return cmd as string[];
}

function checkOptions(options: ExecBaseOptions): void {
  if (typeof options !== 'object' || options === null) throw new TypeError('exec: options must be an object');
  const { user, workdir, tty, ttySize } = options;
  if (user !== undefined && (typeof user !== 'string' || !/^[^:\s\0]+(:[^:\s\0]+)?$/.test(user))) {
    throw new TypeError(`exec: user must look like 'name', 'uid', 'name:group' or 'uid:gid', got '${String(user)}'`);
  }
  if (workdir !== undefined && (typeof workdir !== 'string' || !workdir.startsWith('/') || workdir.includes('\0'))) {
    throw new TypeError(`exec: workdir must be an absolute path, got '${String(workdir)}'`);
  }
  if (tty !== undefined && typeof tty !== 'boolean') throw new TypeError('exec: tty must be a boolean');
  if (ttySize !== undefined) checkTtySize(ttySize, 'exec: ttySize');
}

function checkTtySize(size: { rows: number; cols: number }, what: string): void {
  if (typeof size !== 'object' || size === null) throw new TypeError(`${what} must be { rows, cols }`);
  for (const key of ['rows', 'cols'] as const) {
    if (!Number.isInteger(size[key])) throw new TypeError(`${what}.${key} must be an integer`);
    if (size[key] < 1 || size[key] > 65535) throw new RangeError(`${what}.${key} must be between 1 and 65535`);
  }
}

/** The running container's first process: its pid and start time (against pid reuse). */
function runningTarget(handle: ContainerHandle): { pid: number; startTime: number } {
  const state = handle.state();
  const monitor = state.status === 'running' ? readJsonIfExists<MonitorRecord>(handle.paths.monitor) : undefined;
  if (!monitor?.pid || monitor.pidStartTime === undefined) {
    throw new InvalidStateError(`exec: container ${handle.name} is not running`, { containerId: handle.id });
  }
  if (isPaused(handle)) throw new InvalidStateError(`exec: container ${handle.name} is paused; unpause it first`, { containerId: handle.id });
  return { pid: monitor.pid, startTime: monitor.pidStartTime };
}

/**
 * The user and groups, from the container's own /etc/passwd and /etc/group
 * (read inside its root: their symlinks cannot lead to the host's).
 */
function resolveExecUser(handle: ContainerHandle, pid: number, user: string): ResolvedUser {
  const root = RootDir.open(`/proc/${pid}/root`, `container ${handle.name}`);
  try {
    return resolveUser(user, readRootUserDatabase(root, handle.id), handle.id);
  } finally {
    root.close();
  }
}

/** The container's environment with Docker's additions for this user, then the caller's. */
export function execEnv(handle: Pick<ContainerHandle, 'config'>, home: string, tty: boolean, extra: string[]): string[] {
  const env = new Map<string, string>();
  for (const entry of handle.config.env) env.set(entry.split('=', 1)[0]!, entry);
  const add = (key: string, value: string) => env.has(key) || env.set(key, `${key}=${value}`);
  add('HOSTNAME', handle.config.hostname);
  add('HOME', home);
  if (tty) add('TERM', 'xterm');
  for (const entry of extra) env.set(entry.split('=', 1)[0]!, entry);
  return [...env.values()];
}

/**
 * berth-exec's spec of a command in the container, but the target pid: its
 * cgroups, argv, environment, working directory, user, capabilities, limits,
 * `no_new_privs`. Shared by `exec` and the monitor's healthchecks.
 */
export function execProcessSpec(
  handle: Pick<ContainerHandle, 'config' | 'paths'>,
  cmd: string[],
  user: ResolvedUser,
  cgroupDirs: string[],
  options: { env: string[]; workdir?: string; tty?: boolean; stdin?: boolean },
): [string, SpecValue][] {
  const { config } = handle;
  const spec: [string, SpecValue][] = [
    ...(config.userns ? [['join-userns', true] as [string, SpecValue]] : []),
    ...cgroupDirs.map((dir): [string, SpecValue] => ['cgroup-procs', join(dir, 'cgroup.procs')]),
    ...cmd.map((arg): [string, SpecValue] => ['arg', arg]),
    ...options.env.map((entry): [string, SpecValue] => ['env', entry]),
    ['cwd', options.workdir ?? config.workdir],
    ['uid', user.uid],
    ['gid', user.gid],
    ...user.groups.map((group): [string, SpecValue] => ['group', group]),
    ['capabilities', capabilityMask(config.capabilities)],
    ...Object.entries(config.ulimits).map(([name, limit]): [string, SpecValue] => ['rlimit', `${RLIMIT_RESOURCES[name]}:${limit.soft}:${limit.hard}`]),
    ['no-new-privileges', config.noNewPrivileges ?? true],
    ['tty', options.tty ?? false],
    ['stdin', options.stdin ?? false],
  ];
  const seccomp = seccompProgram(handle.paths.stateRoot, config); // the container's filter (as docker exec)
  if (seccomp) spec.push(['seccomp', seccomp]);
  return spec;
}

/**
 * Starts `cmd` inside the running container, as `docker exec` does: in its
 * pid, mount, uts, ipc, network and cgroup namespaces and its cgroups, with
 * its capability set, `no_new_privs` and seccomp filter, only fds 0-2, as its user (or
 * `options.user`), in its working directory (or `options.workdir`), with its
 * environment plus `options.env`. berth-exec does the entering (setns is
 * for single-threaded processes). Resolves once the command has been exec'd.
 * @throws InvalidStateError when the container is not running or is paused;
 *   ContainerSetupError naming the step (`namespaces`, `cgroup`, `user`, `cwd`, `exec`, …)
 */
export async function execStream(handle: ContainerHandle, cmd: string[], options: ExecStreamOptions = {}): Promise<ExecProcess> {
  checkCommand(cmd);
  checkOptions(options);
  if (options.stdin !== undefined && typeof options.stdin !== 'boolean') throw new TypeError('execStream: stdin must be a boolean');
  const extraEnv = normalizeEnv(options.env);
  const tty = options.tty ?? false;
  const { config } = handle;
  const target = runningTarget(handle);
  const user = resolveExecUser(handle, target.pid, options.user ?? config.user);
  const cgroup = readContainerCgroup(handle.paths.cgroup);

  const spec: [string, SpecValue][] = [
    ['pid', target.pid],
    ['pid-start-time', target.startTime],
    ...execProcessSpec(handle, cmd, user, cgroup?.record.dirs ?? [], { env: execEnv(handle, user.home, tty, extraEnv), workdir: options.workdir, tty, stdin: options.stdin }),
  ];
  const size = options.ttySize ?? config.ttySize;
  if (tty && size) spec.push(['tty-rows', size.rows], ['tty-cols', size.cols]);

  const helper = ExecHelper.start('exec', spec, [options.stdin ? 'pipe' : 'ignore', 'pipe', tty ? 'ignore' : 'pipe']);
  const first = await helper.next();
  if (first?.event !== 'started') {
    await helper.exited();
    if (first?.event === 'error') throw helperError('exec', first, handle.id);
    throw new ContainerSetupError('exec failed: berth-exec exited before the command started', {
      step: 'helper', code: 'ERR_EXEC_HELPER', containerId: handle.id,
    });
  }

  let exit: Promise<ExecExit> | undefined;
  return {
    pid: first.pid,
    stdin: (helper.child.stdin as Writable | null) ?? null,
    stdout: helper.child.stdout as Readable,
    stderr: tty ? null : (helper.child.stderr as Readable),
    wait: () => (exit ??= waitForExit(helper)),
    kill: (signal: SignalName = 'SIGTERM') => {
      const number = constants.signals[signal];
      if (number === undefined) throw new TypeError(`kill: '${String(signal)}' is not a signal name such as SIGTERM`);
      helper.send([['signal', number]]);
    },
    resize: (ttySize: { rows: number; cols: number }) => {
      checkTtySize(ttySize, 'resize');
      helper.send([['resize', `${ttySize.rows} ${ttySize.cols}`]]);
    },
  };
}

async function waitForExit(helper: ExecHelper): Promise<ExecExit> {
  for (let event = await helper.next(); event; event = await helper.next()) {
    if (event.event === 'exited') return { exitCode: event.exitCode, signal: signalName(event.signal) };
  }
  // berth-exec itself was killed: the command died with it (PR_SET_PDEATHSIG)
  const { code, signal } = await helper.exited();
  return signal ? { exitCode: 128 + constants.signals[signal], signal } : { exitCode: code ?? 255, signal: null };
}

/**
 * Runs `cmd` inside the running container (see {@link execStream}) and
 * collects its output: resolves with the exit code and stdout/stderr once it
 * has exited.
 */
export async function exec(handle: ContainerHandle, cmd: string[], options: ExecOptions = {}): Promise<ExecResult> {
  const { stdin, maxBuffer = DEFAULT_MAX_BUFFER, ...rest } = options ?? {};
  if (stdin !== undefined && typeof stdin !== 'string' && !(stdin instanceof Uint8Array) && !(stdin instanceof Readable)) {
    throw new TypeError('exec: stdin must be a string, a Buffer or a readable stream');
  }
  if (!Number.isSafeInteger(maxBuffer) || maxBuffer < 0) throw new RangeError(`exec: maxBuffer must be a whole number of bytes, got ${String(maxBuffer)}`);
  const proc = await execStream(handle, cmd, { ...rest, stdin: stdin !== undefined });
  if (proc.stdin) {
    proc.stdin.on('error', () => {}); // the command may exit without reading it all
    if (stdin instanceof Readable) stdin.pipe(proc.stdin);
    else proc.stdin.end(stdin);
  }
  let tooLarge: string | undefined;
  const overflow = (name: string) => {
    tooLarge ??= name;
    proc.kill('SIGKILL');
  };
  const [status, stdout, stderr] = await Promise.all([
    proc.wait(), text(proc.stdout, maxBuffer, () => overflow('stdout')), text(proc.stderr, maxBuffer, () => overflow('stderr')),
  ]);
  if (tooLarge) {
    throw new BerthError(`exec: the command wrote more than ${maxBuffer} bytes to ${tooLarge} and was killed; raise maxBuffer, or read execStream()'s streams`, {
      code: 'ERR_EXEC_OUTPUT_TOO_LARGE', containerId: handle.id,
    });
  }
  return { ...status, stdout, stderr };
}

/** What exec() keeps of each output stream unless told otherwise. */
const DEFAULT_MAX_BUFFER = 64 * 1024 * 1024;

/**
 * The stream as UTF-8. Beyond `maxBuffer` bytes it calls `overflow` and stops
 * reading (closing the pipe: writers the kill does not reach, such as the
 * command's own children, get EPIPE rather than hold exec() open).
 */
async function text(stream: Readable | null, maxBuffer: number, overflow: () => void): Promise<string> {
  if (!stream) return '';
  const chunks: Buffer[] = [];
  let kept = 0;
  for await (const chunk of stream) {
    kept += (chunk as Buffer).length;
    if (kept > maxBuffer) {
      overflow();
      stream.destroy();
      return '';
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
