import type { ContainerInspect, ContainerStatus } from '../../types/container.js';

/** Options of `runtime.containers.list()`. */
export interface ContainerListOptions {
  /** Include containers that are not running (default: running and paused ones only, like `docker ps`). Implied by `status`. */
  all?: boolean;
  /**
   * Only containers with all these labels: `{ key: 'value' }`, or
   * `['key', 'key=value']` where a bare key only has to be present.
   */
  labels?: Record<string, string> | string[];
  /** Only containers in this status (or one of these). */
  status?: ContainerStatus | ContainerStatus[];
  /**
   * Only containers whose name contains this string (as `docker ps --filter
   * name=` does), or matches this regular expression (`/^web$/` for an exact name).
   */
  name?: string | RegExp;
}

/** What `list()` filters on: the part of `inspect()` it reads (status, labels, name); labels only with a label filter. */
export interface ListedContainer {
  name: string;
  state: Pick<ContainerInspect['state'], 'status' | 'running'>;
  config: Pick<ContainerInspect['config'], 'labels'>;
}

/** A container filter, and whether it must tell paused containers from running ones (a cgroup read each). */
export interface ContainerFilter {
  keep: (info: ListedContainer) => boolean;
  tellsPaused: boolean;
}

const STATUSES: readonly ContainerStatus[] = ['created', 'running', 'paused', 'exited'];

/** The test `list()` applies to each container; throws TypeError for a wrong option. */
export function containerFilter(options: ContainerListOptions): ContainerFilter {
  if (typeof options !== 'object' || options === null) throw new TypeError('list: options must be an object');
  const { all, labels, status, name } = options;
  if (all !== undefined && typeof all !== 'boolean') throw new TypeError('list: all must be a boolean');
  const statuses = status === undefined ? undefined : Array.isArray(status) ? status : [status];
  for (const s of statuses ?? []) {
    if (!STATUSES.includes(s)) throw new TypeError(`list: status must be one of ${STATUSES.join(', ')}, got '${String(s)}'`);
  }
  const wanted: [string, string | undefined][] = [];
  if (Array.isArray(labels)) {
    for (const label of labels) {
      if (typeof label !== 'string' || label === '' || label.startsWith('=')) throw new TypeError(`list: labels must be 'key' or 'key=value' strings, got '${String(label)}'`);
      const at = label.indexOf('=');
      wanted.push(at < 0 ? [label, undefined] : [label.slice(0, at), label.slice(at + 1)]);
    }
  } else if (labels !== undefined) {
    if (typeof labels !== 'object' || labels === null) throw new TypeError('list: labels must be an object or an array of strings');
    for (const [key, value] of Object.entries(labels)) {
      if (typeof value !== 'string') throw new TypeError(`list: labels.${key} must be a string`);
      wanted.push([key, value]);
    }
  }
  if (name !== undefined && typeof name !== 'string' && !(name instanceof RegExp)) throw new TypeError('list: name must be a string or a RegExp');

  // without a status filter, paused ones count as running (listed by default, as `docker ps` does)
  const tellsPaused = statuses !== undefined && (statuses.includes('paused') || statuses.includes('running'));
  const keep = (info: ListedContainer): boolean => {
    if (statuses ? !statuses.includes(info.state.status) : !all && !info.state.running) return false;
    const own = wanted.length ? info.config.labels : {};
    if (!wanted.every(([key, value]) => Object.hasOwn(own, key) && (value === undefined || own[key] === value))) return false;
    if (typeof name === 'string') return info.name.includes(name);
    if (name instanceof RegExp) {
      name.lastIndex = 0;
      return name.test(info.name);
    }
    return true;
  };
  return { keep, tellsPaused };
}
