import { existsSync, watch, type FSWatcher } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { constants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable, Writable } from 'node:stream';
import type { ContainerCreateOptions, ContainerInspect, ExitStatus, SignalName } from '../../types/container.js';
import { InvalidStateError, NotFoundError } from '../errors.js';
import { withFileLock } from '../state/file-lock.js';
import type { Runtime } from '../runtime.js';
import { containerPaths, type ContainerConfig, type ContainerPaths } from './container-config.js';
import { readContainerState, signalName, type ContainerState } from './container-state.js';
import { launchMonitor, type MonitorHandle } from './monitor-process.js';
import { writeMonitorSpec } from './monitor-spec.js';
import { resolveUser } from './user-resolve.js';

/** Options of {@link Container.run}: everything `create` takes but `image` and `cmd`, plus where to run. */
export interface RunOptions extends Omit<ContainerCreateOptions, 'image' | 'cmd' | 'attach'> {
  /** The runtime to use. Default: `Runtime.open()` on the default root. */
  runtime?: Runtime;
  /** Written to the container's stdin, which is then closed. */
  input?: string | Buffer;
  /** Keep the container after it exits (default: removed, like `docker run --rm`). */
  keep?: boolean;
}

/** What {@link Container.run} returns. */
export interface RunResult extends ExitStatus {
  stdout: string;
  stderr: string;
  /** The container's id (removed already unless `keep` was set). */
  id: string;
}

/** Options of {@link Container.stop}. */
export interface StopOptions {
  /** Seconds to wait after the stop signal before SIGKILL. Default: the container's `stopTimeout` (10). */
  timeout?: number;
  /** The first signal. Default: the container's `stopSignal` (SIGTERM). */
  signal?: SignalName;
}

/** Options of {@link Container.remove}. */
export interface RemoveOptions {
  /** Kill the container first if it is running. */
  force?: boolean;
}

/**
 * A container: a process tree running from an image, isolated in its own
 * namespaces, under Docker's security defaults. Create one with
 * `runtime.containers.create()`, or use {@link Container.run} for the
 * one-call form.
 *
 * A started container is held by its own monitor process, so it keeps running
 * when the Node process that started it exits; any process can find it again
 * with `runtime.containers.get()`.
 *
 * @example
 * ```ts
 * await using container = await runtime.containers.create({ image: 'localhost/busybox', cmd: ['sleep', '60'] });
 * await container.start();
 * await container.stop({ timeout: 2 });
 * console.log(await container.wait()); // { exitCode: 143, signal: 'SIGTERM' }
 * ```
 */
export class Container implements AsyncDisposable {
  /** The container's id: 64 hex characters. */
  readonly id: string;
  /** Its unique name. */
  readonly name: string;
  private readonly paths: ContainerPaths;
  private monitor: MonitorHandle | undefined;

  /** @internal */
  constructor(
    private readonly runtime: Runtime,
    private readonly config: ContainerConfig,
    dir: string,
  ) {
    this.id = config.id;
    this.name = config.name;
    this.paths = containerPaths(dir);
  }

  /**
   * Runs `cmd` in a new container from `image`, waits for it to exit and
   * returns its exit status and output; the container is removed afterwards
   * (unless `keep`).
   *
   * @example
   * ```ts
   * const { exitCode, stdout } = await Container.run('localhost/busybox', ['echo', 'hello']);
   * ```
   */
  static async run(image: string, cmd: string[], options: RunOptions = {}): Promise<RunResult> {
    const { runtime: given, input, keep, ...createOptions } = options;
    const { Runtime } = await import('../runtime.js');
    const runtime = given ?? (await Runtime.open());
    const container = await runtime.containers.create({
      ...createOptions,
      image,
      cmd,
      attach: true,
      stdin: input !== undefined || createOptions.stdin === true,
    });
    try {
      await container.start();
      const collect = (stream: Readable | null) =>
        new Promise<string>((resolve, reject) => {
          if (!stream) return resolve('');
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.once('error', reject);
          stream.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        });
      const output = Promise.all([collect(container.stdout), collect(container.stderr)]);
      if (container.stdin) {
        container.stdin.on('error', () => {}); // the command may exit without reading its input
        container.stdin.end(input);
      }
      const [status, [stdout, stderr]] = await Promise.all([container.wait(), output]);
      return { ...status, stdout, stderr, id: container.id };
    } finally {
      if (!keep) await container.remove({ force: true });
    }
  }

