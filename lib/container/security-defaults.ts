/** Docker's default security settings, which berth applies to every container. */
import { readFileSync } from 'node:fs';

/** Linux capabilities by number (capability.h). */
export const CAPABILITY_NAMES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
  'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
  'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP',
  'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF',
  'CHECKPOINT_RESTORE',
] as const;

/** A capability name without the `CAP_` prefix. */
export type CapabilityName = (typeof CAPABILITY_NAMES)[number];

let available: CapabilityName[] | undefined;

/**
 * The capabilities berth can hand out: the known ones in this process's
 * bounding set (all of them for root on most hosts), which is what
 * `privileged` and `capAdd: ['ALL']` give.
 */
export function availableCapabilities(): CapabilityName[] {
  if (available) return available;
  let bounding = (1n << BigInt(CAPABILITY_NAMES.length)) - 1n;
  try {
    const line = readFileSync('/proc/self/status', 'utf8').match(/^CapBnd:\s*([0-9a-f]+)$/m);
    if (line) bounding = BigInt(`0x${line[1]}`);
  } catch {
    // no /proc: assume all
  }
  available = CAPABILITY_NAMES.filter((_, bit) => (bounding >> BigInt(bit)) & 1n);
  return available;
}

/** Docker's default capability set: exactly these 14, everything else is dropped. */
export const DEFAULT_CAPABILITIES: readonly CapabilityName[] = [
  'CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID', 'SETFCAP', 'SETPCAP',
  'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE',
];

/** Paths hidden from the container (Docker's list): files become /dev/null, directories an empty tmpfs. */
export const MASKED_PATHS: readonly string[] = [
  '/proc/asound', '/proc/acpi', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
  '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

/** Paths mounted read-only in the container (Docker's list). */
export const READONLY_PATHS: readonly string[] = [
  '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger',
];

/** The PATH a container gets when neither the image nor the caller sets one. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** rlimit resource numbers (sys/resource.h) by the names Docker's `--ulimit` uses. */
export const RLIMIT_RESOURCES: Readonly<Record<string, number>> = {
  cpu: 0, fsize: 1, data: 2, stack: 3, core: 4, rss: 5, nproc: 6, nofile: 7, memlock: 8, as: 9, locks: 10,
  sigpending: 11, msgqueue: 12, nice: 13, rtprio: 14, rttime: 15,
};
