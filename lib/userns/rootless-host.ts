/**
 * Whether this host lets a normal user run berth, checked once when a
 * rootless runtime opens: each problem is a {@link RootlessUnsupportedError}
 * that says what to change.
 *
 * - overlayfs inside a user namespace needs Linux 5.11;
 * - user namespaces may be switched off for normal users
 *   (`user.max_user_namespaces = 0`, Debian's older
 *   `kernel.unprivileged_userns_clone = 0`, Ubuntu's
 *   `kernel.apparmor_restrict_unprivileged_userns = 1`);
 * - subordinate ids are mapped by the setuid `newuidmap`/`newgidmap` (Debian's
 *   and Ubuntu's `uidmap`, Fedora's `shadow-utils`): configured ranges without
 *   them cannot be used.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { delimiter, join } from 'node:path';
import { RootlessUnsupportedError } from '../errors.js';
import type { IdMaps } from './id-map.js';
import { hasSubordinateIds } from './rootless-id-maps.js';

/** The setuid helpers that map subordinate ids, where found. */
export interface IdMapTools {
  newuidmap: string;
  newgidmap: string;
}

/** What the checks read; tests give other values. */
export interface RootlessHostFacts {
  /** `uname -r`. */
  kernel: string;
  /** A sysctl's value (`user/max_user_namespaces`), undefined when the kernel has none. */
  sysctl(name: string): string | undefined;
  tools: IdMapTools | undefined;
}

/** Where the id map tools are looked for besides $PATH (a user's PATH often lacks the sbin directories). */
const TOOL_DIRS = ['/usr/bin', '/usr/sbin', '/bin', '/sbin', '/usr/local/bin'];

function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((dir) => dir.startsWith('/')), ...TOOL_DIRS];
  for (const dir of dirs) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** `newuidmap` and `newgidmap`, or undefined unless both are installed. */
export function findIdMapTools(): IdMapTools | undefined {
  const newuidmap = findExecutable('newuidmap');
  const newgidmap = findExecutable('newgidmap');
  return newuidmap && newgidmap ? { newuidmap, newgidmap } : undefined;
}

/** This host's facts. */
export function hostFacts(): RootlessHostFacts {
  return {
    kernel: release(),
    sysctl(name) {
      try {
        return readFileSync(`/proc/sys/${name}`, 'utf8').trim();
      } catch {
        return undefined;
      }
    },
    tools: findIdMapTools(),
  };
}

/** Whether a kernel release (`6.1.0-18-amd64`) is at least `major.minor`. */
export function kernelAtLeast(kernel: string, major: number, minor: number): boolean {
  const match = /^(\d+)\.(\d+)/.exec(kernel);
  if (!match) return true; // an unusual release string: let the mount itself decide
  const [have, haveMinor] = [Number(match[1]), Number(match[2])];
  return have > major || (have === major && haveMinor >= minor);
}

/**
 * Refuses a host where a normal user cannot run berth's containers.
 * @throws RootlessUnsupportedError naming the problem and what to change.
 */
export function checkRootlessHost(maps: IdMaps, facts: RootlessHostFacts = hostFacts()): void {
  if (!kernelAtLeast(facts.kernel, 5, 11)) {
    throw new RootlessUnsupportedError(
      `rootless berth needs overlayfs inside a user namespace, which Linux has from 5.11; this kernel is ${facts.kernel}. ` +
        'Upgrade the kernel, or run berth as root.',
    );
  }
  const sysctls: [string, (value: string) => boolean, string][] = [
    ['user/max_user_namespaces', (v) => v === '0', 'sysctl -w user.max_user_namespaces=15000'],
    ['kernel/unprivileged_userns_clone', (v) => v === '0', 'sysctl -w kernel.unprivileged_userns_clone=1'],
    ['kernel/apparmor_restrict_unprivileged_userns', (v) => v === '1', 'sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (or an AppArmor profile for node that allows userns)'],
  ];
  for (const [name, blocks, fix] of sysctls) {
    const value = facts.sysctl(name);
    if (value !== undefined && blocks(value)) {
      throw new RootlessUnsupportedError(
        `user namespaces are disabled for normal users on this host (${name.replace('/', '.')} = ${value}); rootless berth needs them. ` +
          `As root: ${fix}, and persist it in /etc/sysctl.d/.`,
        { path: `/proc/sys/${name}` },
      );
    }
  }
  if (hasSubordinateIds(maps) && !facts.tools) {
    throw new RootlessUnsupportedError(
      'subordinate ids are configured for this user (/etc/subuid, /etc/subgid), but newuidmap and newgidmap, which map them, are not installed. ' +
        'Install them (Debian/Ubuntu: apt-get install uidmap; Fedora: dnf install shadow-utils), or remove the ranges to run with a single-id map.',
      { path: 'newuidmap' },
    );
  }
}
