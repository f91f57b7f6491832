/** The public shapes of containers: what you pass to `create`, what `inspect` and `wait` return. */
import type { Readable, Writable } from 'node:stream';
import type { ResourceLimits } from './resources.js';
import type { Endpoint, PortBinding, PublishedPort, Slirp4netnsNetwork } from './network.js';
import type { Image } from '../lib/image/image.js';
import type { PullPolicy } from './image.js';
import type { ContainerMount, MountOptions } from './volume.js';
import type { WaitStrategy } from '../lib/container/wait-strategies/wait-strategy.js';
import type { UsernsMaps } from '../lib/userns/id-map.js';

/** Signal names accepted by `kill` and `stopSignal`. */
export type SignalName = NodeJS.Signals;

/** A resource limit (`setrlimit`): `soft` ≤ `hard`; `-1` means unlimited. */
export interface Ulimit {
  /** The soft limit: what the kernel enforces; a process may raise it up to `hard`. */
  soft: number;
  /** The hard limit: the ceiling of `soft`; only a privileged process may raise it. */
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
  /** The command, replacing the image's `Cmd`; without it (or with `[]`) the image's `Cmd` runs. */
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
  ttySize?: {
    /** Height of the terminal, in rows (lines). */
    rows: number;
    /** Width of the terminal, in columns (characters). */
    cols: number;
  };
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
  /**
   * The seccomp filter of the container's process and of every `exec`:
   * `'default'` (Docker's default profile: an allow-list, EPERM for every
   * other system call, with rules that follow the capability set, e.g.
   * `mount` and `unshare` only with `CAP_SYS_ADMIN`), `'unconfined'` (no
   * filter), or a profile in Docker's JSON format, as an object or a JSON
   * string (`docker run --security-opt seccomp=profile.json` takes the same
   * files). Default `'default'`; `privileged` turns it off.
   */
  seccomp?: 'default' | 'unconfined' | SeccompProfile | string;
  /**
   * Docker's `--privileged`: every capability, no masked or read-only paths
   * in /proc and /sys (/sys is read-write), every host device node in the
   * container's /dev and an open device cgroup, no seccomp filter.
   * `noNewPrivileges` stays as given.
   */
  privileged?: boolean;
  /**
   * Set `no_new_privs` on the container's processes, so that setuid binaries
   * and file capabilities grant nothing. Default `true` (stricter than
   * Docker, whose `--security-opt no-new-privileges` is opt-in).
   */
  noNewPrivileges?: boolean;
  /** Resource limits, by name: `{ nofile: { soft: 1024, hard: 4096 } }`. */
  ulimits?: Record<string, Ulimit>;
  /** The signal `stop()` sends first. Default `'SIGTERM'`. */
  stopSignal?: SignalName;
  /** Seconds `stop()` waits before SIGKILL. Default 10. */
  stopTimeout?: number;
  /** Log rotation. */
  log?: LogOptions;
  /**
   * The network: `'none'` (default: its own namespace with only `lo`), `'host'`,
   * `'container:<id or name>'` (share a running container's), `'slirp4netns'`
   * (its own namespace with outbound access through a slirp4netns process, as
   * Podman's rootless default; `'slirp4netns:allow_host_loopback=true'` also
   * lets 10.0.2.2 reach the host's 127.0.0.1), or the name of a
   * bridge network (`'bridge'` is created on first use). berth touches the host's
   * network only when a bridge network is asked for. On a bridge network the
   * container resolves names through the embedded DNS server at 127.0.0.11.
   */
  network?: string;
  /** Extra names on the bridge network given in `network` (in `/etc/hosts` and the embedded DNS server; several containers may share one). */
  networkAliases?: string[];
  /** A fixed address on the bridge network given in `network`. */
  ip?: string;
  /**
   * Published ports: `{ '80/tcp': 8080 }`, `{ '80': 0 }` (any free port),
   * `{ '53/udp': '127.0.0.1:5353' }`, `{ '80': { hostIp: '0.0.0.0', hostPort: 0 } }`.
   * Bound on 127.0.0.1 unless a host address is given; bound by the monitor
   * before the command starts, so the port accepts connections when `start()`
   * resolves. Not with `network: 'host'`.
   */
  ports?: Record<string, PortBinding>;
  /**
   * Restart the command when it exits: `'no'` (default), `'on-failure'`,
   * `'on-failure:N'` (at most N restarts), `'always'`, `'unless-stopped'`.
   * The monitor applies it, with a back-off (100 ms, doubling, at most 3.2 s);
   * `stop()`, and `kill()` with SIGKILL or the stop signal, end it. Nothing restarts after a reboot (no daemon).
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
  /**
   * Volumes, bind mounts and tmpfs mounts, each at an absolute `target`
   * resolved inside the container's root (a symlink in the image never leads
   * a mount out of it): `{ type: 'volume', source: 'data', target: '/data' }`
   * (the named volume, created on first use; without `source`, a new
   * anonymous volume), `{ type: 'bind', source: '/host/dir', target: '/dir',
   * readonly: true }`, `{ type: 'tmpfs', target: '/scratch', size: '64m' }`.
   * The image's `Volumes` get anonymous volumes unless a mount covers them.
   */
  mounts?: MountOptions[];
  /**
   * Docker's `--volumes-from`: the volume and bind mounts of these containers
   * (id or name, in any state), at the same targets; `'web:ro'` or `'web:rw'`
   * makes them all read-only or read-write. A mount in `mounts` at the same
   * target wins.
   */
  volumesFrom?: string[];
  /**
   * What `start()` waits for before it resolves (`Wait.forListeningPorts(6379)`,
   * `Wait.forLogMessage(/ready/)`, …). Kept by the returned `Container` object
   * only (a strategy is code, not state): a container found again with `get()`
   * starts without it unless `start({ waitFor })` gives one.
   */
  waitFor?: WaitStrategy;
  /** Milliseconds `start()` waits for `waitFor` before a `WaitTimeoutError`. Default 60 000. */
  startupTimeout?: number;
  /**
   * Bind the container's lifetime to this process: when it exits, however it
   * exits (SIGKILL included), the container's monitor kills the container and
   * removes everything of it — processes, cgroups, published ports, veths,
   * its directory and name, its anonymous volumes. For test suites. Default:
   * the runtime's `removeOnOwnerExit` (false: containers outlive Node).
   */
  removeOnOwnerExit?: boolean;
  /**
   * Run a tiny init as PID 1 (Docker's `--init`): berth-init, bind-mounted
   * read-only at `/sbin/docker-init`, runs the command as its child, forwards
   * every signal to it, reaps orphaned processes (no zombies) and exits with
   * the command's status. A server that ignores SIGTERM as PID 1 then stops
   * at `stop()`'s first signal.
   */
  init?: boolean;
  /**
   * A healthcheck, as Docker runs it (replacing or refining the image's
   * `HEALTHCHECK`): run by the container's monitor, so it goes on after the
   * Node process exits. Status and the last results are in
   * `inspect().state.health`; `container.healthChanges()` follows them.
   */
  healthcheck?: HealthcheckOptions;
  /**
   * The container's user namespace, as Podman's `--userns`: `'host'` (the
   * default as root: the container's root is host root), `'auto'` (root only:
   * a namespace of its own whose 65536 ids are a range of unprivileged host
   * ids no other berth container has, from the subordinate ranges of the user
   * `containers` in /etc/subuid and /etc/subgid, else from 2³⁰ up), or explicit
   * `{ uidMap, gidMap }` (each must map container id 0). Image layers and named
   * volumes are idmapped mounts, so their files keep the owners the container
   * sees; a bind mount of a host path is not: what the container's root
   * creates there belongs on the host to the mapped, unprivileged id. A
   * rootless runtime always uses the caller's ranges (`'host'` means those).
   * See docs/containers.md.
   * @throws UsernsError (`ERR_USERNS`) for bad maps, `'auto'` without root, or no free range.
   */
  userns?: 'host' | 'auto' | UsernsMaps;
}