  /** The container's stdin, after `start()`, when it was created with `stdin: true` (this process only). */
  get stdin(): Writable | null {
    return this.monitor?.stdin ?? null;
  }

  /** The container's stdout (with `tty`: the terminal's output), after `start()`, when created with `attach: true`. */
  get stdout(): Readable | null {
    return this.monitor?.stdout ?? null;
  }

  /** The container's stderr, after `start()`, when created with `attach: true` (empty with `tty`). */
  get stderr(): Readable | null {
    return this.monitor?.stderr ?? null;
  }

  /**
   * Starts the container's command. Resolves once the command has been
   * exec'd inside the container; rejects with a `ContainerSetupError` naming
   * the failed step (`rootfs`, `user`, `cwd`, `exec`, …) otherwise, leaving
   * the container `created` with nothing mounted.
   * @throws InvalidStateError when it is already running.
   */
  async start(): Promise<void> {
    await withFileLock(this.paths.lock, async () => {
      const state = this.state();
      if (state.status === 'running' || state.starting) {
        throw new InvalidStateError(`container ${this.name} is already running`, { containerId: this.id });
      }
      await Promise.all([
        rm(this.paths.exit, { force: true }),
        rm(this.paths.monitor, { force: true }),
        mkdir(this.paths.upper, { recursive: true }),
        mkdir(this.paths.work, { recursive: true }),
        mkdir(this.paths.rootfs, { recursive: true }),
      ]);
      const user = resolveUser(this.config.user, [this.paths.upper, ...this.config.layers], this.id);
      writeMonitorSpec(this.config, this.paths, user, this.processEnv(user.home));
      try {
        this.monitor = await launchMonitor(this.paths.dir, {
          containerId: this.id,
          attach: this.config.attach,
          stdin: this.config.stdin,
        });
      } catch (error) {
        await rm(this.paths.monitor, { force: true });
        throw error;
      }
    });
  }

  /** The environment of the command: the configured one with Docker's additions. */
  private processEnv(home: string): string[] {
    const env = [...this.config.env];
    const has = (key: string) => env.some((entry) => entry.startsWith(`${key}=`));
    if (!has('HOSTNAME')) env.push(`HOSTNAME=${this.config.hostname}`);
    if (!has('HOME')) env.push(`HOME=${home}`);
    if (this.config.tty && !has('TERM')) env.push('TERM=xterm');
    return env;
  }

  /**
   * Waits until the container's command exits and returns how it ended. Set
   * it up before or after `start()`: an exit is never missed. Works from any
   * process, not only the one that started the container.
   */
  async wait(): Promise<ExitStatus> {
    this.monitor?.setKeepAlive(true);
    let wake = () => {};
    const watcher: FSWatcher = watch(this.paths.dir, (_event, file) => file === 'exit.json' && wake());
    watcher.on('error', () => wake());
    try {
      for (;;) {
        const state = this.state();
        if (state.exit) return { exitCode: state.exit.exitCode, signal: signalName(state.exit.signal) };
        // the exit event from our own monitor, exit.json appearing, or a periodic look
        // (which notices a monitor that died without writing exit.json)
        const changed = new Promise<void>((resolve) => (wake = resolve));
        const ownExit = this.monitor ? [this.monitor.exited.then(() => undefined)] : [];
        await Promise.race([changed, ...ownExit, sleep(state.status === 'running' ? 500 : 100)]);
      }
    } finally {
      watcher.close();
      this.monitor?.setKeepAlive(false);
    }
  }

