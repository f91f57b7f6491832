import { readFileSync } from 'node:fs';

/** How the host's cgroups are mounted. */
export type CgroupMode = 'v2' | 'hybrid' | 'v1';

/** One mounted cgroup hierarchy, from /proc/self/mountinfo. */
export interface CgroupMount {
  /** Where it is mounted (`/sys/fs/cgroup/memory`, `/sys/fs/cgroup`). */
  mountPoint: string;
  /** The path inside the hierarchy that is mounted there (`/` unless in a cgroup namespace). */
  root: string;
  /** `cgroup2`, or `cgroup` for a v1 hierarchy. */
  type: 'cgroup' | 'cgroup2';
  /** v1: the controllers bound to this hierarchy (`memory`, `cpu`, …); v2: empty. */
  controllers: string[];
}

let mountsOfThisProcess: CgroupMount[] | undefined;

/**
 * The cgroup hierarchies mounted in this mount namespace (read once per
 * process: they do not move while it runs, and every start needs them).
 */
export function cgroupMounts(mountinfo?: string): CgroupMount[] {
  if (mountinfo === undefined) {
    mountsOfThisProcess ??= parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8'));
    return mountsOfThisProcess;
  }
  return parseCgroupMounts(mountinfo);
}

function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const [type, , superOptions = ''] = right.split(' ');
    if (type !== 'cgroup' && type !== 'cgroup2') continue;
    const fields = left.split(' ');
    const controllers = type === 'cgroup'
      ? superOptions.split(',').filter((o) => !['rw', 'ro', 'relatime', 'noexec', 'nosuid', 'nodev', 'clone_children', 'noprefix', 'xattr'].includes(o) && !o.includes('='))
      : [];
    mounts.push({ mountPoint: unescape(fields[4]!), root: unescape(fields[3]!), type, controllers });
  }
  return mounts;
}

function unescape(path: string): string {
  return path.replace(/\\(\d{3})/g, (_m, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** v2 when /sys/fs/cgroup itself is cgroup2; hybrid when v1 hierarchies sit beside a cgroup2 one; v1 otherwise. */
export function detectCgroupMode(mounts = cgroupMounts()): CgroupMode {
  if (mounts.some((m) => m.type === 'cgroup2' && m.mountPoint === '/sys/fs/cgroup')) return 'v2';
  const hasV1 = mounts.some((m) => m.type === 'cgroup' && m.controllers.length > 0);
  if (!hasV1) return 'v2';
  return mounts.some((m) => m.type === 'cgroup2') ? 'hybrid' : 'v1';
}

/** This process's cgroup path per hierarchy: `''` → the v2 path; `memory` (any v1 controller) → that hierarchy's path. */
export function ownCgroups(text = readFileSync('/proc/self/cgroup', 'utf8')): Map<string, string> {
  const paths = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!match) continue;
    const [, , controllers, path] = match;
    if (controllers === '') paths.set('', path!);
    for (const controller of controllers!.split(',')) if (controller) paths.set(controller, path!);
  }
  return paths;
}
