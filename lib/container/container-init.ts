import { initPath } from '../native/init-path.js';
import type { ContainerConfig } from './container-config.js';

/** Where berth-init appears inside a container, as Docker's `--init` puts its init. */
export const INIT_TARGET = '/sbin/docker-init';

/**
 * With `init: true`: the command as berth-init runs it (`docker-init -- cmd…`),
 * and the spec entries of its read-only bind mount from the host. Without,
 * the command as it is and nothing.
 */
export function initWrapping(config: ContainerConfig): { cmd: string[]; spec: [string, string][] } {
  if (!config.init) return { cmd: config.cmd, spec: [] };
  return {
    cmd: [INIT_TARGET, '--', ...config.cmd],
    spec: [['mount', 'bind'], ['mount-source', initPath()], ['mount-target', INIT_TARGET], ['mount-options', 'ro,nodev,nosuid']],
  };
}
