import { randomBytes } from 'node:crypto';
import { checkUsernsOption, resolveUserns, usernsLockPath } from '../userns/userns-option.js';
import { existsSync, mkdirSync, readdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerCreateOptions } from '../../types/container.js';
import type { ImageConfig } from '../../types/image.js';
import type { ResourceLimits } from '../../types/resources.js';
import { ConflictError, NotFoundError, RootlessUnsupportedError } from '../errors.js';
import { checkRootlessLimits, DELEGATION_HINT, type CgroupDelegation } from '../cgroup/cgroup-delegation.js';
import { rootlessBridgeError } from '../network/rootless-bridge.js';
import { removeTree } from '../userns/tree-removal.js';
import type { Runtime } from '../runtime.js';
import { readJsonIfExists, syncSoon, writeJsonAtomic } from '../state/atomic-file.js';
import { withFileLock } from '../state/file-lock.js';
import { makePrivateDirectory, PRIVATE_DIR_MODE } from '../state/private-state.js';
import { parseBytes } from '../units.js';
import { parsePorts } from '../network/port-bindings.js';
import { isBridgeNetwork } from '../network/network-mode.js';
import { Container } from './container.js';
import { nativeAddon } from '../native/addon.js';
import { probeMonitorLocks, probeSaysAlive, readContainerState } from './container-state.js';
import { containerPaths, type ContainerConfig } from './container-config.js';
import { effectiveCapabilities, normalizeEnv, validateCreateOptions } from './create-options.js';
import { generateName } from './name-generator.js';
import { checkSeccompOption } from './seccomp-profile.js';
import { seccompProgram } from './seccomp-program.js';
import { containerFilter, type ContainerListOptions } from './container-filter.js';
import { DEFAULT_PATH } from './security-defaults.js';
import { resolveMounts, type MountContext } from '../volume/mount-options.js';
import { checkContainerDefaults, stopSignalName } from '../image/image-config-check.js';
import { currentOwner } from './owner-binding.js';
import { resolveHealthcheck } from './healthcheck.js';

export type { ContainerListOptions } from './container-filter.js';

/** `runtime.containers`: creating containers and finding them again, from any process. */
export class ContainerCollection {
  private readonly containersDir: string;
  private readonly namesDir: string;

  /** @internal */
  constructor(private readonly runtime: Runtime) {
    this.containersDir = join(runtime.root, 'containers');
    this.namesDir = join(runtime.root, 'names');
    makePrivateDirectory(this.containersDir);
    makePrivateDirectory(this.namesDir);
  }