/** The `healthcheck` create option. Durations are milliseconds; missing fields come from the image, then Docker's defaults. */
export interface HealthcheckOptions {
  /**
   * `['CMD', 'redis-cli', 'ping']` (run directly), `['CMD-SHELL', 'curl -f localhost']`
   * or a string (run with `/bin/sh -c`), or `['NONE']` to turn the image's off.
   * Exit 0 is healthy, anything else unhealthy. Default: the image's.
   */
  test?: string[] | string;
  /** Between checks. Default 30 000. */
  interval?: number;
  /** A check that takes longer fails (and is killed). Default 30 000. */
  timeout?: number;
  /** Failures in a row that make the container unhealthy. Default 3. */
  retries?: number;
  /** Failures in this time after a start do not count (until a first success). Default 0. */
  startPeriod?: number;
  /** Between checks during the start period. Default 5 000. */
  startInterval?: number;
}

/** One healthcheck result, in `inspect().state.health.log` (Docker's `State.Health.Log`). */
export interface HealthResult {
  /** When the check began (RFC 3339). */
  start: string;
  /** When it ended (RFC 3339). */
  end: string;
  /** The test's exit code; -1 when it timed out or could not be run. */
  exitCode: number;
  /** Its output (stdout and stderr), at most 4 KiB. */
  output: string;
}

