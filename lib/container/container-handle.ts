import type { ContainerConfig, ContainerPaths } from './container-config.js';
import type { ContainerState } from './container-state.js';

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
  state(): ContainerState;
}
