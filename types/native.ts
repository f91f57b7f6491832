/** The typed interface of the N-API module built from addon/native_module.cc. */
/** Our ends of the pipes of a process started with `spawnMonitor`; -1 where there is none. */
export interface SpawnedMonitor {
  /** The monitor's pid once the spawn (on a thread of its own) is done; rejects with the posix_spawn error. */
  pid: Promise<number>;
  /** Read end of the control pipe (the monitor's fd 3). */
  control: number;
  /** Write end of the spec pipe (the monitor's fd 4), blocking: the monitor reads its spec from it. */
  spec: number;
  /** Write end of the monitor's stdin. */
  stdin: number;
  /** Read ends of the monitor's stdout and stderr (attached output). */
  stdout: number;
  stderr: number;
}

export interface NativeAddon {
  /**
   * posix_spawn of a detached process (own session, default signals) with fresh pipes: the pipes at once, the pid once the spawn, on a thread of its own, is done.
   * `argv0` is its argv[0] when `path` is a sealed copy's `/proc/self/fd/<n>` (default: `path`).
   */
  spawnMonitor(path: string, args: string[], options: { stdin: boolean; attach: boolean; argv0?: string }): SpawnedMonitor;
  /**
   * Copies an executable into a memfd (close-on-exec) sealed against write, shrink, growth and
   * further sealing; returns its descriptor. Helpers that enter a container run from such a copy.
   */
  sealExecutable(path: string, name: string): number;
  /** Attaches cgroup v2's device allow-list (an eBPF program) to a cgroup directory; `-1` is any major/minor. */
  attachDeviceFilter(cgroupDir: string, rules: { type: string; major: number; minor: number; access: string }[]): void;
  /** waitpid(pid, WNOHANG): true once reaped (or when it is not our child). */
  reap(pid: number): boolean;
  /** flock(2) on the thread pool: resolves once the lock is held. */
  lock(fd: number, exclusive: boolean): Promise<void>;
  /** flock(2) without waiting: false when someone else holds the lock. */
  tryLock(fd: number, exclusive: boolean): boolean;
  /** The symbolic links in `dir`, flat: `[name, target, name, target, …]` (other entries skipped). */
  readLinks(dir: string): string[];
  /**
   * For each entry, the lock file `dir/entry/file` probed with a non-blocking
   * shared flock(2), by descriptors relative to `dir`: -1 when it cannot be
   * opened, 0 when free, `1 + its size` when another process holds it.
   */
  probeLocks(dir: string, entries: string[], file: string): Int32Array;
  /** mknod(2); `mode` includes the file type (`S_IFCHR`, `S_IFBLK`, `S_IFIFO`). An overlay whiteout is a char device 0/0. */
  mknod(path: string, mode: number, major: number, minor: number): void;
  /** lsetxattr(2): sets an extended attribute on the file itself (never a symlink's target). */
  setXattr(path: string, name: string, value: Buffer): void;
  /** lgetxattr(2): the attribute's value, or null when the file has none. */
  getXattr(path: string, name: string): Buffer | null;
  /** llistxattr(2): the names of the file's extended attributes. */
  listXattrs(path: string): string[];
  /** The ports with a listening TCP socket (`udp`: a bound UDP socket) in the network namespace of `pid` (sock_diag). */
  listeningPorts(pid: number, udp: boolean): number[];
}
