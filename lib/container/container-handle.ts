import type { ContainerConfig, ContainerPaths } from './container-config.js';
import type { ContainerState } from './container-state.js';
import type { UsernsContext } from '../userns/userns-file-ops.js';

/**
 * What the parts of a container that live in their own files (logs, exec,
 * copy, export, pause) need of it: its identity, configuration and files, and
 * its current state (which throws NotFoundError once it is removed).
 */
export interface ContainerHandle {
  readonly id: string;
  readonly name: string;
  readonly config: ContainerConfig;
  readonly paths: ContainerPaths;
  /** A rootless runtime's user namespace (berth-exec's helpers map themselves with it); undefined as root. */
  readonly userns?: UsernsContext | undefined;
  state(): ContainerState;
}
