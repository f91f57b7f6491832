import { release } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { cgroupMode } from './cgroup/cgroup-driver.js';
import type { CgroupMode } from './cgroup/cgroup-mode.js';
import { ContainerCollection } from './container/container-collection.js';
import { NetworkCollection } from './network/network-collection.js';
import { ImageStore } from './image/image-store.js';
import { VolumeCollection } from './volume/volume-collection.js';
import { withFileLock } from './state/file-lock.js';
import { preparePrivateRoot } from './state/private-state.js';
import { createStateRoot } from './state/state-root.js';
import { ContainerPool, type PoolOptions } from './pool/container-pool.js';
import { StackCollection } from './stack/stack-collection.js';
import { UsernsError } from './errors.js';
import type { IdMaps } from './userns/id-map.js';

/** Options of {@link Runtime.open}. */
export interface RuntimeOptions {
  /** The state root: images, layers, containers. Default `/var/lib/berth`. Tests use a temporary directory. */
  root?: string;
  /**
   * The default of the `removeOnOwnerExit` create option for containers
   * created through this runtime: true binds each to the Node process that
   * created it (removed when it exits, SIGKILL included). For test runners.
   */
  removeOnOwnerExit?: boolean;
}

/** What {@link Runtime.info} reports. */
export interface RuntimeInfo {
  /** The state root. */
  root: string;
  /** berth's version. */
  version: string;
  /** The kernel release (`uname -r`). */
  kernel: string;
  /** How the host's cgroups are mounted: `v2` (unified), `hybrid`, or `v1`. */
  cgroupMode: CgroupMode;
}

/** The default state root. */
export const DEFAULT_ROOT = '/var/lib/berth';

/**
 * A berth runtime: one state root and the objects in it. There is no daemon:
 * every process that opens the same root sees the same containers and images.
 *
 * @example
 * ```ts
 * const runtime = await Runtime.open({ root: '/tmp/berth-demo' });
 * const container = await runtime.containers.create({ image: 'localhost/busybox', cmd: ['true'] });
 * ```
 */
export class Runtime {
  /** Containers: create, get, list. */
  readonly containers: ContainerCollection;
  /** The local image store. */
  readonly images: ImageStore;
  /** Volumes: create, get, list, remove, prune. */
  readonly volumes: VolumeCollection;
  /** Bridge networks. */
  readonly networks: NetworkCollection;
  /** Stacks from compose files: up, down, ps, logs, exec, restart, config. */
  readonly stacks: StackCollection;

  /** How the host's cgroups are mounted, detected once at open. */
  readonly cgroupMode: CgroupMode;

  /** Runs as an unprivileged user (containers in the caller's user namespace ranges). */
  readonly rootless: boolean = false;

  /** The rootless runtime's id maps (the caller and its /etc/subuid, /etc/subgid ranges). */
  rootlessIdMaps(): IdMaps {
    throw new UsernsError('this runtime is not rootless');
  }

  private constructor(
    /** The absolute state root. */
    readonly root: string,
    /** The default of the `removeOnOwnerExit` create option. */
    readonly removeOnOwnerExit = false,
  ) {
    this.cgroupMode = cgroupMode();
    this.images = new ImageStore(root);
    this.images.runtime = this;
    this.volumes = new VolumeCollection(this);
    this.networks = new NetworkCollection(root, join(root, 'containers'), () => this.containers);
    this.containers = new ContainerCollection(this);
    this.stacks = new StackCollection(this);
  }

  /**
   * Opens (creating when needed) the runtime at `root`, and reconciles its
   * state with reality: containers whose monitor died are recorded as exited,
   * half-created containers are removed. The root is private to root (0700):
   * a root from an older berth is tightened; of a root that already holds
   * other files, only berth's own directories are made private.
   * @throws BerthError (`code` the errno name, `path` the directory) when the root cannot be created, e.g. a file is in the way.
   */
  static async open(options: RuntimeOptions = {}): Promise<Runtime> {
    if (typeof options !== 'object' || options === null) throw new TypeError('Runtime.open: options must be an object');
    const root = options.root ?? DEFAULT_ROOT;
    if (typeof root !== 'string' || root === '') throw new TypeError('Runtime.open: root must be a non-empty path');
    const absolute = isAbsolute(root) ? root : resolve(root);
    if (options.removeOnOwnerExit !== undefined && typeof options.removeOnOwnerExit !== 'boolean') {
      throw new TypeError('Runtime.open: removeOnOwnerExit must be a boolean');
    }
    // missing parents 0755, the root itself 0700; typed errors for a file in the way
    createStateRoot(absolute, 0o700, 0o755);
    preparePrivateRoot(absolute);
    const runtime = new Runtime(absolute, options.removeOnOwnerExit);
    await withFileLock(runtime.lockPath, async () => {
      runtime.volumes.recover();
      await runtime.containers.recover();
    });
    return runtime;
  }

  /**
   * A warm pool of started containers of one configuration: `acquire()` hands
   * one out at once, `release()` resets it (processes gone, filesystem back to
   * the image) and keeps it warm. See {@link ContainerPool}.
   */
  pool(options: PoolOptions): ContainerPool {
    return new ContainerPool(this, options);
  }

  /** @internal Shared by creators, exclusive for crash recovery. */
  get lockPath(): string {
    return join(this.root, 'runtime.lock');
  }

  /** Facts about this runtime and host. */
  info(): RuntimeInfo {
    return { root: this.root, version: BERTH_VERSION, kernel: release(), cgroupMode: this.cgroupMode };
  }
}

declare const __BERTH_VERSION__: string | undefined;
const BERTH_VERSION = typeof __BERTH_VERSION__ === 'string' ? __BERTH_VERSION__ : '0.1.0';
