import { existsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DeviceRule } from '../../types/resources.js';
import { BerthError } from '../errors.js';
import { nativeAddon } from '../native/addon.js';
import { cgroupMounts, ownCgroups } from './cgroup-mode.js';
import { makeCgroupDir, readCgroupFile, readKeyValues, readNumber, readPids, removeCgroupDirs, writeCgroupFile } from './cgroup-files.js';
import type { CgroupCounters, CgroupRecord, ContainerCgroup } from './container-cgroup.js';
import { allowsEveryDevice, sharesToWeight, type NormalizedLimits } from './resource-limits.js';

const CONTROLLERS = ['cpu', 'cpuset', 'io', 'memory', 'pids'];

/** `<own cgroup>/berth/<id>` in the unified hierarchy, or `<parent>/<id>` (see v1Layout). */
export function v2Layout(id: string, parentName?: string): CgroupRecord {
  const mount = cgroupMounts().find((m) => m.type === 'cgroup2' && m.mountPoint === '/sys/fs/cgroup')
    ?? cgroupMounts().find((m) => m.type === 'cgroup2');
  if (!mount) throw new BerthError('no cgroup2 hierarchy is mounted', { code: 'ENOENT', path: '/sys/fs/cgroup', step: 'cgroup' });
  const parent = parentName?.startsWith('/')
    ? join(mount.mountPoint, relative(mount.root, parentName))
    : join(mount.mountPoint, relative(mount.root, ownCgroups().get('') ?? '/'), parentName ?? 'berth');
  return { mode: 'v2', dirs: [join(parent, id)], parents: parentName === undefined ? [parent] : [], controllers: {} };
}

/** The cgroup v2 driver: one directory in the unified hierarchy. */
export class CgroupV2 implements ContainerCgroup {
  private readonly dir: string;

  constructor(readonly record: CgroupRecord) {
    this.dir = record.dirs[0]!;
  }

  /**
   * Enables the controllers for the container's cgroup, level by level. The
   * "no internal processes" rule: a cgroup with processes of its own (other
   * than the root) cannot hand controllers to its children; berth's parent
   * directory never has processes, but the caller's own cgroup may.
   */
  private enableControllers(): void {
    const parent = join(this.dir, '..');
    for (const level of [join(parent, '..'), parent]) {
      const available = (readCgroupFile(level, 'cgroup.controllers') ?? '').split(' ');
      const enabled = (readCgroupFile(level, 'cgroup.subtree_control') ?? '').split(' ');
      const added: string[] = [];
      for (const controller of CONTROLLERS) {
        if (!available.includes(controller) || enabled.includes(controller)) continue;
        try {
          writeCgroupFile(level, 'cgroup.subtree_control', `+${controller}`);
          added.push(controller);
        } catch {
          // EBUSY: this level has processes of its own. Some controllers
          // (cpu, pids) are accepted anyway, but a mix leaves the children
          // "domain invalid": take back what was added at this level; the
          // limits that need a controller say so below.
          for (const undo of added) {
            try {
              writeCgroupFile(level, 'cgroup.subtree_control', `-${undo}`);
            } catch {
              // nothing more to undo
            }
          }
          return;
        }
      }
    }
  }

  private need(file: string, option: string): void {
    if (!existsSync(join(this.dir, file))) {
      const parent = join(this.dir, '..', '..');
      throw new BerthError(
        `${option} needs the ${file.split('.')[0]} controller, which is not enabled for ${this.dir}. ` +
          `Its ancestor ${parent} has processes of its own ("no internal processes" rule) or lacks the controller: ` +
          "pass cgroupParent: an absolute cgroup path whose ancestors have no processes of their own and delegate the controllers (e.g. '/berth.slice').",
        { code: 'ENOTSUP', path: join(this.dir, file), step: 'cgroup' },
      );
    }
  }

  private write(file: string, option: string, value: string | number): void {
    this.need(file, option);
    writeCgroupFile(this.dir, file, value);
  }

  create(limits: NormalizedLimits): void {
    makeCgroupDir(join(this.dir, '..'));
    this.enableControllers();
    makeCgroupDir(this.dir);
    this.update(limits);
    // every device allowed (privileged): no program, as there is nothing to deny
    if (limits.devices && !allowsEveryDevice(limits.devices)) this.attachDeviceFilter(limits.devices);
  }

  /** v2 has no devices.allow: the allow-list is an eBPF program attached to the cgroup. */
  private attachDeviceFilter(rules: DeviceRule[]): void {
    const any = (n: number | '*') => (n === '*' ? -1 : n);
    try {
      nativeAddon().attachDeviceFilter(this.dir, rules.map((r) => ({ type: r.type, major: any(r.major), minor: any(r.minor), access: r.access })));
    } catch (error) {
      const e = error as { message: string; errno?: number; syscall?: string };
      throw new BerthError(`cannot attach the device allow-list to ${this.dir}: ${e.message}`, {
        code: 'ERR_DEVICE_FILTER', errno: e.errno, syscall: e.syscall, path: this.dir, step: 'cgroup', cause: error,
      });
    }
  }

