/**
 * `runtime.stacks`: multi-container applications from a compose file, with
 * Docker Compose's names (`<project>-<service>-1`, `<project>_default`,
 * `<project>_<volume>`) and labels, so that `ps`, `logs`, `down` find a
 * stack again from any process by its project name.
 */
import { existsSync, mkdirSync } from 'node:fs';
import type { ExecResult } from '../../types/container.js';
import type {
  StackContainer, StackDownOptions, StackExecOptions, StackLoadOptions, StackLogLine, StackLogsOptions, StackSpec, StackUpOptions,
} from '../../types/stack.js';
import type { Container } from '../container/container.js';
import { Wait } from '../container/wait-strategies/wait.js';
import { BerthError, ComposeError, NotFoundError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { Where } from './compose-values.js';
import { loadStack, type LoadedStack } from './compose-file.js';
import { mergedLogs } from './merged-logs.js';
import { LABEL, serviceContainer } from './service-container.js';
import { startOrder, withDependencies } from './start-order.js';

const DEFAULT_TIMEOUT = 60_000;
const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** What `stacks.down()` removed. */
export interface StackDownResult {
  /** The containers' names. */
  containers: string[];
  /** The networks' names. */
  networks: string[];
  /** The volumes' names (with `volumes: true`). */
  volumes: string[];
}

function checkProject(name: unknown, what: string): string {
  if (typeof name !== 'string' || !PROJECT_NAME.test(name)) throw new TypeError(`${what}: the project name must match ${PROJECT_NAME}, got ${JSON.stringify(name)}`);
  return name;
}

/** The container runs a healthcheck (its own or its image's). */
function hasHealthcheck(container: Container): boolean {
  try {
    container.healthChanges({ signal: AbortSignal.abort() }); // lazy: nothing is read
    return true;
  } catch (error) {
    if (error instanceof TypeError) return false;
    throw error;
  }
}

/** `runtime.stacks`. See docs/compose.md. */
export class StackCollection {
  /** @internal */
  constructor(private readonly runtime: Runtime) {}

  /**
   * The resolved spec of a compose file (a path to it or to its directory)
   * or of a spec object: what `berth compose config` prints. Nothing is created.
   * @throws ComposeError naming the file, the service and the key.
   */
  config(source: string | Record<string, unknown>, options: StackLoadOptions = {}): StackSpec {
    return loadStack(source, options).spec;
  }

  /**
   * Creates and starts the stack: its networks and volumes, then each
   * service's container once what it `depends_on` holds (started, healthy,
   * completed successfully). Idempotent: a container whose configuration is
   * unchanged is kept (started if it was stopped), a changed one is
   * recreated. Resolves with the stack's containers.
   * @throws ComposeError for the file (before anything is created); a
   *   container's start error or a dependency that failed its condition.
   */
  async up(source: string | Record<string, unknown>, options: StackUpOptions = {}): Promise<StackContainer[]> {
    const loaded = loadStack(source, options);
    const { spec } = loaded;
    const top = new Where(loaded.file, undefined, undefined);
    const timeout = options.timeout ?? DEFAULT_TIMEOUT;
    if (!(Number.isFinite(timeout) && timeout > 0)) throw new RangeError('stacks.up: timeout must be a positive number of milliseconds');
    for (const name of options.services ?? []) if (!spec.services[name]) top.at('services').fail(`has no service ${JSON.stringify(name)}`);
    const selected = options.services?.length ? withDependencies(spec.services, options.services) : new Set(Object.keys(spec.services));
    const order = startOrder(spec.services, top).filter((name) => selected.has(name));
    const plan = (name: string, imageId?: string) => serviceContainer(spec, name, loaded.projectDir, loaded.file, new Where(loaded.file, name, undefined), imageId);
    order.forEach((name) => plan(name)); // a service that cannot be created fails here, before any build
    await this.checkExternals(spec, order, top);
    const progress = options.onProgress ?? (() => {});
    const imageIds = await this.buildImages(spec, order, loaded.file, options.build === true, progress);
    const plans = new Map(order.map((name) => [name, plan(name, imageIds.get(name))]));
    this.checkBindSources(spec, order, loaded.file);
    const orphans = (await this.members(spec.name)).filter((entry) => !spec.services[entry.service]).map((entry) => entry.container);
    if (orphans.length && options.removeOrphans) {
      for (const orphan of orphans) await orphan.remove({ force: true });
    } else if (orphans.length) {
      options.onWarning?.(`found orphan containers (${orphans.map((c) => c.name).join(', ')}) for this project: services no longer in the file (down or up with removeOrphans removes them)`);
    }
    await this.ensureNetworks(spec, order);
    await this.ensureVolumes(spec, order);
    const started = new Map<string, Promise<Container>>();
    for (const name of order) {
      started.set(name, (async () => {
        const service = spec.services[name]!;
        await Promise.all(Object.entries(service.depends_on).map(async ([dependency, { condition }]) => {
          const container = await started.get(dependency)!;
          await this.meetCondition(dependency, container, condition, timeout, progress, new Where(loaded.file, name, `depends_on.${dependency}.condition`));
        }));
        return this.upService(spec.name, name, plans.get(name)!, progress);
      })());
    }
    const settled = await Promise.allSettled(started.values());
    const failure = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure) throw failure.reason;
    if (options.wait) {
      await Promise.all(order.map(async (name) => {
        const container = await started.get(name)!;
        const info = await container.inspect();
        if (hasHealthcheck(container)) await this.meetCondition(name, container, 'service_healthy', timeout, progress);
        else if (!info.state.running) throw new BerthError(`service ${name}: container ${container.name} exited with code ${info.state.exitCode}`, { code: 'ERR_CONTAINER_EXITED', containerId: container.id });
      }));
    }
    return this.ps(spec.name);
  }

  /**
   * Builds the images of the services in `order` that have `build`: those
   * whose image is missing, or all of them with `always`. Resolves with
   * their image ids. A failed build is a ComposeError naming the service
   * (its code and cause the builder's), before anything of the stack exists.
   */
  private async buildImages(spec: StackSpec, order: string[], file: string, always: boolean, progress: NonNullable<StackUpOptions['onProgress']>): Promise<Map<string, string>> {
    const ids = new Map<string, string>();
    for (const name of order) {
      const { image, build } = spec.services[name]!;
      if (!build) continue;
      const present = always ? undefined : await this.runtime.images.get(image).catch((error: unknown) => {
        if (error instanceof NotFoundError) return undefined;
        throw error;
      });
      if (present) {
        ids.set(name, present.id);
        continue;
      }
      progress(name, 'building');
      try {
        const built = await this.runtime.images.build({
          context: build.context,
          dockerfile: build.dockerfile,
          ...(build.dockerfile_inline === undefined ? {} : { dockerfileContent: build.dockerfile_inline }),
          tags: [image, ...build.tags],
          buildArgs: build.args,
          ...(build.target === undefined ? {} : { target: build.target }),
          labels: build.labels,
          noCache: build.no_cache,
          ...(build.pull ? { pull: 'always' as const } : {}),
        });
        ids.set(name, built.id);
      } catch (error) {
        const code = error instanceof BerthError ? error.code : 'ERR_BUILD';
        throw new ComposeError(`the image ${image} could not be built: ${error instanceof Error ? error.message : String(error)}`, { file, service: name, key: 'build' }, { code, cause: error });
      }
      progress(name, 'built');
    }
    return ids;
  }

  private async checkExternals(spec: StackSpec, order: string[], top: Where): Promise<void> {
    for (const key of this.used(spec, order, 'networks')) {
      const network = spec.networks[key]!;
      if (network.external) await this.runtime.networks.record(network.name).catch(() => top.at(`networks.${key}`).fail(`external network ${network.name} does not exist`, 'ERR_NOT_FOUND'));
    }
    for (const key of this.used(spec, order, 'volumes')) {
      const volume = spec.volumes[key]!;
      if (volume.external) await this.runtime.volumes.get(volume.name).catch(() => top.at(`volumes.${key}`).fail(`external volume ${volume.name} does not exist`, 'ERR_NOT_FOUND'));
    }
  }

  /**
   * Bind sources must exist: a missing one is made (a directory) where the
   * short syntax or `create_host_path` asks for it, as Docker does, and is a
   * ComposeError otherwise — before anything else is created.
   */
  private checkBindSources(spec: StackSpec, order: string[], file: string): void {
    for (const name of order) {
      spec.services[name]!.volumes.forEach((mount, i) => {
        if (mount.type !== 'bind' || existsSync(mount.source)) return;
        if (!mount.bind?.create_host_path) new Where(file, name, `volumes[${i}]`).fail(`the bind source ${mount.source} does not exist`, 'ERR_NOT_FOUND');
      });
    }
    for (const name of order) {
      for (const mount of spec.services[name]!.volumes) if (mount.type === 'bind' && !existsSync(mount.source)) mkdirSync(mount.source, { recursive: true });
    }
  }

  /** The file's network or volume keys the services in `order` use. */
  private used(spec: StackSpec, order: string[], kind: 'networks' | 'volumes'): string[] {
    const keys = new Set<string>();
    for (const name of order) {
      const service = spec.services[name]!;
      if (kind === 'networks') Object.keys(service.networks).forEach((key) => keys.add(key));
      else for (const mount of service.volumes) if (mount.type === 'volume' && mount.source) keys.add(mount.source);
    }
    return [...keys];
  }

  private async ensureNetworks(spec: StackSpec, order: string[]): Promise<void> {
    for (const key of this.used(spec, order, 'networks')) {
      const network = spec.networks[key]!;
      if (network.external) continue;
      const exists = await this.runtime.networks.record(network.name).then(() => true, (error: unknown) => {
        if (error instanceof NotFoundError) return false;
        throw error;
      });
      if (exists) continue;
      await this.runtime.networks.create({
        name: network.name, internal: network.internal,
        ...(network.subnet ? { subnet: network.subnet } : {}), ...(network.gateway ? { gateway: network.gateway } : {}),
        labels: { ...network.labels, [LABEL.project]: spec.name, [LABEL.network]: key },
      });
    }
  }

  private async ensureVolumes(spec: StackSpec, order: string[]): Promise<void> {
    for (const key of this.used(spec, order, 'volumes')) {
      const volume = spec.volumes[key]!;
      if (!volume.external) await this.runtime.volumes.create({ name: volume.name, labels: { ...volume.labels, [LABEL.project]: spec.name, [LABEL.volume]: key } });
    }
  }

  /** Keeps, starts, creates or recreates one service's container. */
  private async upService(project: string, name: string, plan: ReturnType<typeof serviceContainer>, progress: NonNullable<StackUpOptions['onProgress']>): Promise<Container> {
    const [existing] = await this.runtime.containers.list({ all: true, labels: { [LABEL.project]: project, [LABEL.service]: name } });
    let container = existing;
    if (existing && (await existing.inspect()).config.labels[LABEL.configHash] !== plan.hash) {
      await existing.stop();
      await existing.remove({ force: true });
      container = undefined;
    }
    if (!container) {
      container = await this.runtime.containers.create(plan.options);
      try {
        for (const { network, aliases } of plan.moreNetworks) await container.connect(network, { aliases });
      } catch (error) {
        await container.remove({ force: true });
        throw error;
      }
      progress(name, existing ? 'recreated' : 'created');
    }
    const info = await container.inspect();
    if (!info.state.running) {
      await container.start();
      progress(name, 'started');
    } else progress(name, 'running');
    return container;
  }

  /** Waits until `container` (of service `name`) meets `condition`; `where`: the depends_on entry asking for it. */
  private async meetCondition(name: string, container: Container, condition: string, timeout: number, progress: NonNullable<StackUpOptions['onProgress']>, where?: Where): Promise<void> {
    if (condition === 'service_healthy') {
      if (!hasHealthcheck(container) && where) where.fail(`service ${name} has no healthcheck (neither in the file nor in its image), so it cannot become healthy`);
      await container.waitFor(Wait.forHealthy(), { timeout });
      progress(name, 'healthy');
    } else if (condition === 'service_completed_successfully') {
      await container.waitFor(Wait.forExit(0), { timeout });
      progress(name, 'exited');
    }
  }

  /** The stack's containers (`com.docker.compose.project` = `project`) with their services, by service. */
  private async members(project: string, services: readonly string[] = []): Promise<{ container: Container; service: string }[]> {
    const all = await this.runtime.containers.list({ all: true, labels: { [LABEL.project]: project } });
    const withService = await Promise.all(all.map(async (container) => ({ container, service: (await container.inspect()).config.labels[LABEL.service] ?? '' })));
    for (const service of services) {
      if (!withService.some((entry) => entry.service === service)) throw new NotFoundError(`project ${project} has no service ${service} with a container`);
    }
    return withService.filter((entry) => services.length === 0 || services.includes(entry.service)).sort((a, b) => a.service.localeCompare(b.service));
  }

  /** The stack's containers, by service. */
  private async containers(project: string, services: readonly string[] = []): Promise<Container[]> {
    return (await this.members(project, services)).map((entry) => entry.container);
  }

  /** The stack's containers with their state and ports, sorted by service. */
  async ps(project: string): Promise<StackContainer[]> {
    checkProject(project, 'stacks.ps');
    return Promise.all((await this.containers(project)).map(async (container) => {
      const info = await container.inspect();
      return {
        service: info.config.labels[LABEL.service] ?? '',
        name: info.name, id: info.id, image: info.image,
        status: info.state.status, exitCode: info.state.exitCode,
        health: info.state.health?.status ?? null,
        ports: info.ports,
      };
    }));
  }

  /**
   * Stops and removes the stack's containers and networks; with `volumes`,
   * also its named volumes (those `up` created; never external ones) and
   * the containers' anonymous volumes. A project with nothing left is not an error.
   */
  async down(project: string, options: StackDownOptions = {}): Promise<StackDownResult> {
    checkProject(project, 'stacks.down');
    const containers = await this.containers(project);
    await Promise.all(containers.map((c) => c.stop(options.timeout === undefined ? {} : { timeout: options.timeout })));
    for (const container of containers) await container.remove({ force: true, volumes: options.volumes === true });
    const networks = await this.runtime.networks.list({ labels: { [LABEL.project]: project } });
    for (const network of networks) await this.runtime.networks.remove(network.name);
    const volumes = options.volumes ? await this.runtime.volumes.list({ labels: { [LABEL.project]: project } }) : [];
    for (const volume of volumes) await this.runtime.volumes.remove(volume.name);
    return { containers: containers.map((c) => c.name), networks: networks.map((n) => n.name), volumes: volumes.map((v) => v.name) };
  }

  /**
   * The output of the stack's containers (or of `services`), merged:
   * without `follow` every line so far in time order; with it, lines as
   * they come until every container has exited or `signal` aborts.
   */
  logs(project: string, options: StackLogsOptions = {}): AsyncIterable<StackLogLine> {
    checkProject(project, 'stacks.logs');
    const { services = [], ...logOptions } = options;
    return mergedLogs(() => this.members(project, services), logOptions);
  }

  /** Runs `cmd` in the running container of `service` (as `container.exec`). */
  async exec(project: string, service: string, cmd: string[], options: StackExecOptions = {}): Promise<ExecResult> {
    checkProject(project, 'stacks.exec');
    const [container] = await this.containers(project, [service]);
    return container!.exec(cmd, options);
  }

  /** Stops and starts the stack's containers (or those of `services`). */
  async restart(project: string, services: string[] = [], options: { timeout?: number } = {}): Promise<void> {
    checkProject(project, 'stacks.restart');
    const containers = await this.containers(project, services);
    await Promise.all(containers.map(async (c) => {
      await c.stop(options.timeout === undefined ? {} : { timeout: options.timeout });
      await c.start();
    }));
  }

  /** @internal Reads a stack without creating anything (for the CLI). */
  load(source: string | Record<string, unknown>, options: StackLoadOptions = {}): LoadedStack {
    return loadStack(source, options);
  }
}


