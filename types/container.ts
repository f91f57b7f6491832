/** The public shapes of containers: what you pass to `create`, what `inspect` and `wait` return. */
import type { ResourceLimits } from './resources.js';
import type { Image } from '../lib/image/image.js';
import type { PullPolicy } from './image.js';

/** Signal names accepted by `kill` and `stopSignal`. */
export type SignalName = NodeJS.Signals;

/** A resource limit (`setrlimit`): `soft` ≤ `hard`; `-1` means unlimited. */
export interface Ulimit {
  soft: number;
  hard: number;
}

/** Bounds for the container log: size-based rotation. */
export interface LogOptions {
  /** Rotate when the current file would grow past this size (bytes, or `'10m'`). Default `'10m'`. */
  maxSize?: number | string;
  /** How many files to keep in all, the current one included. Default 3, at least 2. */
  maxFiles?: number;
}

/** Options of `runtime.containers.create()`. Every field is validated before anything reaches the kernel. */
export interface ContainerCreateOptions extends ResourceLimits {
  /**
   * The image to run: a reference such as `'localhost/busybox'` (the built-in image,
   * made from the host's static busybox, no network needed), `'127.0.0.1:5000/app:1'`,
   * or an `Image`. Either this or `rootfs`.
   */
  image?: string | Image;
  /**
   * When to pull `image` from its registry: `'missing'` (the default: only when the
   * store lacks it), `'always'`, or `'never'` (NotFoundError when missing).
   */
  pull?: PullPolicy;
  /** The platform to pull (`linux/arm64/v8`); default: the host's. */
  platform?: string;
  /** A host directory to use as the read-only root filesystem layer (like an OCI bundle's rootfs). */
  rootfs?: string;
  /** The command, replacing the image's `Cmd`. */
  cmd?: string[];
  /** The entrypoint, replacing the image's `Entrypoint` (and dropping the image's `Cmd`). */
  entrypoint?: string[];
  /** Environment variables, added to the image's: `{ KEY: 'value' }` or `['KEY=value']`. */
  env?: Record<string, string> | string[];
  /** The working directory, absolute; created when missing (as Docker does). */
  workdir?: string;
  /** `user`, `uid`, `user:group` or `uid:gid`; names are looked up in the image's /etc/passwd and /etc/group. */
  user?: string;
  /** The container's hostname. Default: the first 12 characters of its id. */
  hostname?: string;
  /** A unique name. Default: a generated one, like Docker's. */
  name?: string;
  /** Labels, for your own bookkeeping and for `list({ labels })`. */
  labels?: Record<string, string>;
  /** Allocate a pseudo-terminal: stdout and stderr arrive together on `stdout`. */
  tty?: boolean;
  /** Terminal size when `tty` is set. */
  ttySize?: { rows: number; cols: number };
  /** Keep stdin open: `container.stdin` is a writable stream after `start()`. */
  stdin?: boolean;
  /** Deliver output to this process: `container.stdout` / `container.stderr` are readable streams after `start()`. */
  attach?: boolean;
  /** Capabilities to add to Docker's default set (`'NET_ADMIN'` or `'CAP_NET_ADMIN'`, or `'ALL'`). */
  capAdd?: string[];
  /** Capabilities to drop from Docker's default set (or `'ALL'`). */
  capDrop?: string[];
  /** Mount the root filesystem read-only. */
  readonlyRootfs?: boolean;
  /** Resource limits, by name: `{ nofile: { soft: 1024, hard: 4096 } }`. */
  ulimits?: Record<string, Ulimit>;
  /** The signal `stop()` sends first. Default `'SIGTERM'`. */
  stopSignal?: SignalName;
  /** Seconds `stop()` waits before SIGKILL. Default 10. */
  stopTimeout?: number;
  /** Log rotation. */
  log?: LogOptions;
  /**
   * Restart the command when it exits: `'no'` (default), `'on-failure'`,
   * `'on-failure:N'` (at most N restarts), `'always'`, `'unless-stopped'`.
   * The monitor applies it, with Docker's back-off (100 ms, doubling, ≤ 2 s);
   * `stop()` and `kill()` end it. Nothing restarts after a reboot (no daemon).
   */
  restart?: RestartPolicy;
  /** Remove the container when its command exits (Docker's `--rm`). Not with a restart policy. */
  autoRemove?: boolean;
  /**
   * The cgroup to create the container's cgroup in. Relative: below this
   * process's own cgroup; absolute: from the hierarchy's root. Default:
   * `berth/` below this process's own cgroup (in every hierarchy on v1).
   */
  cgroupParent?: string;
}

/** See {@link ContainerCreateOptions.restart}. */
export type RestartPolicy = 'no' | 'on-failure' | `on-failure:${number}` | 'always' | 'unless-stopped';

/** The lifecycle states of a container. */
export type ContainerStatus = 'created' | 'running' | 'exited';

/** How a container's process ended. */
export interface ExitStatus {
  /** The exit code; 128 + signal number when killed by a signal (as a shell reports it). */
  exitCode: number;
  /** The signal that killed it, or `null` when it exited. */
  signal: SignalName | null;
  /** The kernel's OOM killer killed a process of the container (its memory limit was hit). */
  oomKilled: boolean;
}

/** What `inspect()` returns. */
export interface ContainerInspect {
  id: string;
  name: string;
  /** The image reference, or `rootfs:<path>` for a container made from a directory. */
  image: string;
  createdAt: string;
  state: {
    status: ContainerStatus;
    running: boolean;
    /** The host pid of the container's first process while it runs. */
    pid: number | null;
    /** The pid of its monitor while it runs. */
    monitorPid: number | null;
    exitCode: number | null;
    signal: SignalName | null;
    oomKilled: boolean;
    /** How many times the restart policy restarted the command. */
    restartCount: number;
    startedAt: string | null;
    finishedAt: string | null;
    /** Why the state is what it is when berth had to work it out (e.g. the monitor died). */
    error: string | null;
  };
  config: {
    cmd: string[];
    env: string[];
    workdir: string;
    user: string;
    hostname: string;
    tty: boolean;
    stdin: boolean;
    labels: Record<string, string>;
    capabilities: string[];
    readonlyRootfs: boolean;
    /** The resource limits given at create (and changed by `update`). */
    resources: ResourceLimits;
    cgroupParent: string | null;
    restart: RestartPolicy;
    autoRemove: boolean;
  };
  /** The container's directory under the runtime root. */
  path: string;
  logPath: string;
}