  /**
   * Creates a container (not started). The options are validated first:
   * a wrong type or value throws `TypeError`/`RangeError` and changes nothing.
   * @throws ConflictError when `name` is taken; NotFoundError when the image is not in the store;
   *   InvalidImageError when the image's config breaks berth's policy (a NUL byte, …).
   *
   * @example
   * ```ts
   * const container = await runtime.containers.create({ image: 'localhost/busybox', cmd: ['echo', 'hi'], attach: true });
   * ```
   */
  async create(options: ContainerCreateOptions): Promise<Container> {
    const given = options.image;
    validateCreateOptions(typeof given === 'object' && given !== null ? { ...options, image: given.id } : options);
    if (this.runtime.rootless) checkRootlessCreate(options, this.runtime.cgroupDelegation);
    const security = {
      capabilities: effectiveCapabilities(options.capAdd, options.capDrop, options.privileged),
      seccomp: checkSeccompOption(options.seccomp) ?? 'default',
      privileged: options.privileged ?? false,
      noNewPrivileges: options.noNewPrivileges ?? true,
    };
    // compiled now, once per profile and capability set: a profile libseccomp refuses fails before anything exists
    seccompProgram(this.runtime.root, security);
    const image = given !== undefined ? await this.runtime.images.resolve(given, options.pull, options.platform) : undefined;
    const imageConfig: ImageConfig = image?.config ?? {};
    // again here: an image stored by an older berth was never checked
    if (image) checkContainerDefaults(imageConfig, image.references[0] ?? image.id);
    const layers = image ? [...image.layerPaths] : [options.rootfs!];
    const id = randomBytes(32).toString('hex');

    const entrypoint = options.entrypoint ?? imageConfig.Entrypoint ?? [];
    // an empty cmd means the image's, as an empty Cmd does in Docker's API
    const cmd = options.cmd?.length ? options.cmd : options.entrypoint ? [] : (imageConfig.Cmd ?? []);
    const argv = [...entrypoint, ...cmd];
    if (argv.length === 0) throw new TypeError('no command: give cmd (the image has no Cmd or Entrypoint)');
    const env = mergeEnv(imageConfig.Env ?? [], normalizeEnv(options.env));
    if (!env.some((entry) => entry.startsWith('PATH='))) env.unshift(`PATH=${DEFAULT_PATH}`);
    const mounts = await resolveMounts(options, imageConfig.Volumes, this.mountContext());

    const config: Omit<ContainerConfig, 'name'> = {
      id,
      createdAt: new Date().toISOString(),
      image: typeof given === 'string' ? given : image ? (image.references[0] ?? image.id) : `rootfs:${options.rootfs}`,
      imageId: image?.id ?? null,
      layers,
      cmd: argv,
      env,
      workdir: options.workdir ?? (imageConfig.WorkingDir || '/'),
      user: options.user ?? imageConfig.User ?? '',
      hostname: options.hostname ?? id.slice(0, 12),
      tty: options.tty ?? false,
      ttySize: options.ttySize ?? null,
      stdin: options.stdin ?? false,
      attach: options.attach ?? false,
      labels: { ...imageConfig.Labels, ...options.labels },
      ...security,
      readonlyRootfs: options.readonlyRootfs ?? false,
      mounts,
      ulimits: options.ulimits ?? {},
      stopSignal: options.stopSignal ?? (imageConfig.StopSignal ? stopSignalName(imageConfig.StopSignal) : undefined) ?? 'SIGTERM',
      stopTimeout: options.stopTimeout ?? 10,
      log: { maxBytes: parseBytes(options.log?.maxSize ?? '10m', 'log.maxSize'), maxFiles: options.log?.maxFiles ?? 3 },
      resources: pickResources(options),
      cgroupParent: options.cgroupParent ?? null,
      restart: options.restart ?? 'no',
      autoRemove: options.autoRemove ?? false,
      network: options.network ?? 'none',
      ports: parsePorts(options.ports),
      init: options.init ?? false,
      healthcheck: resolveHealthcheck(options.healthcheck, imageConfig.Healthcheck, typeof given === 'string' ? given : (image?.id ?? 'rootfs')),
      owner: (options.removeOnOwnerExit ?? this.runtime.removeOnOwnerExit) ? currentOwner() : null,
    };
    const network = isBridgeNetwork(config.network) ? await this.runtime.networks.ensure(config.network) : undefined;
    const usernsOption = checkUsernsOption(options.userns);
    const usernsContext = { rootless: this.runtime.rootless, rootlessIdMaps: () => this.runtime.rootlessIdMaps(), containersDir: this.containersDir };
    // an 'auto' range is chosen and written down under an exclusive lock of its own; the rest is known now
    const allocate = usernsOption === 'auto' && !this.runtime.rootless;
    const knownUserns = allocate ? undefined : resolveUserns(usernsOption, usernsContext);
    const allocating = <T>(fn: () => Promise<T>) => (allocate ? withFileLock(usernsLockPath(this.runtime.root), fn) : fn());
    // shared: many creators at once; crash recovery waits for them
    // the volumes it names are made, and cannot be removed until config.json names them
    return this.runtime.volumes.reserving(mounts, () => withFileLock(this.runtime.lockPath, () => allocating(async () => {
      const userns = allocate ? resolveUserns(usernsOption, usernsContext) : knownUserns;
      const name = this.claimName(id, options.name);
      const dir = join(this.containersDir, id);
      try {
        mkdirSync(dir, { mode: PRIVATE_DIR_MODE });
        const full: ContainerConfig = { ...config, name, ...(userns ? { userns } : {}) };
        // whole or absent (atomic), on disk a moment later: create() does not wait for the disk
        writeJsonAtomic(containerPaths(dir).config, full, false);
        syncSoon(containerPaths(dir).config);
        if (network) {
          const endpoint = await this.runtime.networks.allocate(network, id, { aliases: options.networkAliases, ip: options.ip }, 0);
          writeJsonAtomic(containerPaths(dir).endpoints, [endpoint]);
        }
        const container = new Container(this.runtime, full, dir);
        container.setReadiness(options.waitFor, options.startupTimeout);
        return container;
      } catch (error) {
        rmSync(dir, { recursive: true, force: true });
        rmSync(join(this.namesDir, name), { force: true });
        if (network) await this.runtime.networks.ipam(network).release(id);
        throw error;
      }
    }), false));
  }

