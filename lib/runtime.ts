import { homedir, release } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { cgroupMode } from './cgroup/cgroup-driver.js';
import { detectDelegation, type CgroupDelegation } from './cgroup/cgroup-delegation.js';
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
import type { IdMaps } from './userns/id-map.js';
import { checkRootlessHost, findIdMapTools } from './userns/rootless-host.js';
import { rootlessIdMaps } from './userns/rootless-id-maps.js';
import type { UsernsContext } from './userns/userns-file-ops.js';

/** Options of {@link Runtime.open}. */
export interface RuntimeOptions {
  /**
   * The state root: images, layers, containers. Default `/var/lib/berth`;
   * rootless `$XDG_DATA_HOME/berth`, or `~/.local/share/berth`. Tests use a temporary directory.
   */
  root?: string;
  /**
   * Run as a normal user: containers in a user namespace that maps the caller
   * to root and its `/etc/subuid`/`/etc/subgid` ranges from id 1, layers
   * stored in that namespace's view, no bridge networks, limits only with a
   * delegated cgroup. Default: true unless the process is root. See docs/rootless.md.
   */
  rootless?: boolean;
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
  /** Whether the runtime is rootless. */
  rootless: boolean;
  /** Where runtime files go (`$XDG_RUNTIME_DIR/berth` rootless, `/run/berth` as root). */
  runtimeDir: string;
  /** Rootless: the containers' id maps (the caller is 0, then its subordinate ids). */
  idMaps?: IdMaps;
  /** Rootless: whether containers get cgroups (a delegated cgroup v2 subtree), and if not, why. */
  cgroups?: CgroupDelegation;
}

/** The default state root. */
export const DEFAULT_ROOT = '/var/lib/berth';

/** The default state root of a rootless runtime: `$XDG_DATA_HOME/berth`, or `~/.local/share/berth`. */
export function defaultRootlessRoot(env: NodeJS.ProcessEnv = process.env): string {
  const data = env.XDG_DATA_HOME && isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : join(env.HOME || homedir(), '.local', 'share');
  return join(data, 'berth');
}

/**
 * Where a runtime keeps what need not survive a reboot (rootless:
 * `$XDG_RUNTIME_DIR/berth`, a per-user tmpfs; without XDG_RUNTIME_DIR,
 * `<root>/run`). berth's own state all lives under the root (recovery after
 * a reboot reads it); this is for sockets and pid files of helpers that live
 * as long as a container (slirp4netns's API socket).
 */
export function runtimeDirectory(rootless: boolean, root: string, env: NodeJS.ProcessEnv = process.env): string {
  if (!rootless) return '/run/berth';
  return env.XDG_RUNTIME_DIR && isAbsolute(env.XDG_RUNTIME_DIR) ? join(env.XDG_RUNTIME_DIR, 'berth') : join(root, 'run');
}

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
  /** Where runtime files go; see {@link RuntimeInfo.runtimeDir}. */
  readonly runtimeDir: string;
  /** Rootless: cgroup delegation, detected once at open; undefined as root. */
  readonly cgroupDelegation: CgroupDelegation | undefined;
  /** @internal Rootless: the user namespace of berth's file helper (maps and newuidmap); undefined as root. */
  readonly userns: UsernsContext | undefined;

  private constructor(
    /** The absolute state root. */
    readonly root: string,
    /** The default of the `removeOnOwnerExit` create option. */
    readonly removeOnOwnerExit = false,
    /** True: the runtime of a normal user (see {@link RuntimeOptions.rootless}). */
    readonly rootless = false,
    idMaps?: IdMaps,
  ) {
    this.cgroupMode = cgroupMode();
    this.runtimeDir = runtimeDirectory(rootless, root);
    this.userns = rootless && idMaps ? { maps: idMaps, tools: findIdMapTools() } : undefined;
    this.cgroupDelegation = rootless ? detectDelegation() : undefined;
    this.images = new ImageStore(root, this.userns);
    this.images.runtime = this;
    this.volumes = new VolumeCollection(this);
    this.networks = new NetworkCollection(root, join(root, 'containers'), () => this.containers, rootless);
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
    if (options.rootless !== undefined && typeof options.rootless !== 'boolean') throw new TypeError('Runtime.open: rootless must be a boolean');
    const rootless = options.rootless ?? process.getuid?.() !== 0;
    const root = options.root ?? (rootless ? defaultRootlessRoot() : DEFAULT_ROOT);
    if (typeof root !== 'string' || root === '') throw new TypeError('Runtime.open: root must be a non-empty path');
    const absolute = isAbsolute(root) ? root : resolve(root);
    if (options.removeOnOwnerExit !== undefined && typeof options.removeOnOwnerExit !== 'boolean') {
      throw new TypeError('Runtime.open: removeOnOwnerExit must be a boolean');
    }
    // rootless: the maps and the host's support for them, before anything is created
    const idMaps = rootless ? rootlessIdMaps() : undefined;
    if (idMaps) checkRootlessHost(idMaps);
    // missing parents 0755, the root itself 0700; typed errors for a file in the way
    createStateRoot(absolute, 0o700, 0o755);
    preparePrivateRoot(absolute);
    const runtime = new Runtime(absolute, options.removeOnOwnerExit, rootless, idMaps);
    if (rootless) createStateRoot(runtime.runtimeDir, 0o700, 0o700);
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

  /**
   * The id maps of rootless containers: the caller as container id 0 (root),
   * then its `/etc/subuid` and `/etc/subgid` ranges from id 1, written with
   * `newuidmap`/`newgidmap`; only the caller when no ranges are configured
   * (see docs/rootless.md for what that single-id map cannot do).
   * @throws RootlessUnsupportedError when the subordinate id files hold ranges berth refuses to map.
   */
  rootlessIdMaps(): IdMaps {
    return this.userns?.maps ?? rootlessIdMaps();
  }

  /** Facts about this runtime and host. */
  info(): RuntimeInfo {
    const info: RuntimeInfo = {
      root: this.root, version: BERTH_VERSION, kernel: release(), cgroupMode: this.cgroupMode, rootless: this.rootless, runtimeDir: this.runtimeDir,
    };
    if (this.userns) info.idMaps = this.userns.maps;
    if (this.cgroupDelegation) info.cgroups = this.cgroupDelegation;
    return info;
  }
}

declare const __BERTH_VERSION__: string | undefined;
const BERTH_VERSION = typeof __BERTH_VERSION__ === 'string' ? __BERTH_VERSION__ : '0.1.0';