/** A container's health (Docker's `State.Health`). */
export interface HealthState {
  /** `starting` until the first check passes (or the start period ends), then `healthy` or `unhealthy`. */
  status: 'starting' | 'healthy' | 'unhealthy';
  /** Failed checks in a row. */
  failingStreak: number;
  /** The last five results, oldest first. */
  log: HealthResult[];
}

/** A seccomp action, as Docker's profiles name them (`SCMP_ACT_NOTIFY` is not supported). */
export type SeccompAction =
  | 'SCMP_ACT_ALLOW' | 'SCMP_ACT_ERRNO' | 'SCMP_ACT_KILL' | 'SCMP_ACT_KILL_THREAD' | 'SCMP_ACT_KILL_PROCESS'
  | 'SCMP_ACT_TRAP' | 'SCMP_ACT_TRACE' | 'SCMP_ACT_LOG';

/** A comparison of a system call's argument in a seccomp rule. */
export interface SeccompArg {
  /** The argument, 0–5. */
  index: number;
  /** The operand (for `SCMP_CMP_MASKED_EQ`, the mask); a non-negative integer. */
  value: number;
  /** `SCMP_CMP_MASKED_EQ`: what the masked argument must equal. */
  valueTwo?: number;
  /** How the argument compares with `value`: `!=`, `<`, `<=`, `==`, `>=`, `>`, or masked equal (`(arg & value) == valueTwo`). */
  op: 'SCMP_CMP_NE' | 'SCMP_CMP_LT' | 'SCMP_CMP_LE' | 'SCMP_CMP_EQ' | 'SCMP_CMP_GE' | 'SCMP_CMP_GT' | 'SCMP_CMP_MASKED_EQ';
}

/** When a seccomp rule applies: all listed capabilities present (`CAP_SYS_ADMIN`), the host architecture (`amd64`, `x86`, `x32`, `arm64`, …), a minimum kernel (`'4.8'`). */
export interface SeccompCondition {
  /** Capabilities (`CAP_SYS_ADMIN`) of the container's set. */
  caps?: string[];
  /** Host architectures, as moby names them (`amd64`, `x86`, `x32`, `arm64`, …). */
  arches?: string[];
  /** A kernel version (`'4.8'`): the host's kernel is this one or newer. */
  minKernel?: string;
}