  /** What resolving `mounts` and `volumesFrom` needs. */
  private mountContext(): MountContext {
    return {
      mountsOf: async (container) => (await (await this.get(container)).inspect()).mounts,
      mountpointOf: (volume) => this.runtime.volumes.mountpointOf(volume),
    };
  }

  /**
   * @internal Moves `id`'s name from `from` to `to`: the new link first (a
   * ConflictError when `to` is taken), then `update` (the config), then the
   * old link goes; a failed update takes the new link back.
   */
  renameLink(id: string, from: string, to: string, update: () => void): void {
    this.claimName(id, to);
    try {
      update();
    } catch (error) {
      rmSync(join(this.namesDir, to), { force: true });
      throw error;
    }
    try {
      if (readlinkSync(join(this.namesDir, from)) === id) rmSync(join(this.namesDir, from), { force: true });
    } catch {
      // the old name is already gone
    }
  }

  /** Takes `name` (or a generated one) for `id`, atomically: a symlink `names/<name>` → id. */
  private claimName(id: string, wanted: string | undefined): string {
    for (let attempt = 0; ; attempt++) {
      const name = wanted ?? generateName(attempt);
      try {
        symlinkSync(id, join(this.namesDir, name));
        return name;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        if (wanted !== undefined || attempt > 20) {
          throw new ConflictError(`the container name "${name}" is already in use; remove that container or choose another name`, {
            path: join(this.namesDir, name),
          });
        }
      }
    }
  }

  /**
   * Finds a container by id, name, or a unique id prefix.
   * @throws NotFoundError when there is none; ConflictError when a prefix is ambiguous.
   */
  async get(idOrName: string): Promise<Container> {
    if (typeof idOrName !== 'string' || idOrName === '' || idOrName.includes('/')) {
      throw new TypeError('get: expected a container id, name or id prefix');
    }
    let id: string | undefined;
    try {
      id = readlinkSync(join(this.namesDir, idOrName));
    } catch {
      const matches = this.ids().filter((candidate) => candidate.startsWith(idOrName));
      if (matches.length > 1) throw new ConflictError(`the id prefix ${idOrName} names ${matches.length} containers; give more characters`);
      id = matches[0];
    }
    const container = id === undefined ? undefined : this.load(id);
    if (!container) throw new NotFoundError(`no such container: ${idOrName}`);
    return container;
  }

  /**
   * The containers in this runtime: running (and paused) ones, or all with
   * `{ all: true }`; filtered by `labels` (all must match), `status` and `name`.
   *
   * @example
   * ```ts
   * const databases = await runtime.containers.list({ all: true, labels: { role: 'db' }, status: 'running' });
   * ```
   */
  async list(options: ContainerListOptions = {}): Promise<Container[]> {
    const filter = containerFilter(options);
    const names = this.namesById();
    const everything = options.all === true && options.labels === undefined && options.status === undefined && options.name === undefined;
    const ids = this.ids();
    const containers = ids.map((id) => this.loadLazily(id, names.get(id), everything));
    if (everything) return containers.filter((container): container is Container => container !== undefined);
    // the monitors' locks of all in one call, then the state files only where
    // that does not tell; config.json only for a label filter
    const probes = probeMonitorLocks(this.containersDir, ids);
    return containers.filter((container, i): container is Container => {
      if (!container) return false;
      try {
        return filter.keep(container.listed(filter.tellsPaused, probes[i]!));
      } catch (error) {
        if (error instanceof NotFoundError) return false; // removed meanwhile: simply not listed
        throw error;
      }
    });
  }

  /** @internal Deletes a stopped container's files and its name. */
  async forget(id: string, name: string): Promise<void> {
    await removeTree(join(this.containersDir, id), this.runtime.userns);
    try {
      if (readlinkSync(join(this.namesDir, name)) === id) rmSync(join(this.namesDir, name), { force: true });
    } catch {
      // the name is already gone
    }
  }

