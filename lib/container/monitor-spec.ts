import { join } from 'node:path';
import { CAPABILITY_NAMES, MASKED_PATHS, READONLY_PATHS, RLIMIT_RESOURCES } from './security-defaults.js';
import type { ContainerConfig, ContainerPaths } from './container-config.js';
import type { ResolvedUser } from './user-resolve.js';
import { mountSpec } from '../volume/mount-spec.js';
import { encodeSpec, type SpecRecord, type SpecValue } from './spec-encoding.js';
import { hostDevices } from './host-devices.js';
import { seccompProgram } from './seccomp-program.js';
import { usernsLowers, usernsSpec } from '../userns/userns-spec.js';

/** The capability set as the bit mask the kernel uses. */
export function capabilityMask(names: readonly string[]): bigint {
  let mask = 0n;
  for (const name of names) {
    const bit = (CAPABILITY_NAMES as readonly string[]).indexOf(name);
    if (bit >= 0) mask |= 1n << BigInt(bit);
  }
  return mask;
}

/**
 * The monitor's input: length-prefixed records (lib/container/spec-encoding.ts;
 * addon/spec.cc reads them), ending with `end`, for its spec pipe (fd 4).
 * Everything in it is already decided and validated; the monitor applies it
 * in order.
 * @throws ContainerSetupError `ERR_SPEC_INVALID` when a value cannot be
 *   handed over (a NUL byte): nothing is sent then.
 */
export function monitorSpec(
  config: ContainerConfig,
  paths: ContainerPaths,
  user: ResolvedUser,
  env: string[],
  cgroup: [string, string][],
): Buffer {
  const records: SpecRecord[] = [];
  const add = (key: string, value: SpecValue) => records.push([key, value]);

  const lowers = usernsLowers(config, paths.dir);
  for (const layer of lowers.layers) add('lower', layer);
  add('upper', paths.upper);
  add('work', paths.work);
  add('rootfs', paths.rootfs);
  add('readonly-rootfs', config.readonlyRootfs);
  const privileged = config.privileged ?? false;
  if (!privileged) {
    for (const path of MASKED_PATHS) add('mask', path);
    for (const path of READONLY_PATHS) add('readonly', path);
  } else {
    add('sys-writable', true);
    for (const device of hostDevices()) add('device', device);
  }
  for (const [key, value] of mountSpec(config.mounts ?? [], config.userns?.mapWith === 'write')) add(key, value);
  for (const [key, value] of usernsSpec(config.userns, lowers.mapped)) add(key, value);
  for (const arg of config.cmd) add('arg', arg);
  for (const entry of env) add('env', entry);
  add('cwd', config.workdir);
  add('hostname', config.hostname);
  add('uid', user.uid);
  add('gid', user.gid);
  for (const group of user.groups) add('group', group);
  add('capabilities', capabilityMask(config.capabilities));
  for (const [name, limit] of Object.entries(config.ulimits)) {
    add('rlimit', `${RLIMIT_RESOURCES[name]}:${limit.soft}:${limit.hard}`);
  }
  add('no-new-privileges', config.noNewPrivileges ?? true);
  const seccomp = seccompProgram(paths.stateRoot, config);
  if (seccomp) add('seccomp', seccomp);
  add('tty', config.tty);
  if (config.ttySize) {
    add('tty-rows', config.ttySize.rows);
    add('tty-cols', config.ttySize.cols);
  }
  add('stdin', config.stdin);
  add('attach', config.attach);
  add('log', paths.log);
  add('log-max-bytes', config.log.maxBytes);
  add('log-max-files', config.log.maxFiles);
  for (const [key, value] of cgroup) add(key, value);
  const [policy, max] = config.restart.split(':');
  add('restart', policy!);
  if (max) add('restart-max', Number(max));
  add('stop-marker', paths.stopped);
  if (config.autoRemove) {
    add('auto-remove-dir', paths.dir);
    add('auto-remove-name', join(paths.dir, '..', '..', 'names', config.name));
  }
  add('exit-file', paths.exit);
  add('pid-file', paths.monitor);

  add('end', '');
  return encodeSpec(records);
}
