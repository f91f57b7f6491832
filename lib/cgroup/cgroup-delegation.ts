/**
 * Whether a rootless caller may make cgroups: it needs a delegated cgroup v2
 * subtree, i.e. its own cgroup (from /proc/self/cgroup) on a cgroup2 mount,
 * owned by it (its directory, `cgroup.procs` and `cgroup.subtree_control`
 * writable), with controllers handed down by the parent (listed in its
 * `cgroup.controllers`). systemd gives this to `user@<uid>.service` and what
 * runs below it with `Delegate=yes` (the default for user@ since systemd
 * 244 is `memory pids`; `cpu cpuset io` need a drop-in). Containers' cgroups
 * then go below it, as for root (`<own cgroup>/berth/<id>`, or `cgroupParent`).
 *
 * Without one, rootless containers get no cgroup: a limit is refused with a
 * {@link RootlessUnsupportedError}, stats/update/pause too; kill and stop
 * signal the first process (the container's pid namespace dies with it).
 */
import { accessSync, constants } from 'node:fs';
import { join, relative } from 'node:path';
import type { ResourceLimits } from '../../types/resources.js';
import { RootlessUnsupportedError } from '../errors.js';
import { cgroupMounts, detectCgroupMode, ownCgroups, type CgroupMount } from './cgroup-mode.js';
import { readCgroupFile } from './cgroup-files.js';

/** What `runtime.info().cgroups` says of a rootless runtime. */
export interface CgroupDelegation {
  /** The caller owns a cgroup v2 subtree: containers get cgroups and limits. */
  delegated: boolean;
  /** The caller's own cgroup directory (absolute, under the cgroup2 mount), when on cgroup v2. */
  path?: string;
  /** The controllers available below it (`cpu`, `memory`, `pids`, …). */
  controllers: string[];
  /** Why not, when not delegated. */
  reason?: string;
}

/** How to get delegation, for messages. */
export const DELEGATION_HINT =
  'rootless limits need a delegated cgroup v2 subtree: run under systemd user delegation ' +
  '(`systemd-run --user --scope -p Delegate=yes …`, with `Delegate=cpu cpuset io memory pids` in ' +
  '/etc/systemd/system/user@.service.d/delegate.conf), or have root give this user a cgroup of its own (chown its directory, ' +
  'cgroup.procs and cgroup.subtree_control) and start berth inside it';

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The calling process's delegation status (`mounts`, `own` for tests). */
export function detectDelegation(mounts: CgroupMount[] = cgroupMounts(), own = ownCgroups()): CgroupDelegation {
  if (detectCgroupMode(mounts) !== 'v2') return { delegated: false, controllers: [], reason: 'the host does not use cgroup v2 (a user cannot be delegated cgroup v1 hierarchies)' };
  const mount = mounts.find((m) => m.type === 'cgroup2' && m.mountPoint === '/sys/fs/cgroup') ?? mounts.find((m) => m.type === 'cgroup2');
  const path = own.get('');
  if (!mount || path === undefined) return { delegated: false, controllers: [], reason: 'no cgroup2 hierarchy is mounted' };
  const dir = join(mount.mountPoint, relative(mount.root, path));
  const controllers = (readCgroupFile(dir, 'cgroup.controllers') ?? '').split(' ').filter(Boolean);
  const files = [dir, join(dir, 'cgroup.procs'), join(dir, 'cgroup.subtree_control')];
  const denied = files.find((file) => !writable(file));
  if (denied) return { delegated: false, path: dir, controllers, reason: `${denied} is not writable by this user` };
  if (controllers.length === 0) return { delegated: false, path: dir, controllers, reason: `no controllers are delegated to ${dir}` };
  return { delegated: true, path: dir, controllers };
}

/** The limits a container asks for (by option name), devices aside: the user namespace already keeps host devices out. */
export function requestedLimits(resources: ResourceLimits): string[] {
  return Object.entries(resources)
    .filter(([name, value]) => name !== 'devices' && value !== undefined && value !== null)
    .map(([name]) => name);
}

/**
 * Refuses limits that a rootless runtime without delegation cannot apply.
 * @throws RootlessUnsupportedError naming the limits and how to get delegation.
 */
export function checkRootlessLimits(resources: ResourceLimits, delegation: CgroupDelegation, what: string): void {
  if (delegation.delegated) return;
  const limits = requestedLimits(resources);
  if (limits.length === 0) return;
  throw new RootlessUnsupportedError(
    `${what}: ${limits.join(', ')} ${limits.length === 1 ? 'is a limit that needs' : 'are limits that need'} a cgroup, and this rootless runtime has none ` +
      `(${delegation.reason ?? 'no delegation'}). Drop the limit, or: ${DELEGATION_HINT}.`,
  );
}

/**
 * A running container without a cgroup is a rootless one started without
 * delegation: what needs its cgroup (stats, update, pause) says so.
 */
export function noCgroupError(operation: string, name: string, containerId: string): RootlessUnsupportedError {
  return new RootlessUnsupportedError(
    `${operation}: container ${name} has no cgroup (it was started by a rootless runtime without a delegated cgroup), so there is nothing to read or change; ${DELEGATION_HINT}`,
    { containerId },
  );
}