/** One rule of a seccomp profile: an action for the named system calls. */
export interface SeccompSyscall {
  /** System call names; names the kernel or libseccomp does not know are skipped, as runc and crun do. */
  names?: string[];
  /** One name (the older form); not together with `names`. */
  name?: string;
  /** What happens when one of the named system calls is made (and `args` hold). */
  action: SeccompAction;
  /** The errno of `SCMP_ACT_ERRNO` (default EPERM) or the value of `SCMP_ACT_TRACE`. */
  errnoRet?: number;
  /** Conditions on the arguments, all of which must hold (several on one argument: any of them). */
  args?: SeccompArg[] | null;
  /** The rule is used only when these hold. */
  includes?: SeccompCondition;
  /** The rule is left out when any of these holds. */
  excludes?: SeccompCondition;
  /** A note for people reading the profile; ignored. */
  comment?: string;
}

/** A seccomp profile in Docker's JSON format (moby's `profiles/seccomp/default.json` is one). */
export interface SeccompProfile {
  /** The action for every system call no rule matches. */
  defaultAction: SeccompAction;
  /** The errno of a `SCMP_ACT_ERRNO` default action (default EPERM). */
  defaultErrnoRet?: number;
  /** The architectures the filter covers (`SCMP_ARCH_X86_64`, `SCMP_ARCH_X86`, …); not with `archMap`. */
  architectures?: string[];
  /** Per host architecture, the architectures the filter covers. */
  /** Per host architecture, the architectures the filter covers. */
  archMap?: {
    /** A host architecture (`SCMP_ARCH_X86_64`, …). */
    architecture: string;
    /** The other architectures the filter covers on that host (`SCMP_ARCH_X86`, `SCMP_ARCH_X32`). */
    subArchitectures?: string[] | null;
  }[];
  /** The rules, applied when their `includes` and `excludes` allow. */
  syscalls?: SeccompSyscall[];
}

/** See {@link ContainerCreateOptions.restart}. */
export type RestartPolicy = 'no' | 'on-failure' | `on-failure:${number}` | 'always' | 'unless-stopped';

