import type { CgroupMode } from './cgroup-mode.js';
import type { NormalizedLimits } from './resource-limits.js';

/** Where a container's cgroups are, recorded in `<container-dir>/cgroup.json` so any process can find them. */
export interface CgroupRecord {
  mode: CgroupMode;
  /** Every cgroup directory of the container (one on v2, one per hierarchy on v1). */
  dirs: string[];
  /**
   * The parent directories (`…/berth`): made when missing and then kept, as
   * Docker keeps its `docker` cgroup, so a start does not make them again.
   */
  parents: string[];
  /** v1: the directory of each controller's hierarchy (`memory` → `/sys/fs/cgroup/memory/…/berth/<id>`). */
  controllers: Record<string, string>;
}

/** Raw counters from the cgroup files; `container.stats()` turns two samples into rates. */
export interface CgroupCounters {
  cpuTotalNs: number;
  cpuUserNs: number;
  cpuSystemNs: number;
  memoryUsage: number;
  memoryLimit: number | null;
  memoryCache: number;
  memoryInactiveFile: number;
  pidsCurrent: number;
  pidsLimit: number | null;
  ioReadBytes: number;
  ioWriteBytes: number;
}

/** One container's cgroup(s), whichever cgroup version the host has. */
export interface ContainerCgroup {
  readonly record: CgroupRecord;
  /** Creates the directories and applies the limits. */
  create(limits: NormalizedLimits): void;
  /** Changes limits of a live cgroup. */
  update(limits: NormalizedLimits): void;
  /** What the monitor needs to put the container's first process in: spec keys and values. */
  monitorSpec(): [string, string][];
  counters(): CgroupCounters;
  /** How many times the OOM killer has killed in this cgroup. */
  oomKills(): number;
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  /** Frozen (or freezing) by `freeze()`: the container is paused. */
  frozen(): boolean;
  /** Pids of every process in the cgroup. */
  pids(): number[];
  /** SIGKILL every process in the cgroup, forks included. */
  killAll(): Promise<void>;
  /** Kills what is left and removes the container's directories (the `…/berth` parents stay). Idempotent. */
  remove(): Promise<void>;
}
