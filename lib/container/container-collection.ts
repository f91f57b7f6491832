import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerCreateOptions } from '../../types/container.js';
import type { ImageConfig } from '../../types/image.js';
import type { ResourceLimits } from '../../types/resources.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { readJsonIfExists, writeJsonAtomic } from '../state/atomic-file.js';
import { withFileLock } from '../state/file-lock.js';
import { makePrivateDirectory, PRIVATE_DIR_MODE } from '../state/private-state.js';
import { parseBytes } from '../units.js';
import { parsePorts } from '../network/port-bindings.js';
import { Container } from './container.js';
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
    const bridged = !['none', 'host'].includes(config.network) && !config.network.startsWith('container:');
    const network = bridged ? await this.runtime.networks.ensure(config.network) : undefined;
    // shared: many creators at once; crash recovery waits for them
    // the volumes it names are made, and cannot be removed until config.json names them
    return this.runtime.volumes.reserving(mounts, () => withFileLock(this.runtime.lockPath, async () => {
      const name = this.claimName(id, options.name);
      const dir = join(this.containersDir, id);
      try {
        mkdirSync(dir, { mode: PRIVATE_DIR_MODE });
        const full: ContainerConfig = { ...config, name };
        writeJsonAtomic(containerPaths(dir).config, full);
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
    }, false));
  }

  /** What resolving `mounts` and `volumesFrom` needs. */
  private mountContext(): MountContext {
    return {
      mountsOf: async (container) => (await (await this.get(container)).inspect()).mounts,
      mountpointOf: (volume) => this.runtime.volumes.mountpointOf(volume),
    };
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
    const keep = containerFilter(options);
    const containers = this.ids()
      .map((id) => this.load(id))
      .filter((container): container is Container => container !== undefined);
    if (options.all && options.labels === undefined && options.status === undefined && options.name === undefined) return containers;
    // one removed meanwhile is simply not listed
    const infos = await Promise.all(containers.map((c) => c.inspect().catch((error: unknown) => {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    })));
    return containers.filter((_c, i) => infos[i] !== undefined && keep(infos[i]));
  }

  /** @internal Deletes a stopped container's files and its name. */
  async forget(id: string, name: string): Promise<void> {
    await rm(join(this.containersDir, id), { recursive: true, force: true });
    try {
      if (readlinkSync(join(this.namesDir, name)) === id) rmSync(join(this.namesDir, name), { force: true });
    } catch {
      // the name is already gone
    }
  }

  /** @internal Crash recovery: drops half-created containers and names that point nowhere. */
  async recover(): Promise<void> {
    for (const id of this.ids()) {
      const dir = join(this.containersDir, id);
      if (!readJsonIfExists<ContainerConfig>(containerPaths(dir).config)) rmSync(dir, { recursive: true, force: true });
    }
    for (const name of readdirSync(this.namesDir)) {
      let target: string;
      try {
        target = readlinkSync(join(this.namesDir, name));
      } catch {
        continue; // not a link: not ours
      }
      if (!this.load(target)) rmSync(join(this.namesDir, name), { force: true });
    }
    for (const id of this.ids()) {
      // records the exit of any container whose monitor died, and removes the
      // cgroups of containers that are no longer running
      const container = this.load(id);
      await container?.settle();
      // owner-bound ones whose owner exited while they were not running (no monitor to remove them)
      await container?.removeIfOrphaned();
    }
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
