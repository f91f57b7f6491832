/** Resource limits, enforced by the kernel through the container's cgroup (v2 or v1). */

/** One device cgroup rule: which device nodes the container may read, write or create. */
export interface DeviceRule {
  /** `c` character, `b` block, `a` all. */
  type: 'c' | 'b' | 'a';
  /** Major number, or `'*'` for any. */
  major: number | '*';
  /** Minor number, or `'*'` for any. */
  minor: number | '*';
  /** Any of `r` read, `w` write, `m` mknod. */
  access: string;
}

/** Limits accepted by `create()` and `update()`. Sizes take bytes or strings like `'512m'`. */
export interface ResourceLimits {
  /** Memory limit. At least 6 MiB. */
  memory?: number | string;
  /** Memory + swap limit (≥ `memory`); `-1` unlimited swap. Default: twice `memory`, as Docker does. */
  memorySwap?: number | string;
  /** Soft limit: memory the kernel tries to leave the container under pressure. */
  memoryReservation?: number | string;
  /** CPU time, in CPUs: `1.5` is one and a half CPUs' worth per period. */
  cpus?: number;
  /** Relative CPU weight, Docker's shares (2–262144, default 1024). */
  cpuShares?: number;
  /** CPUs the container may run on: `'0-1,3'`. */
  cpusetCpus?: string;
  /** Memory nodes the container may use: `'0'`. */
  cpusetMems?: string;
  /** Maximum number of processes and threads; `-1` unlimited. */
  pidsLimit?: number;
  /** Relative block IO weight (10–1000). */
  blkioWeight?: number;
  /** Devices allowed in addition to Docker's default list. */
  devices?: DeviceRule[];
}

/** What `container.update()` can change on a running container. */
export type ResourceUpdate = Pick<ResourceLimits, 'memory' | 'memorySwap' | 'memoryReservation' | 'cpus' | 'cpuShares' | 'pidsLimit' | 'blkioWeight'>;

/** A Docker-stats-like sample of a container's resource use. */
export interface ContainerStats {
  /** When the sample was read. */
  time: string;
  /** CPU time. */
  cpu: {
    /** CPU time used, in nanoseconds. */
    totalNs: number;
    /** Of it, in user mode. */
    userNs: number;
    /** Of it, in kernel mode. */
    systemNs: number;
    /** CPU use over the interval since the previous sample, in percent of one CPU (200 = two CPUs busy). */
    percent: number;
  };
  /** Memory, in bytes. */
  memory: {
    /** In use, not counting inactive page cache (as `docker stats` shows it). */
    usage: number;
    /** The limit, or the host's memory when unlimited. */
    limit: number;
    /** Page cache. */
    cache: number;
  };
  /** Processes and threads. */
  pids: {
    /** How many there are now. */
    current: number;
    /** `null` when unlimited. */
    limit: number | null;
  };
  /** Block device IO since the container started. */
  blockIo: {
    /** Bytes read. */
    readBytes: number;
    /** Bytes written. */
    writeBytes: number;
  };
}