/** The lifecycle states of a container. */
export type ContainerStatus = 'created' | 'running' | 'paused' | 'exited';

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
  /** The container's id: 64 hex characters. */
  id: string;
  /** Its unique name. */
  name: string;
  /** The image reference, or `rootfs:<path>` for a container made from a directory. */
  image: string;
  /** When it was created (ISO 8601, UTC). */
  createdAt: string;
  /** Its current state, worked out from its files and processes. */
  state: {
    /** `created`, `running`, `paused` or `exited`. */
    status: ContainerStatus;
    /** True while the command runs, paused or not (as Docker's `State.Running`). */
    running: boolean;
    /** Frozen by `pause()` (its cgroup freezer). */
    paused: boolean;
    /** The host pid of the container's first process while it runs. */
    pid: number | null;
    /** The pid of its monitor while it runs. */
    monitorPid: number | null;
    /** The exit code of the last run (128 + signal number when a signal killed it); `null` unless exited. */
    exitCode: number | null;
    /** The signal that ended the last run; `null` when it exited by itself or has not exited. */
    signal: SignalName | null;
    /** The kernel's OOM killer killed a process of the last run. */
    oomKilled: boolean;
    /** How many times the restart policy restarted the command. */
    restartCount: number;
    /** When `start()` last started the command (ISO 8601; restarts by the policy keep it); `null` before that. */
    startedAt: string | null;
    /** When the last run ended (ISO 8601); `null` unless exited. */
    finishedAt: string | null;
    /** Why the state is what it is when berth had to work it out (e.g. the monitor died). */
    error: string | null;
    /** With a healthcheck: its status and last results (`null` without one, or before the first start). */
    health: HealthState | null;
  };
  /** What `create` decided: the options given, with the image's defaults applied. */
  config: {
    /** The full argv: entrypoint followed by cmd. */
    cmd: string[];
    /** The environment, `KEY=value`: the image's, then the container's (with a default `PATH`). */
    env: string[];
    /** The working directory: the one given, else the image's, else `/`. */
    workdir: string;
    /** The user the command runs as, as given or from the image; `''`: root. */
    user: string;
    /** The container's hostname. */
    hostname: string;
    /** A pseudo-terminal is allocated. */
    tty: boolean;
    /** Stdin is kept open. */
    stdin: boolean;
    /** The image's labels, with the container's on top. */
    labels: Record<string, string>;
    /** The capability set of its processes, without the `CAP_` prefix (`CHOWN`, …). */
    capabilities: string[];
    /** The root filesystem is mounted read-only. */
    readonlyRootfs: boolean;
    /** The seccomp filter: Docker's default profile, none, or a profile given at create. */
    seccomp: 'default' | 'unconfined' | 'custom';
    /** Docker's `--privileged`. */
    privileged: boolean;
    /** `no_new_privs` is set on its processes. */
    noNewPrivileges: boolean;
    /** The resource limits given at create (and changed by `update`). */
    resources: ResourceLimits;
    /** The cgroup parent as given; `null`: the default (`berth/` below this process's own cgroup). */
    cgroupParent: string | null;
    /** The restart policy. */
    restart: RestartPolicy;
    /** The container is removed when its command exits. */
    autoRemove: boolean;
    /** The network as given: `none`, `host`, `container:<id or name>`, `slirp4netns[:allow_host_loopback=…]`, or a bridge network's name. */
    network: string;
    /**
     * The user namespace, or null for none (the container's root is host
     * root). `layers` says how image layers keep their owners: `'idmapped'`
     * mounts (root), `'chowned'` copies (root, where the filesystem refused
     * idmapped mounts), or the rootless store's own view.
     */
    userns: ContainerUsernsInfo | null;
    /** Runs under berth-init (`init: true`). */
    init: boolean;
  };
  /** The container's addresses on bridge networks. */
  networks: Endpoint[];
  /** Its slirp4netns network (`network: 'slirp4netns'`), else null. */
  slirp4netns: Slirp4netnsNetwork | null;
  /** Published ports as bound while it runs (host port 0 resolved). */
  ports: PublishedPort[];
  /** Its volumes, bind mounts and tmpfs mounts, in the order they are made. */
  mounts: ContainerMount[];
  /** The container's directory under the runtime root. */
  path: string;
  /** Its output's json-file log (`container.log`; rotated files beside it get `.1`, `.2`, …). */
  logPath: string;
}

/** Options of `container.logs()` and `container.logStream()`. */
export interface LogsOptions {
  /** Keep reading new output until the container exits (`docker logs -f`). */
  follow?: boolean;
  /**
   * Only lines written at or after this time: a Date, Unix seconds, an RFC 3339
   * time, or a duration back from now (`'10m'`, `'1h30m'`, `'45s'`).
   */
  since?: Date | number | string;
  /** Only lines written before this time (same forms as `since`). */
  until?: Date | number | string;
  /** Only the last `tail` lines (after the stream and time filters), then any that follow. Default: all. */
  tail?: number | 'all';
  /** Include stdout lines. Default true. */
  stdout?: boolean;
  /** Include stderr lines. Default true. */
  stderr?: boolean;
  /** `logStream()` only: prefix each line with its RFC 3339 time and a space (`docker logs -t`). */
  timestamps?: boolean;
  /** Stops following (the iteration ends, the stream ends). */
  signal?: AbortSignal;
}

/** One line of a container's output, from `container.logs()`. */
export interface LogEntry {
  /** The stream the line was written to. */
  stream: 'stdout' | 'stderr';
  /** When the monitor read it. */
  time: Date;
  /**
   * The line without its newline. A line longer than 16 KiB comes in 16 KiB
   * pieces (as Docker's json-file log stores it); a last line without a
   * newline comes as it is.
   */
  line: string;
}

