import { join } from 'node:path';
import type { ContainerConfig, ContainerPaths } from './container-config.js';
import { isSameProcess, processStartTime } from './container-state.js';

/** The process a container with `removeOnOwnerExit` belongs to: its pid and start time (against pid reuse). */
export interface OwnerRecord {
  pid: number;
  startTime: number;
}

/** This process, as the owner of the containers it creates. */
export function currentOwner(): OwnerRecord {
  return { pid: process.pid, startTime: processStartTime(process.pid)! };
}

/** True when the container is owner-bound and its owner has exited. */
export function ownerGone(config: ContainerConfig): boolean {
  return config.owner != null && !isSameProcess(config.owner.pid, config.owner.startTime);
}

/**
 * The monitor's spec entries of an owner-bound container: whom to watch
 * (a pidfd on the owner, in the monitor's poll loop) and what to remove when
 * it exits — the name link, the container directory, its anonymous volumes.
 */
export function ownerSpec(config: ContainerConfig, paths: ContainerPaths): [string, string][] {
  if (!config.owner) return [];
  const root = join(paths.dir, '..', '..');
  const anonymous = (config.mounts ?? []).flatMap((m) => (m.type === 'volume' && m.anonymous ? [m.name] : []));
  return [
    ['owner-pid', String(config.owner.pid)],
    ['owner-start-time', String(config.owner.startTime)],
    ['owner-remove-dir', paths.dir],
    ['owner-remove-name', join(root, 'names', config.name)],
    ['owner-volumes-lock', join(root, 'volumes.lock')],
    ['owner-containers-dir', join(root, 'containers')],
    ...anonymous.map((name): [string, string] => ['owner-remove-volume', join(root, 'volumes', name)]),
  ];
}