  update(limits: NormalizedLimits): void {
    if (limits.memory !== undefined) this.write('memory.max', 'memory', limits.memory);
    if (limits.memorySwap !== undefined && existsSync(join(this.dir, 'memory.swap.max'))) {
      const memory = limits.memory ?? readNumber(this.dir, 'memory.max') ?? 0;
      this.write('memory.swap.max', 'memorySwap', limits.memorySwap === -1 ? 'max' : Math.max(0, limits.memorySwap - memory));
    }
    if (limits.memoryReservation !== undefined) this.write('memory.low', 'memoryReservation', limits.memoryReservation);
    if (limits.cpuQuota !== undefined) {
      this.write('cpu.max', 'cpus', `${limits.cpuQuota === -1 ? 'max' : limits.cpuQuota} ${limits.cpuPeriod ?? 100_000}`);
    }
    if (limits.cpuShares !== undefined) this.write('cpu.weight', 'cpuShares', sharesToWeight(limits.cpuShares));
    if (limits.cpusetCpus !== undefined) this.write('cpuset.cpus', 'cpusetCpus', limits.cpusetCpus);
    if (limits.cpusetMems !== undefined) this.write('cpuset.mems', 'cpusetMems', limits.cpusetMems);
    if (limits.pidsLimit !== undefined) this.write('pids.max', 'pidsLimit', limits.pidsLimit === -1 ? 'max' : limits.pidsLimit);
    if (limits.blkioWeight !== undefined) {
      if (existsSync(join(this.dir, 'io.bfq.weight'))) this.write('io.bfq.weight', 'blkioWeight', limits.blkioWeight);
      else this.write('io.weight', 'blkioWeight', `default ${limits.blkioWeight}`);
    }
  }

  monitorSpec(): [string, string][] {
    return [
      ['cgroup-dir', this.dir],
      ['oom-counter', join(this.dir, 'memory.events')],
      ['cgroup-remove', this.dir],
    ];
  }

  counters(): CgroupCounters {
    const cpu = readKeyValues(this.dir, 'cpu.stat');
    const memory = readKeyValues(this.dir, 'memory.stat');
    const limit = readNumber(this.dir, 'memory.max');
    let read = 0, write = 0;
    for (const line of (readCgroupFile(this.dir, 'io.stat') ?? '').split('\n')) {
      read += Number(/rbytes=(\d+)/.exec(line)?.[1] ?? 0);
      write += Number(/wbytes=(\d+)/.exec(line)?.[1] ?? 0);
    }
    return {
      cpuTotalNs: (cpu.get('usage_usec') ?? 0) * 1000,
      cpuUserNs: (cpu.get('user_usec') ?? 0) * 1000,
      cpuSystemNs: (cpu.get('system_usec') ?? 0) * 1000,
      memoryUsage: readNumber(this.dir, 'memory.current') ?? 0,
      memoryLimit: limit === undefined ? null : Math.min(limit, totalmem()),
      memoryCache: memory.get('file') ?? 0,
      memoryInactiveFile: memory.get('inactive_file') ?? 0,
      pidsCurrent: readNumber(this.dir, 'pids.current') ?? 0,
      pidsLimit: readNumber(this.dir, 'pids.max') ?? null,
      ioReadBytes: read,
      ioWriteBytes: write,
    };
  }

  oomKills(): number {
    return readKeyValues(this.dir, 'memory.events').get('oom_kill') ?? 0;
  }

  async freeze(): Promise<void> {
    writeCgroupFile(this.dir, 'cgroup.freeze', 1);
    for (let i = 0; i < 500 && readKeyValues(this.dir, 'cgroup.events').get('frozen') !== 1; i++) await sleep(2);
  }

  async thaw(): Promise<void> {
    writeCgroupFile(this.dir, 'cgroup.freeze', 0);
  }

  frozen(): boolean {
    return readCgroupFile(this.dir, 'cgroup.freeze') === '1';
  }

  pids(): number[] {
    return readPids(this.dir);
  }

  /** cgroup.kill (Linux ≥ 5.14) kills every process atomically; older kernels: freeze, kill, thaw. */
  async killAll(): Promise<void> {
    if (this.pids().length === 0) return;
    try {
      if (existsSync(join(this.dir, 'cgroup.kill'))) {
        writeCgroupFile(this.dir, 'cgroup.kill', 1);
        return;
      }
      await this.freeze();
      for (const pid of this.pids()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
      await this.thaw();
    } catch (error) {
      if (existsSync(this.dir)) throw error; // else: the cgroup went away with its processes
    }
  }

  async remove(): Promise<void> {
    await this.killAll();
    await removeCgroupDirs(this.record.dirs);
  }
}
