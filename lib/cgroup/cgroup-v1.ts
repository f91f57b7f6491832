import { existsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BerthError } from '../errors.js';
import { cgroupMounts, ownCgroups, type CgroupMount } from './cgroup-mode.js';
import { makeCgroupDir, readCgroupFile, readKeyValues, readNumber, readPids, removeCgroupDirs, writeCgroupFile, writeCgroupValues } from './cgroup-files.js';
import type { CgroupCounters, CgroupRecord, ContainerCgroup } from './container-cgroup.js';
import type { NormalizedLimits } from './resource-limits.js';

/** The v1 controllers berth uses; each may be its own hierarchy or share one (cpu,cpuacct). */
const CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'cpuset', 'pids', 'blkio', 'devices', 'freezer'] as const;
type Controller = (typeof CONTROLLERS)[number];
const UNLIMITED = '-1';
const USER_HZ_NS = 10_000_000; // cpuacct.stat counts in USER_HZ (100/s) ticks

/**
 * The directory of each controller's hierarchy for a container:
 * `<own cgroup>/berth/<id>` by default; `<parent>/<id>` for a user-given
 * parent (absolute: from the hierarchy's root; relative: below the own cgroup).
 * The cpuset hierarchy is used only when the limits ask for a cpuset.
 */
export function v1Layout(id: string, parentName?: string, limits: NormalizedLimits = {}): CgroupRecord {
  const mounts = cgroupMounts();
  const own = ownCgroups();
  const byController: Record<string, string> = {};
  const dirs: string[] = [];
  const parents: string[] = [];
  // a v1 cpuset starts empty and must be filled level by level: only when asked for
  const wanted = CONTROLLERS.filter((c) => c !== 'cpuset' || limits.cpusetCpus !== undefined || limits.cpusetMems !== undefined);
  for (const controller of wanted) {
    const mount = mounts.find((m: CgroupMount) => m.type === 'cgroup' && m.controllers.includes(controller));
    if (!mount) continue;
    const ownPath = own.get(controller) ?? '/';
    const parent = parentName?.startsWith('/')
      ? join(mount.mountPoint, relative(mount.root, parentName))
      : join(mount.mountPoint, relative(mount.root, ownPath), parentName ?? 'berth');
    const dir = join(parent, id);
    byController[controller] = dir;
    if (!dirs.includes(dir)) {
      dirs.push(dir);
      if (parentName === undefined) parents.push(parent);
    }
  }
  return { mode: 'v1', dirs, parents, controllers: byController };
}

/** The cgroup v1 (and hybrid) driver: one directory per hierarchy. */
export class CgroupV1 implements ContainerCgroup {
  private readonly dir: Partial<Record<Controller, string>>;

  constructor(readonly record: CgroupRecord) {
    this.dir = record.controllers as Partial<Record<Controller, string>>;
  }

  private need(controller: Controller, option: string): string {
    const dir = this.dir[controller];
    if (!dir) throw new BerthError(`${option} needs the ${controller} cgroup controller, which this host does not mount`, { code: 'ENOTSUP', step: 'cgroup' });
    return dir;
  }

  create(limits: NormalizedLimits): void {
    for (const dir of this.record.dirs) makeCgroupDir(dir);
    if (this.dir.cpuset) this.initCpuset(this.dir.cpuset);
    this.update(limits, true);
    if (limits.devices && this.dir.devices) {
      writeCgroupFile(this.dir.devices, 'devices.deny', 'a');
      writeCgroupValues(this.dir.devices, 'devices.allow', limits.devices.map((rule) => `${rule.type} ${rule.major}:${rule.minor} ${rule.access}`));
    }
  }

  /** A new v1 cpuset starts empty: copy the parent's cpus and mems down every level berth created. */
  private initCpuset(dir: string): void {
    for (const level of [join(dir, '..'), dir]) {
      for (const file of ['cpuset.cpus', 'cpuset.mems']) {
        if (!readCgroupFile(level, file)) writeCgroupFile(level, file, readCgroupFile(join(level, '..'), file) ?? '');
      }
    }
  }

  update(limits: NormalizedLimits, creating = false): void {
    if (limits.memory !== undefined || limits.memorySwap !== undefined) {
      const dir = this.need('memory', 'memory');
      const swapFile = existsSync(join(dir, 'memory.memsw.limit_in_bytes'));
      const memory = limits.memory;
      const swap = swapFile ? limits.memorySwap : undefined;
      // memsw must stay ≥ memory at every step: raise memsw first when growing
      const current = readNumber(dir, 'memory.limit_in_bytes') ?? 0;
      const order = memory !== undefined && memory > current && !creating ? ['memsw', 'memory'] : ['memory', 'memsw'];
      for (const which of order) {
        if (which === 'memory' && memory !== undefined) writeCgroupFile(dir, 'memory.limit_in_bytes', memory);
        if (which === 'memsw' && swap !== undefined) writeCgroupFile(dir, 'memory.memsw.limit_in_bytes', swap === -1 ? UNLIMITED : swap);
      }
    }
    if (limits.memoryReservation !== undefined) {
      writeCgroupFile(this.need('memory', 'memoryReservation'), 'memory.soft_limit_in_bytes', limits.memoryReservation);
    }
    if (limits.cpuQuota !== undefined) {
      const dir = this.need('cpu', 'cpus');
      writeCgroupFile(dir, 'cpu.cfs_period_us', limits.cpuPeriod ?? 100_000);
      writeCgroupFile(dir, 'cpu.cfs_quota_us', limits.cpuQuota);
    }
    if (limits.cpuShares !== undefined) writeCgroupFile(this.need('cpu', 'cpuShares'), 'cpu.shares', limits.cpuShares);
    if (limits.cpusetCpus !== undefined) writeCgroupFile(this.need('cpuset', 'cpusetCpus'), 'cpuset.cpus', limits.cpusetCpus);
    if (limits.cpusetMems !== undefined) writeCgroupFile(this.need('cpuset', 'cpusetMems'), 'cpuset.mems', limits.cpusetMems);
    if (limits.pidsLimit !== undefined) {
      writeCgroupFile(this.need('pids', 'pidsLimit'), 'pids.max', limits.pidsLimit === -1 ? 'max' : limits.pidsLimit);
    }
    if (limits.blkioWeight !== undefined) {
      const dir = this.need('blkio', 'blkioWeight');
      const file = ['blkio.weight', 'blkio.bfq.weight'].find((f) => existsSync(join(dir, f)));
      if (!file) throw new BerthError('blkioWeight needs an IO scheduler with weights (BFQ); this host has none', { code: 'ENOTSUP', step: 'cgroup', path: dir });
      writeCgroupFile(dir, file, limits.blkioWeight);
    }
  }

