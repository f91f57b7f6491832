/** One service of a compose file, checked and resolved into a StackService. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { RestartPolicy } from '../../types/container.js';
import type { DependsOnCondition, StackService } from '../../types/stack.js';
import { parseEnvFile } from './env-file.js';
import { defaultImageName, readBuild } from './service-build.js';
import { readMounts, readTmpfs, type MountContext } from './service-mounts.js';
import { readPorts } from './service-ports.js';
import {
  isMap, readBoolean, readBytes, readCommand, readDuration, readInteger, readMap, readString, readStringList, readStringMap,
  refuseUnknownKeys, shown, type Where,
} from './compose-values.js';

/** What reading a service needs from the rest of the file. */
export interface ServiceContext extends MountContext {
  project: string;
  /** The file's service names (for `depends_on`). */
  services: readonly string[];
  /** The names the top-level `networks` declare (`default` always). */
  declaredNetworks: readonly string[];
  /** The variables (environment over `.env`): for bare `environment` keys. */
  variables: Readonly<Record<string, string | undefined>>;
}

const SERVICE_KEYS = [
  'image', 'build', 'command', 'entrypoint', 'environment', 'env_file', 'ports', 'volumes', 'tmpfs', 'networks', 'network_mode',
  'depends_on', 'healthcheck', 'restart', 'labels', 'user', 'working_dir', 'init', 'deploy', 'container_name', 'hostname',
  'tty', 'stdin_open', 'read_only', 'privileged', 'cap_add', 'cap_drop', 'stop_signal', 'stop_grace_period', 'expose',
  'mem_limit', 'cpus', 'pids_limit', 'userns_mode',
];
/** Compose keys berth does not implement: refused by name rather than ignored. */
const UNSUPPORTED_KEYS = [
  'extends', 'profiles', 'secrets', 'configs', 'devices', 'dns', 'dns_search', 'extra_hosts', 'links', 'external_links',
  'ipc', 'pid', 'logging', 'sysctls', 'ulimits', 'security_opt', 'platform', 'pull_policy', 'scale', 'shm_size',
  'domainname', 'mac_address', 'group_add', 'cgroup_parent', 'develop', 'post_start', 'pre_stop', 'runtime', 'storage_opt',
];
const RESTART = /^(no|always|unless-stopped|on-failure(:\d+)?)$/;
const CONDITIONS: readonly DependsOnCondition[] = ['service_started', 'service_healthy', 'service_completed_successfully'];

