/**
 * A resolved service → the options of `containers.create()`, with Docker
 * Compose's labels and a hash of the configuration (`up` recreates a
 * container whose hash changed and keeps one whose hash did not).
 */
import { createHash } from 'node:crypto';
import type { ContainerCreateOptions, HealthcheckOptions } from '../../types/container.js';
import type { MountOptions } from '../../types/volume.js';
import type { PortBinding } from '../../types/network.js';
import type { StackService, StackSpec } from '../../types/stack.js';
import type { Where } from './compose-values.js';

/** Docker Compose's label keys. */
export const LABEL = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  number: 'com.docker.compose.container-number',
  oneoff: 'com.docker.compose.oneoff',
  configHash: 'com.docker.compose.config-hash',
  network: 'com.docker.compose.network',
  volume: 'com.docker.compose.volume',
  workingDir: 'com.docker.compose.project.working_dir',
  configFiles: 'com.docker.compose.project.config_files',
} as const;

/** What `create()` gets for a service, and the networks it joins after the first. */
export interface ServiceContainerPlan {
  options: ContainerCreateOptions;
  /** Further networks (berth names) with the aliases there, connected after create. */
  moreNetworks: { network: string; aliases: string[] }[];
  hash: string;
}

function healthcheck(check: NonNullable<StackService['healthcheck']>): HealthcheckOptions {
  return {
    ...(check.test.length ? { test: check.test } : {}),
    ...(check.interval === undefined ? {} : { interval: check.interval }),
    ...(check.timeout === undefined ? {} : { timeout: check.timeout }),
    ...(check.retries === undefined ? {} : { retries: check.retries }),
    ...(check.start_period === undefined ? {} : { startPeriod: check.start_period }),
    ...(check.start_interval === undefined ? {} : { startInterval: check.start_interval }),
  };
}

function mounts(service: StackService, spec: StackSpec): MountOptions[] {
  return service.volumes.map((mount): MountOptions => {
    switch (mount.type) {
      case 'volume':
        return {
          type: 'volume', target: mount.target, readonly: mount.read_only,
          ...(mount.source ? { source: spec.volumes[mount.source]!.name } : {}),
          ...(mount.volume?.nocopy ? { noCopy: true } : {}),
        };
      case 'bind':
        return { type: 'bind', source: mount.source, target: mount.target, readonly: mount.read_only, ...(mount.bind?.propagation ? { propagation: mount.bind.propagation as 'rprivate' } : {}) };
      default:
        return { type: 'tmpfs', target: mount.target, readonly: mount.read_only, ...(mount.tmpfs?.size ? { size: mount.tmpfs.size } : {}), ...(mount.tmpfs?.mode !== undefined ? { mode: mount.tmpfs.mode } : {}) };
    }
  });
}

function ports(service: StackService, where: Where): Record<string, PortBinding> {
  const out: Record<string, PortBinding> = {};
  service.ports.forEach((port, i) => {
    const key = `${port.target}/${port.protocol}`;
    if (out[key] !== undefined) where.at(`ports[${i}]`).fail(`container port ${key} is published twice (berth publishes each container port once)`, 'ERR_COMPOSE_UNSUPPORTED');
    out[key] = { hostPort: port.published, ...(port.host_ip ? { hostIp: port.host_ip } : {}) };
  });
  return out;
}

/**
 * The create options of service `name` of `spec` (`projectDir`, `file`: for
 * the project labels). `imageId`, for a service with `build`: its image's id,
 * part of the hash, so that a rebuilt image recreates the container.
 */
export function serviceContainer(spec: StackSpec, name: string, projectDir: string, file: string, where: Where, imageId?: string): ServiceContainerPlan {
  const service = spec.services[name]!;
  const networks = Object.entries(service.networks).map(([key, { aliases }]) => ({
    network: spec.networks[key]!.name,
    aliases: [...new Set([name, service.container_name, ...aliases])],
  }));
  const [first, ...moreNetworks] = networks;
  const limits = service.deploy?.resources.limits ?? {};
  const options: ContainerCreateOptions = {
    image: service.image,
    name: service.container_name,
    ...(service.command ? { cmd: service.command } : {}),
    ...(service.entrypoint ? { entrypoint: service.entrypoint } : {}),
    env: service.environment,
    ...(service.working_dir ? { workdir: service.working_dir } : {}),
    ...(service.user ? { user: service.user } : {}),
    ...(service.hostname ? { hostname: service.hostname } : {}),
    ...(service.tty ? { tty: true } : {}),
    ...(service.stdin_open ? { stdin: true } : {}),
    ...(service.read_only ? { readonlyRootfs: true } : {}),
    ...(service.privileged ? { privileged: true } : {}),
    ...(service.cap_add ? { capAdd: service.cap_add } : {}),
    ...(service.cap_drop ? { capDrop: service.cap_drop } : {}),
    ...(service.stop_signal ? { stopSignal: service.stop_signal as NodeJS.Signals } : {}),
    ...(service.stop_grace_period !== undefined ? { stopTimeout: service.stop_grace_period } : {}),
    ...(service.init ? { init: true } : {}),
    ...(service.healthcheck ? { healthcheck: healthcheck(service.healthcheck) } : {}),
    restart: service.restart,
    network: service.network_mode ?? first?.network ?? 'none',
    ...(service.userns_mode ? { userns: service.userns_mode } : {}),
    ...(first ? { networkAliases: first.aliases } : {}),
    ...(service.ports.length ? { ports: ports(service, where) } : {}),
    ...(service.volumes.length ? { mounts: mounts(service, spec) } : {}),
    ...(limits.cpus !== undefined ? { cpus: limits.cpus } : {}),
    ...(limits.memory !== undefined ? { memory: limits.memory } : {}),
    ...(limits.pids !== undefined ? { pidsLimit: limits.pids } : {}),
  };
  const hash = createHash('sha256').update(JSON.stringify({ options, moreNetworks, labels: service.labels, ...(imageId ? { imageId } : {}) })).digest('hex');
  options.labels = {
    ...service.labels,
    [LABEL.project]: spec.name,
    [LABEL.service]: name,
    [LABEL.number]: '1',
    [LABEL.oneoff]: 'False',
    [LABEL.configHash]: hash,
    [LABEL.workingDir]: projectDir,
    [LABEL.configFiles]: file,
  };
  return { options, moreNetworks, hash };
}
