/**
 * Seccomp profiles in Docker's JSON format: checked at create (a TypeError
 * naming the field), then resolved, as moby does, into the rules of one
 * filter for one capability set on this host: `includes`/`excludes` by
 * capability, architecture and kernel version, `archMap` by the host's
 * architecture. The result is the text seccomp-compile reads (berth-exec
 * `seccomp`, addon/seccomp_compile.cc):
 *
 *   default <action> <value>
 *   arch <libseccomp architecture name>
 *   rule <action> <value> <syscall> [<index> <op> <value> <valueTwo>]...
 *
 * Names of system calls are not checked against a list: as in runc and crun,
 * a name libseccomp does not know is skipped (Docker's own default profile
 * names system calls newer than many libseccomp versions).
 */
import { release } from 'node:os';
import type { SeccompAction, SeccompArg, SeccompCondition, SeccompProfile, SeccompSyscall } from '../../types/container.js';
import { CAPABILITY_NAMES } from './security-defaults.js';

/** The `seccomp` create option once checked: a profile is stored whole, as given. */
export type SeccompSetting = 'default' | 'unconfined' | SeccompProfile;

const ACTIONS: Readonly<Record<SeccompAction, string>> = {
  SCMP_ACT_ALLOW: 'allow',
  SCMP_ACT_ERRNO: 'errno',
  SCMP_ACT_KILL: 'kill_thread',
  SCMP_ACT_KILL_THREAD: 'kill_thread',
  SCMP_ACT_KILL_PROCESS: 'kill_process',
  SCMP_ACT_TRAP: 'trap',
  SCMP_ACT_TRACE: 'trace',
  SCMP_ACT_LOG: 'log',
};

const OPERATORS: Readonly<Record<SeccompArg['op'], string>> = {
  SCMP_CMP_NE: 'ne',
  SCMP_CMP_LT: 'lt',
  SCMP_CMP_LE: 'le',
  SCMP_CMP_EQ: 'eq',
  SCMP_CMP_GE: 'ge',
  SCMP_CMP_GT: 'gt',
  SCMP_CMP_MASKED_EQ: 'masked_eq',
};

/** Docker's SCMP_ARCH_* names → libseccomp's. */
const ARCHITECTURES: Readonly<Record<string, string>> = {
  SCMP_ARCH_X86: 'x86', SCMP_ARCH_X86_64: 'x86_64', SCMP_ARCH_X32: 'x32', SCMP_ARCH_ARM: 'arm',
  SCMP_ARCH_AARCH64: 'aarch64', SCMP_ARCH_MIPS: 'mips', SCMP_ARCH_MIPS64: 'mips64', SCMP_ARCH_MIPS64N32: 'mips64n32',
  SCMP_ARCH_MIPSEL: 'mipsel', SCMP_ARCH_MIPSEL64: 'mipsel64', SCMP_ARCH_MIPSEL64N32: 'mipsel64n32', SCMP_ARCH_PPC: 'ppc',
  SCMP_ARCH_PPC64: 'ppc64', SCMP_ARCH_PPC64LE: 'ppc64le', SCMP_ARCH_S390: 's390', SCMP_ARCH_S390X: 's390x',
  SCMP_ARCH_PARISC: 'parisc', SCMP_ARCH_PARISC64: 'parisc64', SCMP_ARCH_RISCV64: 'riscv64',
};

/** Node's `process.arch` → the architecture names of moby's `includes.arches`, and the SCMP_ARCH of the host. */
const HOST_ARCHITECTURES: Readonly<Record<string, [string, string]>> = {
  x64: ['amd64', 'SCMP_ARCH_X86_64'], ia32: ['x86', 'SCMP_ARCH_X86'], arm64: ['arm64', 'SCMP_ARCH_AARCH64'],
  arm: ['arm', 'SCMP_ARCH_ARM'], s390x: ['s390x', 'SCMP_ARCH_S390X'], ppc64: ['ppc64le', 'SCMP_ARCH_PPC64LE'],
  riscv64: ['riscv64', 'SCMP_ARCH_RISCV64'], mips64el: ['mipsel64', 'SCMP_ARCH_MIPSEL64'],
};

const EPERM = 1;
const MAX_ERRNO = 4095;
const SYSCALL_NAME = /^[a-z_][a-z0-9_]{0,63}$/;