  monitorSpec(): [string, string][] {
    const spec: [string, string][] = this.record.dirs.map((dir) => ['cgroup-procs', join(dir, 'cgroup.procs')]);
    if (this.dir.memory) spec.push(['oom-counter', join(this.dir.memory, 'memory.oom_control')]);
    for (const dir of this.record.dirs) spec.push(['cgroup-remove', dir]);
    return spec;
  }

  counters(): CgroupCounters {
    const memory = this.dir.memory ?? '';
    const stat = readKeyValues(memory, 'memory.stat');
    const cpuStat = readKeyValues(this.dir.cpuacct ?? '', 'cpuacct.stat');
    const limit = readNumber(memory, 'memory.limit_in_bytes');
    const pidsLimit = readNumber(this.dir.pids ?? '', 'pids.max');
    let read = 0, write = 0;
    for (const line of (readCgroupFile(this.dir.blkio ?? '', 'blkio.throttle.io_service_bytes_recursive') ?? readCgroupFile(this.dir.blkio ?? '', 'blkio.throttle.io_service_bytes') ?? '').split('\n')) {
      const [, op, bytes] = line.split(' ');
      if (op === 'Read') read += Number(bytes);
      if (op === 'Write') write += Number(bytes);
    }
    return {
      cpuTotalNs: readNumber(this.dir.cpuacct ?? '', 'cpuacct.usage') ?? 0,
      cpuUserNs: (cpuStat.get('user') ?? 0) * USER_HZ_NS,
      cpuSystemNs: (cpuStat.get('system') ?? 0) * USER_HZ_NS,
      memoryUsage: readNumber(memory, 'memory.usage_in_bytes') ?? 0,
      memoryLimit: limit === undefined || limit >= 2 ** 62 ? null : Math.min(limit, totalmem()),
      memoryCache: stat.get('total_cache') ?? stat.get('cache') ?? 0,
      memoryInactiveFile: stat.get('total_inactive_file') ?? stat.get('inactive_file') ?? 0,
      pidsCurrent: readNumber(this.dir.pids ?? '', 'pids.current') ?? 0,
      pidsLimit: pidsLimit ?? null,
      ioReadBytes: read,
      ioWriteBytes: write,
    };
  }

  oomKills(): number {
    return readKeyValues(this.dir.memory ?? '', 'memory.oom_control').get('oom_kill') ?? 0;
  }

  async freeze(): Promise<void> {
    const dir = this.need('freezer', 'pause');
    writeCgroupFile(dir, 'freezer.state', 'FROZEN');
    for (let i = 0; i < 500 && readCgroupFile(dir, 'freezer.state') === 'FREEZING'; i++) await sleep(2);
  }

  async thaw(): Promise<void> {
    writeCgroupFile(this.need('freezer', 'unpause'), 'freezer.state', 'THAWED');
  }

  frozen(): boolean {
    const state = this.dir.freezer ? readCgroupFile(this.dir.freezer, 'freezer.state') : undefined;
    return state === 'FROZEN' || state === 'FREEZING';
  }

  pids(): number[] {
    return readPids(this.dir.pids ?? this.dir.freezer ?? this.record.dirs[0] ?? '');
  }

  /**
   * Freezes the cgroup so nothing can fork between listing and killing, sends
   * SIGKILL to every process, and thaws it so they die. The cgroup may vanish
   * meanwhile (the monitor removes it once the container is gone): fine.
   */
  async killAll(): Promise<void> {
    if (this.pids().length === 0) return;
    const freezer = this.dir.freezer;
    const setState = (state: string) => {
      try {
        if (freezer) writeCgroupFile(freezer, 'freezer.state', state);
      } catch {
        // the cgroup is gone
      }
    };
    setState('FROZEN');
    for (let i = 0; freezer && i < 50 && readCgroupFile(freezer, 'freezer.state') === 'FREEZING'; i++) await sleep(2);
    for (let round = 0; round < 20; round++) {
      const pids = this.pids();
      if (pids.length === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
      setState('THAWED');
      await sleep(5);
    }
    setState('THAWED'); // also when nothing was left to kill: never leave it frozen
  }

  async remove(): Promise<void> {
    await this.killAll();
    await removeCgroupDirs(this.record.dirs);
  }
}

