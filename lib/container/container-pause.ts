import { readContainerCgroup } from '../cgroup/cgroup-driver.js';
import { noCgroupError } from '../cgroup/cgroup-delegation.js';
import type { ContainerCgroup } from '../cgroup/container-cgroup.js';
import { InvalidStateError } from '../errors.js';
import type { ContainerHandle } from './container-handle.js';

/** Whether the container's cgroup is frozen (`pause()`); false when it has none. */
export function isPaused(handle: Pick<ContainerHandle, 'paths'>): boolean {
  return readContainerCgroup(handle.paths.cgroup)?.frozen() ?? false;
}

function runningCgroup(handle: ContainerHandle, operation: string): ContainerCgroup {
  const running = handle.state().status === 'running';
  const cgroup = running ? readContainerCgroup(handle.paths.cgroup) : undefined;
  if (running && !cgroup) throw noCgroupError(operation, handle.name, handle.id);
  if (!cgroup) throw new InvalidStateError(`${operation}: container ${handle.name} is not running`, { containerId: handle.id });
  return cgroup;
}

/**
 * Freezes every process of the container (the cgroup freezer, as `docker
 * pause`); resolves once they are frozen. `inspect()` then says `paused`.
 * @throws InvalidStateError when it is not running, or already paused
 */
export async function pauseContainer(handle: ContainerHandle): Promise<void> {
  const cgroup = runningCgroup(handle, 'pause');
  if (cgroup.frozen()) throw new InvalidStateError(`pause: container ${handle.name} is already paused`, { containerId: handle.id });
  await cgroup.freeze();
}

/**
 * Thaws a paused container: its processes go on where they stopped.
 * @throws InvalidStateError when it is not paused
 */
export async function unpauseContainer(handle: ContainerHandle): Promise<void> {
  const cgroup = runningCgroup(handle, 'unpause');
  if (!cgroup.frozen()) throw new InvalidStateError(`unpause: container ${handle.name} is not paused`, { containerId: handle.id });
  await cgroup.thaw();
}