  /**
   * @internal Crash recovery: drops half-created containers and names that
   * point nowhere, then lets each container that is not running put its own
   * state right ({@link Container.recover}). A container whose monitor is
   * alive costs one lock probe (open, flock, close): its config.json was
   * whole when it started, and its monitor records its exit and removes its
   * cgroups itself (also when it has written exit.json and lingers for an owner).
   */
  async recover(): Promise<void> {
    const live = new Set<string>();
    const others = new Map<string, Container>();
    const ids = this.ids();
    // the locks alone first, in one call: a live monitor (nearly every container of a busy root) costs no file read
    const probes = probeMonitorLocks(this.containersDir, ids);
    for (const [i, id] of ids.entries()) {
      const dir = `${this.containersDir}/${id}`;
      const paths = containerPaths(dir);
      if (probeSaysAlive(probes[i]!)) {
        live.add(id);
        continue;
      }
      const state = readContainerState(paths);
      if (state.status === 'running' || state.starting) {
        live.add(id);
        continue;
      }
      const container = this.load(id);
      if (container) others.set(id, container);
      else await removeTree(dir, this.runtime.userns);
    }
    for (const [name, target] of this.nameLinks()) {
      if (!live.has(target) && !others.has(target)) rmSync(join(this.namesDir, name), { force: true });
    }
    for (const container of others.values()) await container.recover();
  }

  /** [name, id] of each name link (entries that are not links are not ours), read in one native call. */
  private *nameLinks(): Generator<[string, string]> {
    const flat = nativeAddon().readLinks(this.namesDir);
    for (let i = 0; i < flat.length; i += 2) yield [flat[i]!, flat[i + 1]!];
  }

  /** id → name, from the name links (no config.json read); an id with two names is left out. */
  private namesById(): Map<string, string> {
    const names = new Map<string, string>();
    const twice = new Set<string>();
    for (const [name, id] of this.nameLinks()) {
      if (names.has(id)) twice.add(id);
      else names.set(id, name);
    }
    for (const id of twice) names.delete(id);
    return names;
  }

  /**
   * A container whose config.json is parsed only when needed, when its name
   * is known. With `checked`, undefined when config.json is not there
   * (half-created, or being removed); without, the caller looks ({@link Container.listed}).
   */
  private loadLazily(id: string, name: string | undefined, checked: boolean): Container | undefined {
    if (name === undefined) return this.load(id);
    const dir = join(this.containersDir, id);
    return !checked || existsSync(containerPaths(dir).config) ? new Container(this.runtime, { id, name }, dir) : undefined;
  }

  private ids(): string[] {
    return readdirSync(this.containersDir).filter((entry) => /^[a-f0-9]{64}$/.test(entry));
  }

  private load(id: string): Container | undefined {
    if (!/^[a-f0-9]{64}$/.test(id)) return undefined;
    const dir = join(this.containersDir, id);
    const config = readJsonIfExists<ContainerConfig>(containerPaths(dir).config);
    return config ? new Container(this.runtime, config, dir) : undefined;
  }
}

const RESOURCE_KEYS = [
  'memory', 'memorySwap', 'memoryReservation', 'cpus', 'cpuShares', 'cpusetCpus', 'cpusetMems', 'pidsLimit', 'blkioWeight', 'devices',
] as const;

/** The resource-limit options, as given. */
function pickResources(options: ContainerCreateOptions): ResourceLimits {
  return Object.fromEntries(RESOURCE_KEYS.filter((key) => options[key] !== undefined).map((key) => [key, options[key]])) as ResourceLimits;
}

/** Image env overridden by the caller's, key by key. */
function mergeEnv(base: string[], overrides: string[]): string[] {
  const result = new Map<string, string>();
  for (const entry of [...base, ...overrides]) result.set(entry.split('=', 1)[0]!, entry);
  return [...result.values()];
}

/**
 * What a rootless runtime cannot give a container, refused before anything
 * exists: a bridge network, another container's network namespace, limits or
 * a cgroupParent without a delegated cgroup.
 */
function checkRootlessCreate(options: ContainerCreateOptions, delegation: CgroupDelegation | undefined): void {
  const network = options.network ?? 'none';
  if (isBridgeNetwork(network)) throw rootlessBridgeError(`containers.create: network '${network}'`);
  if (network.startsWith('container:')) {
    // each rootless container has a user namespace of its own, and joining the
    // other's network namespace needs CAP_SYS_ADMIN in the namespace that owns it
    throw new RootlessUnsupportedError(
      `containers.create: network '${network}' needs root: a rootless container's user namespace has no rights over another container's network namespace. ` +
        'Publish the other container\'s ports and connect to them, or run berth as root.',
    );
  }
  if (!delegation) return;
  checkRootlessLimits(pickResources(options), delegation, 'containers.create');
  if (options.cgroupParent !== undefined && !delegation.delegated) {
    throw new RootlessUnsupportedError(`containers.create: cgroupParent needs a cgroup, and this rootless runtime has none (${delegation.reason ?? 'no delegation'}); ${DELEGATION_HINT}`);
  }
}