function readEnvFiles(value: unknown, where: Where, context: ServiceContext): Record<string, string> {
  const entries = typeof value === 'string' ? [value] : Array.isArray(value) ? value : where.fail('must be a path or a list of paths');
  const out: Record<string, string> = {};
  entries.forEach((entry: unknown, i) => {
    const here = typeof value === 'string' ? where : where.at(i);
    const { path, required } = isMap(entry)
      ? { path: readString(entry.path, here.at('path')), required: entry.required === undefined ? true : readBoolean(entry.required, here.at('required')) }
      : { path: readString(entry, here), required: true };
    const file = resolve(context.projectDir, path);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return;
      return here.fail(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    Object.assign(out, parseEnvFile(text, { lookup: (key) => context.variables[key], fail: (message) => here.fail(`${file}: ${message}`) }));
  });
  return out;
}

function readNetworks(value: unknown, where: Where, context: ServiceContext): Record<string, { aliases: string[] }> {
  const entries: [string, unknown][] = Array.isArray(value)
    ? readStringList(value, where).map((name) => [name, null])
    : Object.entries(readMap(value, where));
  const out: Record<string, { aliases: string[] }> = {};
  for (const [name, options] of entries) {
    const here = where.at(name);
    if (!context.declaredNetworks.includes(name)) here.fail(`refers to network ${shown(name)}, which the top-level networks do not declare`);
    let aliases: string[] = [];
    if (options !== null && options !== undefined) {
      refuseUnknownKeys(readMap(options, here), ['aliases'], here, ['ipv4_address', 'ipv6_address', 'priority', 'link_local_ips', 'mac_address', 'driver_opts']);
      if ((options as Record<string, unknown>).aliases !== undefined) aliases = readStringList((options as Record<string, unknown>).aliases, here.at('aliases'));
    }
    out[name] = { aliases };
  }
  return out;
}

function readDependsOn(value: unknown, where: Where, name: string, context: ServiceContext): StackService['depends_on'] {
  const entries: [string, unknown][] = Array.isArray(value)
    ? readStringList(value, where).map((dependency) => [dependency, null])
    : Object.entries(readMap(value, where));
  const out: StackService['depends_on'] = {};
  for (const [dependency, options] of entries) {
    const here = where.at(dependency);
    if (!context.services.includes(dependency)) here.fail(`refers to service ${shown(dependency)}, which the file does not define`);
    if (dependency === name) here.fail('a service cannot depend on itself', 'ERR_COMPOSE_CYCLE');
    let condition: DependsOnCondition = 'service_started';
    let required = true;
    if (options !== null && options !== undefined) {
      const map = readMap(options, here);
      refuseUnknownKeys(map, ['condition', 'required', 'restart'], here);
      if (map.condition !== undefined) {
        const given = readString(map.condition, here.at('condition'));
        if (!CONDITIONS.includes(given as DependsOnCondition)) here.at('condition').fail(`must be one of ${CONDITIONS.join(', ')}, got ${shown(given)}`);
        condition = given as DependsOnCondition;
      }
      if (map.required !== undefined) required = readBoolean(map.required, here.at('required'));
    }
    out[dependency] = { condition, required };
  }
  return out;
}

function readHealthcheck(value: unknown, where: Where): StackService['healthcheck'] {
  const map = readMap(value, where);
  refuseUnknownKeys(map, ['test', 'interval', 'timeout', 'retries', 'start_period', 'start_interval', 'disable'], where);
  if (map.disable !== undefined && readBoolean(map.disable, where.at('disable'))) return { test: ['NONE'] };
  let test: string[] = [];
  if (typeof map.test === 'string') test = ['CMD-SHELL', map.test];
  else if (map.test !== undefined) {
    test = readStringList(map.test, where.at('test'));
    const [kind, ...rest] = test;
    if (!(kind === 'NONE' || (kind === 'CMD' && rest.length > 0) || (kind === 'CMD-SHELL' && rest.length === 1))) {
      where.at('test').fail(`must be a string, ['CMD', arg…], ['CMD-SHELL', command] or ['NONE'], got ${shown(test)}`);
    }
  }
  const duration = (key: string) => (map[key] === undefined ? {} : { [key]: readDuration(map[key], where.at(key)) });
  return {
    test,
    ...duration('interval'), ...duration('timeout'), ...duration('start_period'), ...duration('start_interval'),
    ...(map.retries === undefined ? {} : { retries: readInteger(map.retries, where.at('retries'), 1) }),
  };
}

function readCpus(value: unknown, where: Where): number {
  const cpus = typeof value === 'string' ? Number(value) : value;
  if (typeof cpus !== 'number' || !(cpus > 0)) where.fail(`must be a number of CPUs > 0, got ${shown(value)}`);
  return cpus;
}

function readLimits(service: Record<string, unknown>, where: Where): StackService['deploy'] {
  const limits: { cpus?: number; memory?: number; pids?: number } = {};
  if (service.deploy !== undefined) {
    const deploy = readMap(service.deploy, where.at('deploy'));
    refuseUnknownKeys(deploy, ['resources'], where.at('deploy'), ['replicas', 'mode', 'placement', 'update_config', 'rollback_config', 'restart_policy', 'endpoint_mode', 'labels']);
    if (deploy.resources !== undefined) {
      const resources = readMap(deploy.resources, where.at('deploy.resources'));
      refuseUnknownKeys(resources, ['limits'], where.at('deploy.resources'), ['reservations']);
      if (resources.limits !== undefined) {
        const here = where.at('deploy.resources.limits');
        const given = readMap(resources.limits, here);
        refuseUnknownKeys(given, ['cpus', 'memory', 'pids'], here);
        if (given.cpus !== undefined) limits.cpus = readCpus(given.cpus, here.at('cpus'));
        if (given.memory !== undefined) limits.memory = readBytes(given.memory, here.at('memory'));
        if (given.pids !== undefined) limits.pids = readInteger(given.pids, here.at('pids'), 1);
      }
    }
  }
  if (service.cpus !== undefined) limits.cpus = readCpus(service.cpus, where.at('cpus'));
  if (service.mem_limit !== undefined) limits.memory = readBytes(service.mem_limit, where.at('mem_limit'));
  if (service.pids_limit !== undefined) limits.pids = readInteger(service.pids_limit, where.at('pids_limit'), 1);
  return Object.keys(limits).length ? { resources: { limits } } : undefined;
}

/** The service `name` as given in the file, resolved. */
export function readService(name: string, value: unknown, where: Where, context: ServiceContext): StackService {
  const service = readMap(value ?? {}, where);
  refuseUnknownKeys(service, SERVICE_KEYS, where, UNSUPPORTED_KEYS);
  if (service.image === undefined && service.build === undefined) where.fail('has no image: give `image:` or `build:`');
  const at = (key: string) => where.at(key);
  const build = service.build === undefined ? undefined : readBuild(service.build, at('build'), context.projectDir, context.variables);
  const optional = <T>(key: string, read: (value: unknown, where: Where) => T): { [k: string]: T } => (service[key] === undefined ? {} : { [key]: read(service[key], at(key)) });
  const restart = service.restart === undefined ? 'no' : readString(service.restart, at('restart'));
  if (!RESTART.test(restart)) at('restart').fail(`must be no, always, unless-stopped or on-failure[:N], got ${shown(restart)}`);
  const networkMode = service.network_mode === undefined ? undefined : readString(service.network_mode, at('network_mode'));
  if (networkMode !== undefined && !['none', 'host', 'slirp4netns'].includes(networkMode)) {
    at('network_mode').fail(`berth supports none, host and slirp4netns here, got ${shown(networkMode)}`, 'ERR_COMPOSE_UNSUPPORTED');
  }
  const usernsMode = service.userns_mode === undefined ? undefined : readString(service.userns_mode, at('userns_mode'));
  if (usernsMode !== undefined && usernsMode !== 'host' && usernsMode !== 'auto') {
    at('userns_mode').fail(`berth supports host and auto (as Podman) here, got ${shown(usernsMode)}`, 'ERR_COMPOSE_UNSUPPORTED');
  }
  if (networkMode !== undefined && service.networks !== undefined) at('network_mode').fail('cannot be given together with networks');
  const environment = {
    ...(service.env_file === undefined ? {} : readEnvFiles(service.env_file, at('env_file'), context)),
    ...(service.environment === undefined ? {} : readStringMap(service.environment, at('environment'), (key) => context.variables[key])),
  };
  for (const key of Object.keys(environment)) {
    if (!/^[^=\0]+$/.test(key)) at('environment').fail(`${shown(key)} is not a variable name (no '=' or NUL)`);
  }
  const containerName = service.container_name === undefined ? `${context.project}-${name}-1` : readString(service.container_name, at('container_name'));
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(containerName)) at('container_name').fail(`${shown(containerName)} is not a valid container name`);
  if (service.expose !== undefined) readStringList(service.expose, at('expose')); // checked; nothing to do without published ports
  const deploy = readLimits(service, where);
  return {
    image: service.image === undefined ? defaultImageName(context.project, name) : readString(service.image, at('image')),
    ...(build ? { build } : {}),
    container_name: containerName,
    ...optional('command', readCommand),
    ...optional('entrypoint', readCommand),
    environment,
    ports: service.ports === undefined ? [] : readPorts(service.ports, at('ports')),
    volumes: [
      ...(service.volumes === undefined ? [] : readMounts(service.volumes, at('volumes'), context)),
      ...(service.tmpfs === undefined ? [] : readTmpfs(service.tmpfs, at('tmpfs'))),
    ],
    networks: networkMode ? {} : service.networks === undefined ? { default: { aliases: [] } } : readNetworks(service.networks, at('networks'), context),
    ...(networkMode ? { network_mode: networkMode as 'none' | 'host' | 'slirp4netns' } : {}),
    ...(usernsMode ? { userns_mode: usernsMode as 'host' | 'auto' } : {}),
    depends_on: service.depends_on === undefined ? {} : readDependsOn(service.depends_on, at('depends_on'), name, context),
    ...optional('healthcheck', readHealthcheck),
    restart: restart as RestartPolicy,
    labels: service.labels === undefined ? {} : readStringMap(service.labels, at('labels')),
    ...optional('user', readString),
    ...optional('working_dir', readString),
    ...optional('hostname', readString),
    ...optional('init', readBoolean),
    ...optional('tty', readBoolean),
    ...optional('stdin_open', readBoolean),
    ...optional('read_only', readBoolean),
    ...optional('privileged', readBoolean),
    ...optional('cap_add', readStringList),
    ...optional('cap_drop', readStringList),
    ...optional('stop_signal', readString),
    ...(service.stop_grace_period === undefined ? {} : { stop_grace_period: Math.ceil(readDuration(service.stop_grace_period, at('stop_grace_period')) / 1000) }),
    ...(deploy ? { deploy } : {}),
  } as StackService;
}
