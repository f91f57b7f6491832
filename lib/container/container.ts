import { existsSync, mkdirSync, rmSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { constants, totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import type { ContainerCreateOptions, ContainerInspect, ExitStatus, SignalName } from '../../types/container.js';
import type { HealthState } from '../../types/container.js';
import type { CopyToOptions, ExecOptions, ExecProcess, ExecResult, ExecStreamOptions, LogEntry, LogsOptions } from '../../types/container.js';
import type { ContainerStats, ResourceUpdate } from '../../types/resources.js';
import type { CommitOptions } from '../../types/image.js';
import type { Image } from '../image/image.js';
import { planContainerCgroup, readContainerCgroup } from '../cgroup/cgroup-driver.js';
import { checkRootlessLimits, noCgroupError } from '../cgroup/cgroup-delegation.js';
import type { CgroupCounters, ContainerCgroup } from '../cgroup/container-cgroup.js';
import { ALL_DEVICES, normalizeLimits } from '../cgroup/resource-limits.js';
import { readJsonIfExists, writeJsonAtomic } from '../state/atomic-file.js';
import type { ConnectOptions, Endpoint, PublishedPort } from '../../types/network.js';
import { attachEndpoint, detachEndpoint } from '../network/host-links.js';
import { parseSlirp4netns, slirp4netnsInspect } from '../network/network-mode.js';
import { etcMounts, networkSpec, prepareEtcFiles, readEndpoints, refreshNeighbours, resolverMode } from './container-network.js';
import { BerthError, ConflictError, InvalidStateError, NotFoundError } from '../errors.js';
import { withDirectoryLock } from '../state/file-lock.js';
import type { Runtime } from '../runtime.js';
import { containerPaths, type ContainerConfig, type ContainerPaths } from './container-config.js';
import { isSameProcess, monitorLetGo, probeSaysRunning, readContainerState, signalName, type ContainerState } from './container-state.js';
import { spawnMonitor, type MonitorHandle, type MonitorLaunch } from './monitor-process.js';
import { monitorSpec } from './monitor-spec.js';
import { chownToMappedRoot, wantsChownedLayers } from '../userns/userns-spec.js';
import { seccompMode } from './seccomp-program.js';
import { readStartUserDatabase, resolveUser } from './user-resolve.js';
import type { ContainerHandle } from './container-handle.js';
import { containerLogs, containerLogStream } from './container-logs.js';
import { exec, execStream } from './container-exec.js';
import { copyFromContainer, copyToContainer } from './container-copy.js';
import { exportContainer } from './container-export.js';
import { isPaused, pauseContainer, unpauseContainer } from './container-pause.js';
import { CREATE_OPTION_NAMES, checkContainerName, refuseUnknownOptions } from './create-options.js';
import type { WaitStrategy } from './wait-strategies/wait-strategy.js';
import { checkTimeout, checkWaitStrategy, DEFAULT_STARTUP_TIMEOUT, waitForReady, type WaitForOptions } from './wait-strategies/wait-for.js';
import { containerAddress, containerHost, type ReachableAddress } from './container-address.js';
import { parseContainerPort } from './wait-strategies/listening-port.js';
import { ownerGone, ownerSpec } from './owner-binding.js';
import { initWrapping } from './container-init.js';
import { resetToSnapshot, takeSnapshot, type Snapshot } from './snapshot.js';
import { healthChanges, healthPaths, prepareHealthcheck, readHealth } from './healthcheck.js';
import type { ListedContainer } from './container-filter.js';

/** Options of {@link Container.run}: everything `create` takes but `image` and `cmd`, plus where to run. */
export interface RunOptions extends Omit<ContainerCreateOptions, 'image' | 'cmd' | 'attach'> {
  /** The runtime to use. Default: `Runtime.open()` on the default root. */
  runtime?: Runtime;
  /** Written to the container's stdin, which is then closed. */
  input?: string | Buffer;
  /** Keep the container after it exits (default: removed, like `docker run --rm`). */
  keep?: boolean;
}

/** The options {@link Container.run} takes: `create()`'s but those it sets itself, and its own. */
const RUN_OPTION_NAMES = [
  ...CREATE_OPTION_NAMES.filter((name) => !['image', 'cmd', 'attach'].includes(name)),
  'runtime', 'input', 'keep',
];

/** What {@link Container.run} returns. */
export interface RunResult extends ExitStatus {
  /** Everything the command wrote to stdout (UTF-8). */
  stdout: string;
  /** Everything the command wrote to stderr (UTF-8). */
  stderr: string;
  /** The container's id (removed already unless `keep` was set). */
  id: string;
}

/** Options of {@link Container.start}. */
export interface StartOptions extends WaitForOptions {
  /** Resolve only once the container is ready by this strategy (default: the `waitFor` create option). */
  waitFor?: WaitStrategy;
}

/** What {@link Container.start} resolves with. */
export interface StartResult {
  /** Milliseconds spent waiting for readiness after the command started (0 without `waitFor`). */
  waitedMs: number;
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
  /**
   * Also remove its anonymous volumes (Docker's `rm -v`): those made for the
   * image's `Volumes` or a volume mount without a source, unless another
   * container uses them too. Named volumes always stay.
   */
  volumes?: boolean;
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
  /** Its unique name (`rename()` changes it). */
  get name(): string {
    return this.currentName;
  }
  private currentName: string;
  private readonly paths: ContainerPaths;
  private monitor: MonitorHandle | undefined;
  private waiters = 0;
  private readiness: { waitFor?: WaitStrategy; timeout?: number } = {};

  /** config.json, parsed when first needed (`list()` knows the id and name without it). */
  private loadedConfig: ContainerConfig | undefined;

  /** @internal `source`: the config, or only the id and name (config.json is then read when first needed). */
  constructor(
    private readonly runtime: Runtime,
    source: ContainerConfig | { id: string; name: string },
    dir: string,
  ) {
    this.id = source.id;
    this.currentName = source.name;
    this.paths = containerPaths(dir);
    if ('cmd' in source) this.loadedConfig = source;
  }

  /** What create decided (config.json). */
  private get config(): ContainerConfig {
    if (this.loadedConfig) return this.loadedConfig;
    const config = readJsonIfExists<ContainerConfig>(this.paths.config);
    if (!config) throw new NotFoundError(`container ${this.name} no longer exists`, { containerId: this.id, path: this.paths.dir });
    return (this.loadedConfig = config);
  }

  /**
   * Runs `cmd` in a new container from `image`, waits for it to exit and
   * returns its exit status and output; the container is removed afterwards
   * (unless `keep`). Without `cmd`, or with `[]`, the image's own
   * `Entrypoint` and `Cmd` run, as with `docker run IMAGE`.
   *
   * @example
   * ```ts
   * const { exitCode, stdout } = await Container.run('localhost/busybox', ['echo', 'hello']);
   * const { stdout: served } = await Container.run('registry.example/app:1', { runtime });
   * ```
   */
  static async run(image: string, options?: RunOptions): Promise<RunResult>;
  static async run(image: string, cmd?: string[], options?: RunOptions): Promise<RunResult>;
  static async run(image: string, cmdOrOptions?: string[] | RunOptions, maybeOptions: RunOptions = {}): Promise<RunResult> {
    if (cmdOrOptions !== undefined && (typeof cmdOrOptions !== 'object' || cmdOrOptions === null)) {
      throw new TypeError('Container.run: cmd must be an array of strings');
    }
    const cmd = Array.isArray(cmdOrOptions) ? cmdOrOptions : undefined;
    const options = Array.isArray(cmdOrOptions) || cmdOrOptions === undefined ? maybeOptions : cmdOrOptions;
    if (typeof options !== 'object' || options === null) throw new TypeError('Container.run: options must be an object');
    refuseUnknownOptions(options, RUN_OPTION_NAMES, 'Container.run');
    const { runtime: given, input, keep, ...createOptions } = options;
    const { Runtime } = await import('../runtime.js');
    const runtime = given ?? (await Runtime.open());
    const container = await runtime.containers.create({
      ...createOptions,
      image,
      ...(cmd ? { cmd } : {}),
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
      if (!keep) await container[Symbol.asyncDispose]();
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
   *
   * With `waitFor` (here or at create) it resolves only once the container is
   * ready; it rejects with a `ContainerExitedError` (exit status, last log
   * lines) as soon as the container exits or is OOM-killed meanwhile, with a
   * `WaitTimeoutError` after `timeout`. The container is left as it is then.
   * @throws InvalidStateError when it is already running.
   *
   * @example
   * ```ts
   * const { waitedMs } = await container.start({ waitFor: Wait.forListeningPorts(6379) });
   * ```
   */
  async start(options: StartOptions = {}): Promise<StartResult> {
    const strategy = checkWaitStrategy(options.waitFor, 'start: waitFor') ?? this.readiness.waitFor;
    const timeout = checkTimeout(options.timeout, 'start: timeout') ?? this.readiness.timeout ?? DEFAULT_STARTUP_TIMEOUT;
    options.signal?.throwIfAborted();
    await this.launch().catch(async (error: unknown) => {
      // a filesystem without idmapped mounts under the image's layers: chown-ed copies from now on
      if (!wantsChownedLayers(error, this.config)) throw error;
      this.config.userns = { ...this.config.userns!, layers: 'chowned' };
      writeJsonAtomic(this.paths.config, this.config);
      await this.launch();
    });
    return { waitedMs: strategy ? await waitForReady(this, strategy, timeout, options.signal) : 0 };
  }

  /**
   * Waits until the running container is ready by `strategy` (see
   * {@link start}); resolves with the milliseconds it waited.
   */
  async waitFor(strategy: WaitStrategy, options: WaitForOptions = {}): Promise<number> {
    const checked = checkWaitStrategy(strategy, 'waitFor: strategy');
    if (!checked) throw new TypeError('waitFor: give a wait strategy (from Wait.*)');
    return waitForReady(this, checked, checkTimeout(options.timeout, 'waitFor: timeout') ?? this.readiness.timeout ?? DEFAULT_STARTUP_TIMEOUT, options.signal);
  }

  /** @internal The readiness wait given at create (kept by this object only: a strategy is code). */
  setReadiness(waitFor: WaitStrategy | undefined, timeout: number | undefined): void {
    this.readiness = { waitFor, timeout };
  }

  /** Starts the monitor and with it the command. */
  private async launch(): Promise<void> {
    this.state(); // NotFoundError once removed
    await withDirectoryLock(this.paths.dir, async () => {
      const state = this.state();
      if (state.status === 'running' || state.starting) {
        throw new InvalidStateError(`container ${this.name} is already running`, { containerId: this.id });
      }
      const layers = [this.paths.upper, ...this.config.layers];
      // volumes first (made again if removed meanwhile, filled from the image on their first mount):
      // a volume over /etc holds the user database the container will see
      await this.runtime.volumes.prepare(this.config.mounts ?? [], layers);
      const users = readStartUserDatabase(this.paths.upper, this.config.layers, join(this.runtime.root, 'layers'), `container ${this.name}`, this.id, this.config.mounts);
      const user = resolveUser(this.config.user, users, this.id);
      await monitorLetGo(this.paths); // the last run's monitor removes its cgroups just after reporting the exit
      await this.removeCgroup();
      // synchronous on purpose: a handful of tiny calls, cheaper than the thread pool
      rmSync(this.paths.exit, { force: true });
      rmSync(this.paths.monitor, { force: true });
      rmSync(this.paths.stopped, { force: true });
      rmSync(healthPaths(this.paths).state, { force: true });
      const limits = normalizeLimits(this.config.resources, true);
      if (this.config.privileged) limits.devices = [...ALL_DEVICES]; // every device, as Docker's --privileged
      // rootless without a delegated cgroup: none (a limit was refused at create)
      const delegation = this.runtime.cgroupDelegation;
      if (delegation) checkRootlessLimits(this.config.resources, delegation, `container ${this.name}`);
      const cgroup = delegation && !delegation.delegated ? undefined : planContainerCgroup(this.id, this.config.cgroupParent ?? undefined, limits);
      // before any cgroup is made: what Runtime.open() removes after a crash
      if (cgroup) writeJsonAtomic(this.paths.cgroup, cgroup.record, false);
      let launch: MonitorLaunch | undefined;
      try {
        // the monitor starts up (exec, its first steps) while we make what its
        // spec names; it waits for the spec on its fd 4 before touching any of it
        launch = spawnMonitor(this.paths.dir, { containerId: this.id, attach: this.config.attach, stdin: this.config.stdin });
        for (const dir of [this.paths.upper, this.paths.work, this.paths.rootfs]) mkdirSync(dir, { recursive: true });
        chownToMappedRoot(this.config.userns, [this.paths.upper, this.paths.work]);
        cgroup?.create(limits);
        const endpoints = readEndpoints(this.paths.dir);
        const containersDir = join(this.paths.dir, '..');
        const resolver = await resolverMode(this.config, endpoints, this.runtime.containers);
        prepareEtcFiles(this.paths.dir, this.config, this.runtime.networks, containersDir, resolver);
        const network = await networkSpec(this.paths.dir, this.config, this.runtime.containers, this.runtime.networks, endpoints);
        const init = initWrapping(this.config);
        const spec = monitorSpec({ ...this.config, cmd: init.cmd }, this.paths, user, this.processEnv(user.home), [
          ...(cgroup?.monitorSpec() ?? []), ...network, ...etcMounts(this.paths.dir, (this.config.mounts ?? []).map((m) => m.target)),
          ...ownerSpec(this.config, this.paths), ...init.spec, ...prepareHealthcheck(this.config, this.paths, user, cgroup?.record.dirs ?? []),
        ]);
        const sending = launch;
        launch = undefined; // sent: its own events say how it went
        this.monitor = await sending.send(spec);
        refreshNeighbours(endpoints.map((e) => e.network), this.runtime.networks, containersDir, this.id);
      } catch (error) {
        launch?.abort(); // no spec: the monitor exits having started nothing
        await rm(this.paths.monitor, { force: true });
        await this.removeCgroup();
        throw withContainerId(error, this.id);
      }
    });
  }

  /** Kills whatever is left in the container's cgroup and removes it. */
  private async removeCgroup(): Promise<void> {
    const cgroup = readContainerCgroup(this.paths.cgroup);
    if (!cgroup) return;
    await cgroup.remove();
    await rm(this.paths.cgroup, { force: true });
  }

  /** The cgroup of the running container. */
  private liveCgroup(operation: string): ContainerCgroup {
    const running = this.state().status === 'running';
    const cgroup = running ? readContainerCgroup(this.paths.cgroup) : undefined;
    if (running && !cgroup) throw noCgroupError(operation, this.name, this.id);
    if (!cgroup) throw new InvalidStateError(`${operation}: container ${this.name} is not running`, { containerId: this.id });
    return cgroup;
  }

  /**
   * Changes resource limits of the running container (memory, swap, cpus,
   * shares, pids, block IO weight). Validated first, as at create.
   * @throws InvalidStateError when it is not running.
   */
  async update(limits: ResourceUpdate): Promise<void> {
    if (typeof limits !== 'object' || limits === null) throw new TypeError('update: expected an object of limits');
    for (const key of Object.keys(limits)) {
      if (!UPDATABLE.includes(key as keyof ResourceUpdate)) throw new TypeError(`update: '${key}' cannot be changed (one of ${UPDATABLE.join(', ')})`);
    }
    const merged = { ...this.config.resources, ...limits };
    normalizeLimits(merged, true); // the combination must be valid too
    const normalized = normalizeLimits(limits, false);
    if (limits.memory !== undefined && limits.memorySwap === undefined && this.config.resources.memorySwap === undefined) {
      normalized.memorySwap = normalized.memory! * 2; // keep Docker's default ratio
    }
    this.liveCgroup('update').update(normalized);
    this.config.resources = merged;
    writeJsonAtomic(this.paths.config, this.config);
  }

  /**
   * One Docker-stats-like sample: CPU (with percent over a short interval),
   * memory, pids, block IO, read from the container's cgroup.
   * @throws InvalidStateError when it is not running.
   */
  async stats(): Promise<ContainerStats> {
    const cgroup = this.liveCgroup('stats');
    const first = { counters: cgroup.counters(), at: process.hrtime.bigint() };
    await sleep(100);
    return toStats(first, { counters: cgroup.counters(), at: process.hrtime.bigint() });
  }

  /**
   * Samples every `interval` ms (default 1000) while the container runs;
   * ends when it exits or `signal` aborts.
   */
  async *statsStream(options: { interval?: number; signal?: AbortSignal } = {}): AsyncGenerator<ContainerStats> {
    const interval = options.interval ?? 1000;
    if (typeof interval !== 'number' || !(interval >= 10)) throw new RangeError('statsStream: interval must be at least 10 ms');
    const cgroup = this.liveCgroup('stats');
    let previous = { counters: cgroup.counters(), at: process.hrtime.bigint() };
    while (!options.signal?.aborted) {
      try {
        await sleep(interval, undefined, { signal: options.signal });
      } catch {
        return;
      }
      if (this.state().status !== 'running') return;
      const current = { counters: cgroup.counters(), at: process.hrtime.bigint() };
      yield toStats(previous, current);
      previous = current;
    }
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
  async wait(options: { signal?: AbortSignal } = {}): Promise<ExitStatus> {
    this.state(); // NotFoundError once removed
    options.signal?.throwIfAborted();
    this.keepAlive(+1);
    try {
      // started by this object: its monitor's exit event, nothing to watch
      const own = await this.ownExit(options.signal);
      if (own) return own;
    } finally {
      this.keepAlive(-1);
    }
    this.keepAlive(+1);
    let wake = () => {};
    const watcher: FSWatcher = watch(this.paths.dir, (_event, file) => file === 'exit.json' && wake());
    watcher.on('error', () => wake());
    const timers = new AbortController();
    // from our own monitor: survives autoRemove deleting the files
    const own: { exit: ExitStatus | undefined } = { exit: undefined };
    const aborted = options.signal ? [once(options.signal, 'abort', { signal: timers.signal }).catch(() => undefined)] : [];
    void this.monitor?.exited.then((record) => {
      if (record) own.exit = exitStatus(record);
    });
    try {
      for (;;) {
        if (own.exit) return own.exit;
        const state = this.state();
        if (state.exit) return exitStatus(state.exit);
        // the exit event from our own monitor, exit.json appearing, or a periodic look
        // (which notices a monitor that died without writing exit.json)
        const changed = new Promise<void>((resolve) => (wake = resolve));
        const ownExit = this.monitor ? [this.monitor.exited.then(() => undefined)] : [];
        const tick = sleep(state.status === 'running' ? 500 : 100, undefined, { signal: timers.signal }).catch(() => undefined);
        await Promise.race([changed, ...ownExit, tick, ...aborted]);
        options.signal?.throwIfAborted();
      }
    } finally {
      timers.abort();
      watcher.close();
      this.keepAlive(-1);
    }
  }

  /**
   * The exit our own monitor (started by this object) reports; undefined when
   * there is none, or when it went away without an exit record (the caller
   * then looks at the state files).
   */
  private async ownExit(signal: AbortSignal | undefined): Promise<ExitStatus | undefined> {
    if (!this.monitor) return undefined;
    if (!signal) {
      const record = await this.monitor.exited;
      return record && exitStatus(record);
    }
    const stop = new AbortController();
    try {
      // an exit already reported wins over an abort, as in the loop below
      const outcome = await Promise.race([
        this.monitor.exited.then((record) => ({ record })),
        once(signal, 'abort', { signal: stop.signal }).then(() => undefined, () => undefined),
      ]);
      if (!outcome) signal.throwIfAborted();
      return outcome?.record && exitStatus(outcome.record);
    } finally {
      stop.abort();
    }
  }

  /** Counts the waiters that keep this process alive for the monitor's exit event. */
  private keepAlive(change: 1 | -1): void {
    this.waiters += change;
    this.monitor?.setKeepAlive(this.waiters > 0);
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
    if (signal === 'SIGKILL' || signal === this.config.stopSignal) {
      writeFileSync(this.paths.stopped, ''); // stopped by the user: the restart policy ends
    }
    // between restarts the recorded pid is the last run's: never signal a reused pid
    if (!isSameProcess(state.pid, state.pidStartTime)) return;
    try {
      process.kill(state.pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
    // SIGKILL reaches every process of the container, wherever it forked to
    if (signal === 'SIGKILL') await readContainerCgroup(this.paths.cgroup)?.killAll();
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
   * Removes the container: its directory, upper layer, log and name; with
   * `volumes`, its anonymous volumes too. Volumes otherwise outlive it.
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
      writeFileSync(this.paths.stopped, ''); // the restart policy ends: the kill is not a failure to restart from
      this.killMonitorTree(state);
      await readContainerCgroup(this.paths.cgroup)?.killAll();
      await this.wait();
    }
    await monitorLetGo(this.paths); // it lets go of the container's filesystem and cgroups just after reporting the exit
    await withDirectoryLock(this.paths.dir, async () => {
      state = this.state();
      if (state.status === 'running') throw new InvalidStateError(`container ${this.name} was started again while being removed`, { containerId: this.id });
      await this.removeCgroup();
      const endpoints = readEndpoints(this.paths.dir);
      await this.runtime.containers.forget(this.id, this.name);
      for (const endpoint of endpoints) {
        const network = await this.runtime.networks.record(endpoint.network).catch(() => undefined);
        if (network) await this.runtime.networks.ipam(network).release(this.id);
      }
      refreshNeighbours(endpoints.map((e) => e.network), this.runtime.networks, join(this.paths.dir, '..'));
    });
    this.monitor = undefined;
    if (options.volumes) {
      const anonymous = (this.config.mounts ?? []).flatMap((mount) => (mount.type === 'volume' && mount.anonymous ? [mount.name] : []));
      await this.runtime.volumes.removeAnonymous(anonymous);
    }
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
    const paused = state.status === 'running' && isPaused(this.handle);
    return {
      id: c.id,
      name: c.name,
      image: c.image,
      createdAt: c.createdAt,
      state: {
        status: paused ? 'paused' : state.status,
        running: state.status === 'running',
        paused,
        pid: state.pid,
        monitorPid: state.monitorPid,
        exitCode: state.exit?.exitCode ?? null,
        signal: state.exit ? signalName(state.exit.signal) : null,
        oomKilled: state.exit?.oomKilled ?? false,
        restartCount: state.restartCount,
        startedAt: state.startedAt,
        finishedAt: state.exit?.finishedAt ?? null,
        error: state.exit?.error ?? null,
        health: readHealth(this.handle),
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
        seccomp: seccompMode(c),
        privileged: c.privileged ?? false,
        noNewPrivileges: c.noNewPrivileges ?? true,
        resources: structuredClone(c.resources),
        cgroupParent: c.cgroupParent,
        restart: c.restart,
        autoRemove: c.autoRemove,
        network: c.network,
        init: c.init ?? false,
        userns: c.userns
          ? { mode: c.userns.mode, uidMap: structuredClone(c.userns.uidMap), gidMap: structuredClone(c.userns.gidMap), layers: c.userns.mapWith === 'write' ? (c.userns.layers ?? 'idmapped') : 'rootless' }
          : null,
      },
      networks: readEndpoints(this.paths.dir),
      slirp4netns: slirp4netnsInspect(c.network),
      ports: state.status === 'running' ? (readJsonIfExists<{ ports?: PublishedPort[] }>(this.paths.monitor)?.ports ?? []) : [],
      mounts: structuredClone(c.mounts ?? []),
      path: this.paths.dir,
      logPath: this.paths.log,
    };
  }

  /**
   * Puts the container on a bridge network (also while it runs: a new
   * interface appears, `eth1`, …), with aliases and an optional fixed address.
   * @throws ConflictError when it is already on that network.
   */
  async connect(network: string, options: ConnectOptions = {}): Promise<Endpoint> {
    if (this.config.network === 'host' || this.config.network.startsWith('container:') || parseSlirp4netns(this.config.network)) {
      throw new InvalidStateError(`container ${this.name} uses network '${this.config.network}': it cannot join bridge networks`, { containerId: this.id });
    }
    return withDirectoryLock(this.paths.dir, async () => {
      const endpoints = readEndpoints(this.paths.dir);
      if (endpoints.some((e) => e.network === network)) throw new ConflictError(`container ${this.name} is already on network ${network}`);
      const record = await this.runtime.networks.ensure(network);
      const endpoint = await this.runtime.networks.allocate(record, this.id, options, endpoints.length);
      writeJsonAtomic(this.paths.endpoints, [...endpoints, endpoint]);
      const state = this.state();
      if (state.status === 'running' && state.pid !== null) {
        await attachEndpoint(state.pid, this.id, endpoint, record, endpoints.length === 0);
      }
      refreshNeighbours([network], this.runtime.networks, join(this.paths.dir, '..'));
      return endpoint;
    });
  }

  /**
   * Gives the container a new name (Docker's `rename`), in any state: the
   * name it is found by, listed and reached by on its networks (the
   * neighbours' hosts files and DNS names follow at once). Its hostname stays.
   * @throws TypeError/RangeError for a name Docker would refuse; ConflictError when another container has it.
   */
  async rename(newName: string): Promise<void> {
    checkContainerName(newName);
    await withDirectoryLock(this.paths.dir, async () => {
      const config = readJsonIfExists<ContainerConfig>(this.paths.config);
      if (!config) throw new NotFoundError(`container ${this.name} no longer exists`, { containerId: this.id, path: this.paths.dir });
      if (config.name === newName) return;
      const renamed = { ...config, name: newName };
      this.runtime.containers.renameLink(this.id, config.name, newName, () => writeJsonAtomic(this.paths.config, renamed));
      this.loadedConfig = renamed;
      this.currentName = newName;
      const endpoints = readEndpoints(this.paths.dir);
      if (endpoints.length > 0) refreshNeighbours(endpoints.map((e) => e.network), this.runtime.networks, join(this.paths.dir, '..'));
    });
  }

  /** Takes the container off a bridge network (its interface goes away if it runs). */
  async disconnect(network: string): Promise<void> {
    await withDirectoryLock(this.paths.dir, async () => {
      const endpoints = readEndpoints(this.paths.dir);
      const endpoint = endpoints.find((e) => e.network === network);
      if (!endpoint) throw new NotFoundError(`container ${this.name} is not on network ${network}`, { containerId: this.id });
      const state = this.state();
      if (state.status === 'running' && state.pid !== null) await detachEndpoint(state.pid, endpoint);
      const record = await this.runtime.networks.record(network);
      await this.runtime.networks.ipam(record).release(this.id);
      writeJsonAtomic(this.paths.endpoints, endpoints.filter((e) => e !== endpoint));
      refreshNeighbours([network], this.runtime.networks, join(this.paths.dir, '..'));
      prepareEtcFiles(this.paths.dir, this.config, this.runtime.networks, join(this.paths.dir, '..')); // its own view
    });
  }

  /**
   * Saves the container's filesystem as it is, to return to with
   * {@link reset}: a database seeded once, reset between tests. Nothing is
   * copied — the writable layer becomes a read-only layer and a new empty
   * one goes on top — so it costs the same for 100 MB as for nothing. A
   * running container is stopped for it (its stop signal: a consistent
   * state) and started again (with `options`, e.g. `waitFor`).
   *
   * @example
   * ```ts
   * await db.exec(['sh', '-c', 'psql -f /seed.sql']);
   * const seeded = await db.snapshot();
   * // … a test changes data …
   * await db.reset(seeded);
   * ```
   */
  async snapshot(options: StartOptions = {}): Promise<Snapshot> {
    const running = this.state().status === 'running';
    if (running) await this.stop();
    // the last run's overlay goes with its monitor, just after the exit report: not while its upper directory moves
    await monitorLetGo(this.paths);
    const snapshot = await withDirectoryLock(this.paths.dir, async () => {
      this.assertStopped('snapshot');
      const taken = await takeSnapshot(this.config, this.paths, this.runtime.userns);
      writeJsonAtomic(this.paths.config, this.config);
      return taken;
    });
    if (running) await this.start(options);
    return snapshot;
  }

  /**
   * Returns the filesystem to a snapshot (default: the latest; `'image'`, or
   * no snapshot taken: the image as it was created): every change since is
   * thrown away, in time proportional to those changes. A running container
   * is killed first (SIGKILL: its processes go, their state is discarded
   * anyway) and started again (with `options`).
   * @throws NotFoundError for an unknown snapshot
   */
  async reset(snapshot?: Snapshot | string, options: StartOptions = {}): Promise<void> {
    const id = typeof snapshot === 'object' && snapshot !== null ? snapshot.id : snapshot;
    if (id !== undefined && typeof id !== 'string') throw new TypeError('reset: expected a snapshot, its id or \'image\'');
    const running = this.state().status === 'running';
    if (running) {
      await this.kill('SIGKILL').catch(ignoreNotRunning);
      await this.wait();
    }
    await monitorLetGo(this.paths); // as in snapshot(): the old overlay is gone before its upper directory is replaced
    await withDirectoryLock(this.paths.dir, async () => {
      this.assertStopped('reset');
      await resetToSnapshot(this.config, this.paths, id, this.runtime.userns);
      writeJsonAtomic(this.paths.config, this.config);
    });
    if (running) await this.start(options);
  }

  /** The container's snapshots, oldest first. */
  snapshots(): Snapshot[] {
    return (this.config.snapshots ?? []).map(({ id, createdAt }) => ({ id, createdAt }));
  }

  private assertStopped(operation: string): void {
    const state = this.state();
    if (state.status === 'running' || state.starting) throw new InvalidStateError(`${operation}: container ${this.name} was started meanwhile`, { containerId: this.id });
  }

  /**
   * Makes an image of the container: its upper layer becomes a new layer on
   * top of its image (Docker's `commit`; `ref`, `message`, `author`, `changes`).
   * Consistent for a stopped or idle container: it is not paused.
   * @throws InvalidStateError when it has snapshots (reset to the image first)
   */
  async commit(options: CommitOptions = {}): Promise<Image> {
    if (this.config.snapshots?.length) {
      throw new InvalidStateError(`commit: container ${this.name} has snapshots; commit is not supported for it (reset('image') first)`, { containerId: this.id });
    }
    return this.runtime.images.commit(this, options);
  }

  /**
   * The host port a container port is published on, while it runs:
   * `port('80/tcp')` or `port(80)`; `undefined` when it is not published.
   */
  async port(containerPort: string | number): Promise<number | undefined> {
    const [number, proto = 'tcp'] = String(containerPort).split('/');
    const { ports } = await this.inspect();
    return ports.find((p) => p.containerPort === Number(number) && p.proto === proto)?.hostPort;
  }

  /**
   * How this host reaches a container port while it runs: its published
   * port on the host, else the container's address on its bridge network
   * (else, with `network: 'host'`, 127.0.0.1).
   * @throws InvalidStateError when it is not running or the port cannot be reached from the host
   */
  addressOf(containerPort: number | string): ReachableAddress {
    return containerAddress(this.handle, parseContainerPort(containerPort, 'addressOf'));
  }

  /**
   * The host to connect to from this process: the published ports' address
   * (127.0.0.1 unless bound elsewhere), else the container's bridge address.
   * Pair it with {@link mappedPort}.
   * @throws InvalidStateError when it is not running
   */
  get host(): string {
    return containerHost(this.handle);
  }

  /**
   * The port to connect to for container port `containerPort`: the published
   * host port, or the port itself on the container's bridge address
   * (testcontainers' `getMappedPort`).
   * @throws InvalidStateError when it is not running or the port cannot be reached from the host
   */
  mappedPort(containerPort: number | string): number {
    return this.addressOf(containerPort).port;
  }

  /**
   * @internal Crash recovery, at `Runtime.open()`: records the exit of a
   * container whose monitor died (reading its state does), removes the
   * cgroups of one that is not running, and removes an owner-bound one, not
   * running, whose owner has exited. A container whose monitor is alive is
   * left at once (the monitor does all of this itself when it ends): one
   * lock probe, no per-container lock. So is one with no cgroup.json and no
   * owner: a start under way writes cgroup.json under the container's lock
   * before it makes a cgroup, and removes what it made if it fails.
   */
  async recover(): Promise<void> {
    const quick = readContainerState(this.paths);
    if (quick.status === 'running' || quick.starting) return;
    if (existsSync(this.paths.cgroup)) {
      await withDirectoryLock(this.paths.dir, async () => {
        if (!existsSync(this.paths.config)) return;
        const state = this.state();
        if (state.status !== 'running' && !state.starting) await this.removeCgroup();
      });
    }
    if (!ownerGone(this.config)) return;
    const state = existsSync(this.paths.config) ? this.state() : undefined;
    if (!state || state.status === 'running' || state.starting) return; // its monitor removes it
    await this.remove({ force: true, volumes: true });
  }

  /**
   * @internal What `list()` filters on, from the fewest files: the state
   * (`lockProbe`, the monitor's lock as list() probed it; exit.json and
   * monitor.json only when that does not tell) and, only when `tellPaused`,
   * the cgroup freezer.
   * @throws NotFoundError when it is not there (any more, or not yet: half-created)
   */
  listed(tellPaused: boolean, lockProbe: number): ListedContainer {
    // running by its monitor's lock alone (nearly every container a busy list() shows); else the state files
    const state = probeSaysRunning(lockProbe) ? { status: 'running' as const, starting: false } : readContainerState(this.paths);
    // a live monitor proves config.json (a start read it); otherwise look: half-created or being removed
    if (state.status !== 'running' && !state.starting && !existsSync(this.paths.config)) {
      throw new NotFoundError(`container ${this.name} no longer exists`, { containerId: this.id, path: this.paths.dir });
    }
    const paused = tellPaused && state.status === 'running' && isPaused(this.handle);
    const config = () => this.config; // read only for a label filter
    return {
      name: this.name,
      state: { status: paused ? 'paused' : state.status, running: state.status === 'running' },
      config: { get labels() { return config().labels; } },
    };
  }

  /** What the parts in their own files (logs, exec, copy, export, pause) need of this container. */
  private get handle(): ContainerHandle {
    return { id: this.id, name: this.name, config: this.config, paths: this.paths, userns: this.runtime.userns, state: () => this.state() };
  }

  /**
   * The container's health each time its status changes (`starting`,
   * `healthy`, `unhealthy`; the current one first), until it stops running
   * or `signal` aborts. From any process.
   * @throws TypeError when it has no healthcheck
   *
   * @example
   * ```ts
   * for await (const health of container.healthChanges()) console.log(health.status, health.log.at(-1)?.output);
   * ```
   */
  healthChanges(options: { signal?: AbortSignal } = {}): AsyncIterable<HealthState> {
    if (!this.config.healthcheck) throw new TypeError(`container ${this.name} has no healthcheck`);
    return healthChanges(this.handle, options.signal);
  }

  /**
   * The container's output, oldest first, as `{ stream, time, line }`
   * (`docker logs`): from any process, running or exited, across rotated log
   * files. `follow` goes on until the container exits; `tail`, `since`,
   * `until`, `stdout`, `stderr` filter.
   *
   * @example
   * ```ts
   * for await (const { stream, time, line } of container.logs({ follow: true, tail: 10 })) console.log(time, stream, line);
   * ```
   */
  logs(options: LogsOptions = {}): AsyncIterable<LogEntry> {
    return containerLogs(this.handle, options);
  }

  /** The same output as a text stream, as written; with `timestamps` each line starts with its RFC 3339 time (`docker logs -t`). */
  logStream(options: LogsOptions = {}): Readable {
    return containerLogStream(this.handle, options);
  }

  /**
   * Runs a command inside the running container (`docker exec`): its
   * namespaces and cgroups, its capabilities and `no_new_privs`, its user and
   * environment (or those given). Resolves with the exit code and the output.
   * @throws InvalidStateError when it is not running or is paused; ContainerSetupError naming the failed step
   *
   * @example
   * ```ts
   * const { exitCode, stdout } = await container.exec(['cat', '/etc/hostname']);
   * ```
   */
  exec(cmd: string[], options: ExecOptions = {}): Promise<ExecResult> {
    return exec(this.handle, cmd, options);
  }

  /** Like {@link exec}, with streams: stdin (with `stdin: true`), stdout, stderr, `wait()`, `kill()`, `resize()`. */
  execStream(cmd: string[], options: ExecStreamOptions = {}): Promise<ExecProcess> {
    return execStream(this.handle, cmd, options);
  }

  /**
   * Copies a host file or directory, or a tar stream, into the container
   * (running or not), like `docker cp`. See {@link copyTo}.
   */
  copyTo(source: string | Readable, containerPath: string, options: CopyToOptions = {}): Promise<void> {
    return copyToContainer(this.handle, source, containerPath, options);
  }

  /** A tar stream of a path in the container (running or not), like `docker cp container:path -`. See {@link copyFrom}. */
  copyFrom(containerPath: string): Promise<Readable> {
    return copyFromContainer(this.handle, containerPath);
  }

  /** The container's whole filesystem as a tar stream (`docker export`). */
  export(): Promise<Readable> {
    return exportContainer(this.handle);
  }

  /**
   * Freezes every process of the container (`docker pause`); `inspect()` says `paused`.
   * @throws InvalidStateError when it is not running or already paused
   */
  pause(): Promise<void> {
    return pauseContainer(this.handle);
  }

  /**
   * Lets a paused container go on.
   * @throws InvalidStateError when it is not paused
   */
  unpause(): Promise<void> {
    return unpauseContainer(this.handle);
  }

  /** Removes the container (forcefully) and its anonymous volumes, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.remove({ force: true, volumes: true });
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

const UPDATABLE: (keyof ResourceUpdate)[] = ['memory', 'memorySwap', 'memoryReservation', 'cpus', 'cpuShares', 'pidsLimit', 'blkioWeight'];

function exitStatus(exit: { exitCode: number; signal: number; oomKilled?: boolean }): ExitStatus {
  return { exitCode: exit.exitCode, signal: signalName(exit.signal), oomKilled: exit.oomKilled ?? false };
}

/** Two cgroup samples as Docker-like stats. */
function toStats(before: { counters: CgroupCounters; at: bigint }, after: { counters: CgroupCounters; at: bigint }): ContainerStats {
  const c = after.counters;
  const wallNs = Number(after.at - before.at);
  return {
    time: new Date().toISOString(),
    cpu: {
      totalNs: c.cpuTotalNs,
      userNs: c.cpuUserNs,
      systemNs: c.cpuSystemNs,
      percent: wallNs > 0 ? (Math.max(0, c.cpuTotalNs - before.counters.cpuTotalNs) / wallNs) * 100 : 0,
    },
    memory: {
      usage: Math.max(0, c.memoryUsage - c.memoryInactiveFile),
      limit: c.memoryLimit ?? totalmem(),
      cache: c.memoryCache,
    },
    pids: { current: c.pidsCurrent, limit: c.pidsLimit },
    blockIo: { readBytes: c.ioReadBytes, writeBytes: c.ioWriteBytes },
  };
}

/** Adds the container id to a setup error that lacks it. */
function withContainerId(error: unknown, containerId: string): unknown {
  if (error instanceof BerthError && error.containerId === undefined) {
    return new (error.constructor as typeof BerthError)(error.message, {
      code: error.code, errno: error.errno, syscall: error.syscall, path: error.path, step: error.step, containerId, cause: error.cause,
    });
  }
  return error;
}

function ignoreNotRunning(error: unknown): void {
  if (!(error instanceof InvalidStateError)) throw error;
}
