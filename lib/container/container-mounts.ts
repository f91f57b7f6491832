import { readFileSync } from 'node:fs';

/** One mount of a container's mount namespace, from `/proc/<pid>/mountinfo`. */
export interface ContainerMount {
  /** Relative to the container's root, without a leading `/`: `proc`, `etc/hostname` (`''`: the root). */
  path: string;
  /** The filesystem's device number, as `stat().dev` shows it for files on it. */
  device: number;
  /** `proc`, `sysfs`, `overlay`, `tmpfs`, … */
  fstype: string;
}

/**
 * Kernel views rather than files: `docker cp` and `docker export` archive their
 * mount points empty (Docker's own view of a container has none of them
 * mounted), and walking them fails anyway (`/proc/<pid>/…` of processes
 * berth may not trace).
 */
export const PSEUDO_FILESYSTEMS: ReadonlySet<string> = new Set([
  'proc', 'sysfs', 'devpts', 'mqueue', 'cgroup', 'cgroup2', 'securityfs', 'debugfs', 'tracefs', 'bpf', 'configfs',
  'fusectl', 'pstore', 'efivarfs', 'binfmt_misc', 'nsfs', 'selinuxfs', 'autofs', 'rpc_pipefs',
]);

/** The mounts of a process's mount namespace; empty once it exited (what is read through its root then has no mounts). */
export function containerMounts(pid: number): ContainerMount[] {
  let mountinfo: string;
  try {
    mountinfo = readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
  } catch {
    return [];
  }
  const mounts: ContainerMount[] = [];
  for (const line of mountinfo.split('\n')) {
    // id parent major:minor root mount-point options [optional…] - fstype source super-options
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    if (fields.length < 7 || separator < 0) continue;
    const [major, minor] = fields[2]!.split(':').map(Number) as [number, number];
    mounts.push({ path: unescape(fields[4]!).slice(1), device: makeDevice(major, minor), fstype: fields[separator + 1] ?? '' });
  }
  return mounts;
}

/** mountinfo escapes space, tab, newline and backslash as `\ooo`. */
function unescape(field: string): string {
  return field.replace(/\\(\d{3})/g, (_m, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** glibc's makedev: the dev_t that stat() reports for major:minor. */
function makeDevice(major: number, minor: number): number {
  return Number((BigInt(minor) & 0xffn) | ((BigInt(major) & 0xfffn) << 8n) | ((BigInt(minor) & ~0xffn) << 12n) | ((BigInt(major) & ~0xfffn) << 32n));
}
