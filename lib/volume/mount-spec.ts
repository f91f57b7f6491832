/**
 * Mounts as the monitor's spec states them (addon/spec.cc reads them,
 * addon/container_setup.cc makes them at step "mounts", each on its target
 * resolved inside the container's rootfs):
 *
 * ```
 * mount           bind | tmpfs          starts a mount; the keys below fill it in
 * mount-source    /host/path            bind: a directory or a file
 * mount-target    /path/in/container    as the user wrote it (errors name it)
 * mount-options   ro,nosuid,nodev,noexec and one of rprivate|private|rslave|slave|rshared|shared;
 *                 idmap: a named volume in a user namespace root made (idmapped through it)
 * mount-data      size=…,mode=…         tmpfs
 * root-propagation rslave               when a mount wants slave or shared propagation
 * ```
 */
import type { ContainerMount, MountPropagation } from '../../types/volume.js';

/** One mount for the monitor. Other parts of berth (e.g. `/etc/hosts` for networks) add theirs in this form. */
export interface MonitorMount {
  kind: 'bind' | 'tmpfs';
  /** bind: the host file or directory. */
  source?: string;
  /** The absolute path in the container. */
  target: string;
  /** `ro`, `nosuid`, `nodev`, `noexec`, and at most one propagation. */
  options?: readonly string[];
  /** tmpfs: `size=…,mode=…`. */
  data?: string;
}

const followsHost = (propagation: MountPropagation) => !propagation.endsWith('private');

/**
 * The container's mounts for the monitor. Bind and volume mounts are bind
 * mounts (a volume's source is its `_data` directory); tmpfs mounts are
 * `nosuid,nodev,noexec`, as Docker's.
 */
export function monitorMounts(mounts: readonly ContainerMount[], idmapVolumes = false): MonitorMount[] {
  // Propagation only means something when / is a slave of the host's mounts
  // (rootPropagation), and then every bind states its own.
  const slave = rootPropagation(mounts) === 'rslave';
  return mounts.map((mount): MonitorMount => {
    const ro = mount.readonly ? ['ro'] : [];
    if (mount.type === 'tmpfs') {
      const data = [`mode=${mount.mode.toString(8)}`, ...(mount.size === null ? [] : [`size=${mount.size}`])].join(',');
      return { kind: 'tmpfs', target: mount.target, options: ['nosuid', 'nodev', 'noexec', ...ro], data };
    }
    const propagation = mount.type === 'bind' ? mount.propagation : 'rprivate';
    const idmap = idmapVolumes && mount.type === 'volume' ? ['idmap'] : [];
    return { kind: 'bind', source: mount.source, target: mount.target, options: [...ro, ...(slave ? [propagation] : []), ...idmap] };
  });
}

/**
 * `rslave` when a bind mount asks for slave or shared propagation (so that
 * the host's mount events can reach it; nothing goes the other way), else
 * `rprivate`.
 */
export function rootPropagation(mounts: readonly ContainerMount[]): 'rprivate' | 'rslave' {
  return mounts.some((mount) => mount.type === 'bind' && followsHost(mount.propagation)) ? 'rslave' : 'rprivate';
}

/** The spec's key/value pairs for `mounts`, in order. */
export function monitorMountPairs(mounts: readonly MonitorMount[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (const mount of mounts) {
    pairs.push(['mount', mount.kind]);
    if (mount.source !== undefined) pairs.push(['mount-source', mount.source]);
    pairs.push(['mount-target', mount.target]);
    if (mount.options?.length) pairs.push(['mount-options', mount.options.join(',')]);
    if (mount.data) pairs.push(['mount-data', mount.data]);
  }
  return pairs;
}

/**
 * Everything the spec says about a container's mounts. `idmapVolumes`: the
 * container has a user namespace that root made; named volumes are idmapped.
 */
export function mountSpec(mounts: readonly ContainerMount[], idmapVolumes = false): [string, string][] {
  const root = rootPropagation(mounts);
  return [...(root === 'rslave' ? [['root-propagation', root] as [string, string]] : []), ...monitorMountPairs(monitorMounts(mounts, idmapVolumes))];
}
