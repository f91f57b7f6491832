import { readJsonIfExists } from '../state/atomic-file.js';
import { CgroupV1, v1Layout } from './cgroup-v1.js';
import { CgroupV2, v2Layout } from './cgroup-v2.js';
import { detectCgroupMode, type CgroupMode } from './cgroup-mode.js';
import type { CgroupRecord, ContainerCgroup } from './container-cgroup.js';
import type { NormalizedLimits } from './resource-limits.js';

let detected: CgroupMode | undefined;

/** The host's cgroup mode, detected once per process. */
export function cgroupMode(): CgroupMode {
  detected ??= detectCgroupMode();
  return detected;
}

/**
 * The cgroup(s) for a new container: below the caller's own cgroup (in every
 * hierarchy on v1), in `berth/` or the given parent, named by the container id.
 * A hybrid host uses the v1 driver: its v2 hierarchy lacks the controllers.
 */
export function planContainerCgroup(id: string, parent?: string, limits: NormalizedLimits = {}): ContainerCgroup {
  return cgroupMode() === 'v2' ? new CgroupV2(v2Layout(id, parent)) : new CgroupV1(v1Layout(id, parent, limits));
}

/** The cgroup(s) a container was given, from its record (any process can act on them). */
export function openContainerCgroup(record: CgroupRecord): ContainerCgroup {
  return record.mode === 'v2' ? new CgroupV2(record) : new CgroupV1(record);
}

/** The container's cgroup from `<dir>/cgroup.json`, if it has one. */
export function readContainerCgroup(path: string): ContainerCgroup | undefined {
  const record = readJsonIfExists<CgroupRecord>(path);
  return record ? openContainerCgroup(record) : undefined;
}