  /**
   * Sends a signal to the container's first process (default SIGKILL, as `docker kill`).
   * @throws InvalidStateError when the container is not running.
   */
  async kill(signal: SignalName = 'SIGKILL'): Promise<void> {
    if (typeof signal !== 'string' || !(signal in constants.signals)) throw new TypeError(`kill: '${String(signal)}' is not a signal name such as SIGTERM`);
    const state = this.state();
    if (state.status !== 'running' || state.pid === null) {
      throw new InvalidStateError(`container ${this.name} is not running`, { containerId: this.id });
    }
    try {
      process.kill(state.pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }

  /**
   * Stops the container: the stop signal (SIGTERM), then SIGKILL after
   * `timeout` seconds. A container that is not running is left as it is.
   */
  async stop(options: StopOptions = {}): Promise<ExitStatus | undefined> {
    const timeout = options.timeout ?? this.config.stopTimeout;
    if (typeof timeout !== 'number' || Number.isNaN(timeout)) throw new TypeError('stop: timeout must be a number of seconds');
    if (timeout < 0) throw new RangeError('stop: timeout must not be negative');
    if (this.state().status !== 'running') return undefined;
    await this.kill(options.signal ?? this.config.stopSignal).catch(ignoreNotRunning);
    const exited = this.wait();
    const timer = new AbortController();
    const inTime = await Promise.race([
      exited.then(() => true),
      sleep(timeout * 1000, false, { signal: timer.signal }).catch(() => false),
    ]);
    timer.abort();
    if (!inTime) await this.kill('SIGKILL').catch(ignoreNotRunning);
    return exited;
  }

  /**
   * Removes the container: its directory, upper layer, log and name.
   * @throws InvalidStateError when it is running and `force` is not set.
   */
  async remove(options: RemoveOptions = {}): Promise<void> {
    let state = this.state();
    if (state.status === 'running' || state.starting) {
      if (!options.force) {
        throw new InvalidStateError(
          `container ${this.name} is running: stop it first, or remove it with { force: true }`,
          { containerId: this.id },
        );
      }
      this.killMonitorTree(state);
      await this.wait();
    }
    await withFileLock(this.paths.lock, async () => {
      state = this.state();
      if (state.status === 'running') throw new InvalidStateError(`container ${this.name} was started again while being removed`, { containerId: this.id });
      await this.runtime.containers.forget(this.id, this.name);
    });
    this.monitor = undefined;
  }

  /** SIGKILL the container's first process (its pid namespace dies with it) and its monitor if still starting. */
  private killMonitorTree(state: ContainerState): void {
    const record = { pid: state.pid, monitorPid: state.monitorPid };
    for (const pid of [record.pid, state.starting ? record.monitorPid : null]) {
      if (pid === null) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  /** Everything berth knows about the container, Docker-inspect-like. */
  async inspect(): Promise<ContainerInspect> {
    const state = this.state();
    const c = this.config;
    return {
      id: c.id,
      name: c.name,
      image: c.image,
      createdAt: c.createdAt,
      state: {
        status: state.status,
        running: state.status === 'running',
        pid: state.pid,
        monitorPid: state.monitorPid,
        exitCode: state.exit?.exitCode ?? null,
        signal: state.exit ? signalName(state.exit.signal) : null,
        startedAt: state.startedAt,
        finishedAt: state.exit?.finishedAt ?? null,
        error: state.exit?.error ?? null,
      },
      config: {
        cmd: [...c.cmd],
        env: [...c.env],
        workdir: c.workdir,
        user: c.user,
        hostname: c.hostname,
        tty: c.tty,
        stdin: c.stdin,
        labels: { ...c.labels },
        capabilities: [...c.capabilities],
        readonlyRootfs: c.readonlyRootfs,
      },
      path: this.paths.dir,
      logPath: this.paths.log,
    };
  }

  /** Removes the container (forcefully), for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.remove({ force: true });
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
  }

  private state(): ContainerState {
    if (!existsSync(this.paths.config)) {
      throw new NotFoundError(`container ${this.name} no longer exists`, { containerId: this.id, path: this.paths.dir });
    }
    return readContainerState(this.paths);
  }
}

function ignoreNotRunning(error: unknown): void {
  if (!(error instanceof InvalidStateError)) throw error;
}
