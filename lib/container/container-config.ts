import { join } from 'node:path';
import type { RestartPolicy, Ulimit } from '../../types/container.js';
import type { ResourceLimits } from '../../types/resources.js';
import type { ContainerMount } from '../../types/volume.js';
import type { PublishedPort } from '../../types/network.js';
import type { SeccompSetting } from './seccomp-profile.js';
import type { OwnerRecord } from './owner-binding.js';
import type { ResolvedHealthcheck } from './healthcheck.js';
import type { SnapshotRecord } from './snapshot.js';
import type { UsernsRecord } from '../userns/userns-option.js';

/** What `create` decided, stored as `<container-dir>/config.json`. */
export interface ContainerConfig {
  id: string;
  name: string;
  createdAt: string;
  /** The image reference as given, or `rootfs:<path>`. */
  image: string;
  imageId: string | null;
  /** Read-only layer directories, top-most first. */
  layers: string[];
  /** The full argv: entrypoint followed by cmd. */
  cmd: string[];
  env: string[];
  workdir: string;
  user: string;
  hostname: string;
  tty: boolean;
  ttySize: { rows: number; cols: number } | null;
  stdin: boolean;
  attach: boolean;
  labels: Record<string, string>;
  capabilities: string[];
  readonlyRootfs: boolean;
  /** The seccomp filter (absent in configs from before seccomp: the default). */
  seccomp?: SeccompSetting;
  /** Docker's `--privileged` (absent: false). */
  privileged?: boolean;
  /** Set no_new_privs (absent: true). */
  noNewPrivileges?: boolean;
  /** Volumes, bind and tmpfs mounts, in the order they are made (absent in configs from before volumes). */
  mounts?: ContainerMount[];
  ulimits: Record<string, Ulimit>;
  stopSignal: NodeJS.Signals;
  stopTimeout: number;
  log: { maxBytes: number; maxFiles: number };
  resources: ResourceLimits;
  cgroupParent: string | null;
  restart: RestartPolicy;
  autoRemove: boolean;
  /** `none`, `host`, `container:<id>`, or a bridge network's name. */
  network: string;
  ports: PublishedPort[];
  /** With `removeOnOwnerExit`: the process that created it; the container is removed when it exits. */
  owner?: OwnerRecord | null;
  /** With `init: true`: berth-init is PID 1 and runs `cmd` (absent in configs from before it). */
  init?: boolean;
  /** The healthcheck the monitor runs (the option over the image's), or null/absent for none. */
  healthcheck?: ResolvedHealthcheck | null;
  /** Snapshots, oldest first; their directories are also the top-most entries of `layers`. */
  snapshots?: SnapshotRecord[];
  /** The user namespace and its maps (absent: none, the container's root is host root). */
  userns?: UsernsRecord;
}

/**
 * The files of one container, under `<root>/containers/<id>/`. Each path is
 * made when asked for: list() makes one of these per container and reads
 * one or two of its paths.
 */
export class ContainerPaths {
  constructor(readonly dir: string) {}
  /** The runtime's state root (`<root>/containers/<id>/../..`). */
  get stateRoot(): string {
    return join(this.dir, '..', '..');
  }
  get config(): string { return `${this.dir}/config.json`; }
  get monitor(): string { return `${this.dir}/monitor.json`; }
  /** Held (flock) by the monitor while it lives. */
  get monitorLock(): string { return `${this.dir}/monitor.lock`; }
  get exit(): string { return `${this.dir}/exit.json`; }
  get log(): string { return `${this.dir}/container.log`; }
  get upper(): string { return `${this.dir}/upper`; }
  get work(): string { return `${this.dir}/work`; }
  /**
   * Where the overlay is mounted: one empty directory of the state root for
   * every container (each mounts it in its own mount namespace, the only
   * place the mount exists), so a container costs no directory of its own.
   */
  get rootfs(): string { return join(this.dir, '..', '..', 'mountpoint'); }
  get cgroup(): string { return `${this.dir}/cgroup.json`; }
  get stopped(): string { return `${this.dir}/stopped`; }
  get endpoints(): string { return `${this.dir}/endpoints.json`; }
}

/** The files of the container in `dir`. */
export function containerPaths(dir: string): ContainerPaths {
  return new ContainerPaths(dir);
}