/** What `exec()` and `execStream()` have in common. */
export interface ExecBaseOptions {
  /** Added to the container's environment: `{ KEY: 'value' }` or `['KEY=value']`. */
  env?: Record<string, string> | string[];
  /** `user`, `uid`, `user:group` or `uid:gid`, looked up in the container's /etc/passwd and /etc/group. Default: the container's user. */
  user?: string;
  /** Absolute working directory inside the container. Default: the container's. It must exist. */
  workdir?: string;
  /** Run the command on a terminal from the container's devpts: stdout and stderr arrive together on stdout. */
  tty?: boolean;
  /** Terminal size with `tty`. */
  ttySize?: {
    /** Height of the terminal, in rows (lines). */
    rows: number;
    /** Width of the terminal, in columns (characters). */
    cols: number;
  };
}

/** Options of `container.exec()`. */
export interface ExecOptions extends ExecBaseOptions {
  /** Written to the command's stdin, which is then closed. */
  stdin?: string | Uint8Array | Readable;
  /**
   * The most bytes of stdout, and of stderr, that `exec()` keeps (as Node's
   * `execFile`): a command that writes more is killed (SIGKILL) and `exec()`
   * rejects with a `BerthError` `ERR_EXEC_OUTPUT_TOO_LARGE`, so that a
   * container cannot grow the caller's memory without bound. For large
   * output, read `execStream()`'s streams instead. Default 64 MiB.
   */
  maxBuffer?: number;
}

/** Options of `container.execStream()`. */
export interface ExecStreamOptions extends ExecBaseOptions {
  /** Give the command a stdin stream (`process.stdin`); otherwise it reads /dev/null (or the terminal). */
  stdin?: boolean;
}

/** How an exec'd command ended. */
export interface ExecExit {
  /** Its exit code; 128 + signal number when a signal killed it. */
  exitCode: number;
  /** The signal that killed it, or `null`. */
  signal: SignalName | null;
}

/** What `container.exec()` returns. */
export interface ExecResult extends ExecExit {
  /** Everything the command wrote to stdout, as UTF-8 (with a tty: all its output). */
  stdout: string;
  /** Everything the command wrote to stderr, as UTF-8 (empty with a tty). */
  stderr: string;
}

/** A command running in a container, from `container.execStream()`. */
export interface ExecProcess {
  /** Its pid on the host. */
  readonly pid: number;
  /** Its stdin, when asked for with `stdin: true`; end it to send end-of-file (with a tty: a ^D). */
  readonly stdin: Writable | null;
  /** Its stdout (with a tty: everything the terminal shows). Ends when the command exits. */
  readonly stdout: Readable;
  /** Its stderr; `null` with a tty. */
  readonly stderr: Readable | null;
  /** Resolves when the command has exited. */
  wait(): Promise<ExecExit>;
  /** Sends it a signal (default SIGTERM). Does nothing once it has exited. */
  kill(signal?: SignalName): void;
  /** Changes the terminal size (with `tty`). */
  resize(size: { rows: number; cols: number }): void;
}

/** Options of `copyTo()`. */
export interface CopyToOptions {
  /** Owner of everything written, instead of the archive's (or the host files'). */
  uid?: number;
  /** Group of everything written, instead of the archive's (or the host files'). */
  gid?: number;
}

/** A container's user namespace as `inspect().config.userns` shows it. */
export interface ContainerUsernsInfo extends UsernsMaps {
  /** How it was asked for: `userns: 'auto'`, explicit maps, or the rootless runtime's own ranges. */
  mode: 'auto' | 'explicit' | 'rootless';
  /**
   * How image layers keep their owners: `'idmapped'` mounts (root), `'chowned'`
   * copies (root, where the filesystem refused idmapped mounts), or
   * `'rootless'`: the rootless store's own view (unpacked with mapped owners).
   */
  layers: 'idmapped' | 'chowned' | 'rootless';
}