function fail(message: string): never {
  throw new TypeError(message);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkAction(value: unknown, what: string): SeccompAction {
  if (value === 'SCMP_ACT_NOTIFY') fail(`${what}: SCMP_ACT_NOTIFY (a user-space agent) is not supported`);
  if (typeof value !== 'string' || !(value in ACTIONS)) {
    fail(`${what} must be one of ${Object.keys(ACTIONS).join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as SeccompAction;
}

function checkInteger(value: unknown, what: string, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) {
    fail(`${what} must be an integer from 0 to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function checkStrings(value: unknown, what: string, each: (item: string, where: string) => void = () => {}): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) fail(`${what} must be an array of strings`);
  value.forEach((item: string, i) => each(item, `${what}[${i}]`));
  return value as string[];
}

function checkArchitecture(name: string, where: string): void {
  if (!(name in ARCHITECTURES)) {
    fail(`${where}: unknown architecture '${name}' (one of ${Object.keys(ARCHITECTURES).join(', ')})`);
  }
}

function checkCondition(value: unknown, what: string): void {
  if (value === undefined || value === null) return;
  if (!isObject(value)) fail(`${what} must be an object { caps, arches, minKernel }`);
  if (value.caps !== undefined && value.caps !== null) {
    checkStrings(value.caps, `${what}.caps`, (cap, where) => {
      if (!(CAPABILITY_NAMES as readonly string[]).includes(cap.replace(/^CAP_/, ''))) fail(`${where}: unknown capability '${cap}'`);
    });
  }
  if (value.arches !== undefined && value.arches !== null) checkStrings(value.arches, `${what}.arches`);
  if (value.minKernel !== undefined && value.minKernel !== null) {
    if (typeof value.minKernel !== 'string' || !/^\d+\.\d+(\.\d+)?$/.test(value.minKernel)) {
      fail(`${what}.minKernel must look like '4.8', got ${JSON.stringify(value.minKernel)}`);
    }
  }
}

function checkSyscall(value: unknown, what: string): void {
  if (!isObject(value)) fail(`${what} must be an object { names, action, … }`);
  if (value.name !== undefined && value.names !== undefined) fail(`${what}: give 'name' or 'names', not both`);
  const names = value.name !== undefined ? [value.name] : value.names;
  checkStrings(names, value.name !== undefined ? `${what}.name` : `${what}.names`, (name, where) => {
    if (!SYSCALL_NAME.test(name)) fail(`${where}: '${name}' is not a system call name`);
  });
  checkAction(value.action, `${what}.action`);
  if (value.errnoRet !== undefined && value.errnoRet !== null) {
    checkInteger(value.errnoRet, `${what}.errnoRet`, value.action === 'SCMP_ACT_TRACE' ? 65535 : MAX_ERRNO);
  }
  if (value.args !== undefined && value.args !== null) {
    if (!Array.isArray(value.args)) fail(`${what}.args must be an array`);
    if (value.args.length > 6) fail(`${what}.args: at most 6 conditions (one per argument)`);
    value.args.forEach((arg: unknown, i) => {
      const where = `${what}.args[${i}]`;
      if (!isObject(arg)) fail(`${where} must be an object { index, value, valueTwo, op }`);
      checkInteger(arg.index, `${where}.index`, 5);
      checkInteger(arg.value, `${where}.value`, Number.MAX_SAFE_INTEGER);
      if (arg.valueTwo !== undefined) checkInteger(arg.valueTwo, `${where}.valueTwo`, Number.MAX_SAFE_INTEGER);
      if (typeof arg.op !== 'string' || !(arg.op in OPERATORS)) {
        fail(`${where}.op must be one of ${Object.keys(OPERATORS).join(', ')}, got ${JSON.stringify(arg.op)}`);
      }
    });
  }
  checkCondition(value.includes, `${what}.includes`);
  checkCondition(value.excludes, `${what}.excludes`);
}

/**
 * Checks the `seccomp` create option: `'default'`, `'unconfined'`, a profile
 * object or a JSON string of one. Throws a TypeError naming the field.
 */
export function checkSeccompOption(value: unknown): SeccompSetting | undefined {
  if (value === undefined || value === 'default' || value === 'unconfined') return value;
  let profile = value;
  if (typeof value === 'string') {
    try {
      profile = JSON.parse(value);
    } catch (error) {
      fail(`seccomp must be 'default', 'unconfined', or a profile in Docker's JSON format: ${(error as Error).message}`);
    }
  }
  if (!isObject(profile)) fail("seccomp must be 'default', 'unconfined', or a profile in Docker's JSON format");
  checkAction(profile.defaultAction, 'seccomp.defaultAction');
  if (profile.defaultErrnoRet !== undefined && profile.defaultErrnoRet !== null) {
    checkInteger(profile.defaultErrnoRet, 'seccomp.defaultErrnoRet', MAX_ERRNO);
  }
  const given = (key: string) => profile[key] !== undefined && profile[key] !== null && (profile[key] as unknown[]).length !== 0;
  if (given('architectures') && given('archMap')) fail("seccomp: give 'architectures' or 'archMap', not both (as Docker)");
  if (profile.architectures !== undefined && profile.architectures !== null) {
    checkStrings(profile.architectures, 'seccomp.architectures', checkArchitecture);
  }
  if (profile.archMap !== undefined && profile.archMap !== null) {
    if (!Array.isArray(profile.archMap)) fail('seccomp.archMap must be an array');
    profile.archMap.forEach((entry: unknown, i) => {
      const where = `seccomp.archMap[${i}]`;
      if (!isObject(entry) || typeof entry.architecture !== 'string') fail(`${where} must be { architecture, subArchitectures }`);
      checkArchitecture(entry.architecture, `${where}.architecture`);
      if (entry.subArchitectures !== undefined && entry.subArchitectures !== null) {
        checkStrings(entry.subArchitectures, `${where}.subArchitectures`, checkArchitecture);
      }
    });
  }
  if (profile.syscalls !== undefined && profile.syscalls !== null) {
    if (!Array.isArray(profile.syscalls)) fail('seccomp.syscalls must be an array');
    profile.syscalls.forEach((call: unknown, i) => checkSyscall(call, `seccomp.syscalls[${i}]`));
  }
  if (profile.flags !== undefined && profile.flags !== null && (!Array.isArray(profile.flags) || profile.flags.length > 0)) {
    fail('seccomp.flags are not supported');
  }
  if (profile.listenerPath !== undefined && profile.listenerPath !== '') fail('seccomp.listenerPath is not supported');
  return profile as unknown as SeccompProfile;
}

/** The host as the profile's conditions see it. */
export interface SeccompHost {
  /** moby's architecture name (`amd64`, `arm64`, …). */
  arch: string;
  /** The SCMP_ARCH_* of the host. */
  scmpArch: string;
  /** The kernel's version, [major, minor]. */
  kernel: [number, number];
}

/** This host. */
export function seccompHost(): SeccompHost {
  const [arch, scmpArch] = HOST_ARCHITECTURES[process.arch] ?? [process.arch, ''];
  const [major = 0, minor = 0] = release().split(/[.-]/).map(Number);
  return { arch, scmpArch, kernel: [major, minor] };
}

function kernelAtLeast(host: SeccompHost, version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return host.kernel[0] > major || (host.kernel[0] === major && host.kernel[1] >= minor);
}

/** moby's rule selection: every `includes` holds and no `excludes` does. */
function applies(call: SeccompSyscall, capabilities: Set<string>, host: SeccompHost): boolean {
  const has = (cap: string) => capabilities.has(cap.replace(/^CAP_/, ''));
  const { includes: inc, excludes: exc }: { includes?: SeccompCondition; excludes?: SeccompCondition } = call;
  if (exc?.arches?.includes(host.arch)) return false;
  if (exc?.caps?.some(has)) return false;
  if (exc?.minKernel && kernelAtLeast(host, exc.minKernel)) return false;
  if (inc?.arches?.length && !inc.arches.includes(host.arch)) return false;
  if (inc?.caps?.length && !inc.caps.every(has)) return false;
  if (inc?.minKernel && !kernelAtLeast(host, inc.minKernel)) return false;
  return true;
}

/** An action and its value as the compiler reads them (only errno and trace carry one). */
function actionWords(action: SeccompAction, value: number | undefined): string {
  if (action === 'SCMP_ACT_ERRNO') return `errno ${value ?? EPERM}`;
  if (action === 'SCMP_ACT_TRACE') return `trace ${value ?? 0}`;
  return `${ACTIONS[action]} 0`;
}

/**
 * The compiler's input for `profile` (checked by checkSeccompOption) applied
 * to a process with `capabilities` (names without `CAP_`) on `host`.
 */
export function seccompRules(profile: SeccompProfile, capabilities: readonly string[], host: SeccompHost = seccompHost()): string {
  const caps = new Set(capabilities);
  const defaultAction = actionWords(profile.defaultAction, profile.defaultErrnoRet ?? undefined);
  const lines = [`default ${defaultAction}`];
  let arches = profile.architectures ?? [];
  if (arches.length === 0) {
    const entry = profile.archMap?.find((a) => a.architecture === host.scmpArch);
    if (entry) arches = [entry.architecture, ...(entry.subArchitectures ?? [])];
  }
  for (const arch of new Set(arches)) lines.push(`arch ${ARCHITECTURES[arch]}`);
  for (const call of profile.syscalls ?? []) {
    if (!applies(call, caps, host)) continue;
    const action = actionWords(call.action, call.errnoRet ?? undefined);
    if (action === defaultAction) continue; // libseccomp refuses a rule that changes nothing (runc skips it too)
    const args = (call.args ?? []).map((a) => `${a.index} ${OPERATORS[a.op]} ${a.value} ${a.valueTwo ?? 0}`);
    // several conditions on one argument: each its own rule, so any of them matches (as runc does)
    const sameIndexTwice = new Set((call.args ?? []).map((a) => a.index)).size < args.length;
    const groups = sameIndexTwice ? args.map((a) => [a]) : [args];
    for (const name of call.names ?? [call.name!]) {
      for (const group of groups) lines.push(['rule', action, name, ...group].join(' '));
    }
  }
  return `${lines.join('\n')}\n`;
}
