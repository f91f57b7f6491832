/**
 * The compiled seccomp filter of a container: its profile resolved for its
 * capability set (seccomp-profile.ts), compiled by `berth-exec seccomp`
 * (libseccomp) into a classic BPF program, once. The program is kept at
 * `<root>/seccomp/<sha256 of the compiler version and rules>.bpf` (directory
 * 0700, files 0600)
 * and remembered in memory, so a start or an exec costs a lookup and a stat; the
 * monitor and berth-exec read the file and load it as it is.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sealedHelper } from '../native/addon.js';
import { DEFAULT_SECCOMP_PROFILE } from './seccomp-default.js';
import type { SeccompProfile } from '../../types/container.js';
import { seccompRules, type SeccompSetting } from './seccomp-profile.js';

/** The security settings a filter depends on (a ContainerConfig's). */
export interface SeccompSubject {
  seccomp?: SeccompSetting;
  privileged?: boolean;
  capabilities: readonly string[];
}

/** Part of the cache key: changes when what `berth-exec seccomp` makes of the same rules does. */
const COMPILER_VERSION = 'berth-seccomp-1 (libseccomp, ENOSYS stub)';

/** A profile resolved for one capability set: its rules, and where each state root keeps their program. */
interface ResolvedRules {
  rules: string;
  programs: Map<string, string>; // state root → the program's path
}

const resolved = new WeakMap<SeccompProfile, Map<string, ResolvedRules>>(); // profile → capabilities → rules

/**
 * seccompRules(), remembered per profile object and capability set (it takes
 * ~0.2 ms), with the programs compiled from them: a start looks its program up
 * by the profile object and the capability names, never by the rules' text
 * (10-20 KB, hashed on every lookup).
 */
function rulesFor(profile: SeccompProfile, capabilities: readonly string[]): ResolvedRules {
  let byCapabilities = resolved.get(profile);
  if (!byCapabilities) resolved.set(profile, (byCapabilities = new Map()));
  const key = capabilities.join(',');
  let entry = byCapabilities.get(key);
  if (entry === undefined) byCapabilities.set(key, (entry = { rules: seccompRules(profile, capabilities), programs: new Map() }));
  return entry;
}

/** `'default'`, `'unconfined'` or `'custom'`: what inspect() shows. */
export function seccompMode(subject: SeccompSubject): 'default' | 'unconfined' | 'custom' {
  if (subject.privileged) return 'unconfined';
  const setting = subject.seccomp ?? 'default';
  return typeof setting === 'string' ? setting : 'custom';
}

/**
 * The path of the BPF program for `subject` under the state root `root`,
 * compiled now when it is not there yet; null when there is no filter
 * (`seccomp: 'unconfined'`, `privileged`).
 * @throws TypeError when libseccomp refuses the profile (its message quoted).
 */
export function seccompProgram(root: string, subject: SeccompSubject): string | null {
  const mode = seccompMode(subject);
  if (mode === 'unconfined') return null;
  const profile = mode === 'default' ? DEFAULT_SECCOMP_PROFILE : (subject.seccomp as SeccompProfile);
  const { rules, programs } = rulesFor(profile, subject.capabilities);
  const known = programs.get(root);
  if (known && existsSync(known)) return known; // (a root may have been removed and made again)

  const dir = join(root, 'seccomp');
  const path = join(dir, `${createHash('sha256').update(`${COMPILER_VERSION}\n${rules}`).digest('hex')}.bpf`);
  if (!existsSync(path)) {
    const helper = sealedHelper('berth-exec');
    const result = spawnSync(helper.path, ['seccomp'], { argv0: helper.argv0, input: rules, maxBuffer: 1 << 20 });
    if (result.status !== 0) {
      const reason = result.error?.message ?? (result.stderr.toString().trim() || `exit status ${result.status}`);
      throw new TypeError(`seccomp: the profile does not compile: ${reason}`);
    }
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, result.stdout, { mode: 0o600 });
    renameSync(temporary, path); // whole or not at all, for concurrent creators
  }
  programs.set(root, path);
  return path;
}
