/**
 * `docker run` / `docker create` flags → the SDK's create options. Only
 * translation here: the SDK checks every value and names what is wrong.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ContainerCreateOptions, HealthcheckOptions, MountOptions, PortBinding, Ulimit } from '../index.js';
import { intFlag, keyValues, listFlag, numberFlag, stringFlag, UsageError, type FlagSpec, type ParsedArgs } from './command.js';

const s = (description: string, short?: string): FlagSpec => ({ type: 'string', description, ...(short ? { short } : {}) });
const many = (description: string, short?: string): FlagSpec => ({ ...s(description, short), multiple: true });
const b = (description: string, short?: string): FlagSpec => ({ type: 'boolean', description, ...(short ? { short } : {}) });

/** The flags `create` takes; `run` adds `-d` and `--rm`… as Docker, `create` takes `--rm` too. */
export const CREATE_FLAGS: Record<string, FlagSpec> = {
  interactive: b('Keep STDIN open even if not attached', 'i'),
  tty: b('Allocate a pseudo-TTY', 't'),
  rm: b('Automatically remove the container when it exits'),
  name: s('Assign a name to the container'),
  env: many('Set environment variables', 'e'),
  'env-file': many('Read in a file of environment variables'),
  workdir: s('Working directory inside the container', 'w'),
  user: s('Username or UID (format: <name|uid>[:<group|gid>])', 'u'),
  publish: many("Publish a container's port(s) to the host ([ip:][hostPort:]containerPort[/proto])", 'p'),
  'publish-all': b('Publish all exposed ports to random ports', 'P'),
  volume: many('Bind mount a volume (name:/path, /host:/path[:ro], /path)', 'v'),
  mount: many('Attach a filesystem mount to the container (type=bind|volume|tmpfs,…)'),
  tmpfs: many('Mount a tmpfs directory (/path[:size=64m,mode=1777])'),
  network: s('Connect a container to a network (bridge, host, none, slirp4netns, container:<name>, or a network name)'),
  'network-alias': many('Add network-scoped alias for the container'),
  ip: s('IPv4 address (e.g., 172.30.100.104)'),
  memory: s('Memory limit', 'm'),
  'memory-swap': s("Swap limit equal to memory plus swap: '-1' to enable unlimited swap"),
  cpus: s('Number of CPUs'),
  'cpu-shares': s('CPU shares (relative weight)'),
  'cpuset-cpus': s('CPUs in which to allow execution (0-3, 0,1)'),
  'pids-limit': s('Tune container pids limit (set -1 for unlimited)'),
  restart: s('Restart policy to apply when a container exits (no, on-failure[:N], always, unless-stopped)'),
  label: many('Set meta data on a container', 'l'),
  entrypoint: s('Overwrite the default ENTRYPOINT of the image'),
  init: b('Run an init inside the container that forwards signals and reaps processes'),
  'health-cmd': s('Command to run to check health'),
  'health-interval': s('Time between running the check (ms|s|m|h)'),
  'health-timeout': s('Maximum time to allow one check to run (ms|s|m|h)'),
  'health-retries': s('Consecutive failures needed to report unhealthy'),
  'health-start-period': s('Start period for the container to initialize before counting retries (ms|s|m|h)'),
  privileged: b('Give extended privileges to this container'),
  'cap-add': many('Add Linux capabilities'),
  'cap-drop': many('Drop Linux capabilities'),
  'security-opt': many('Security options (seccomp=unconfined|PROFILE.json, no-new-privileges[:true|false])'),
  'read-only': b("Mount the container's root filesystem as read only"),
  userns: s('User namespace to use (host, auto)'),
  uidmap: many('UID map for a user namespace of its own (container:host:size)'),
  gidmap: many('GID map for a user namespace of its own (container:host:size; default: as --uidmap)'),
  hostname: s('Container host name', 'h'),
  ulimit: many('Ulimit options (nofile=1024:2048)'),
  'stop-signal': s('Signal to stop the container'),
  'stop-timeout': s('Timeout (in seconds) to stop a container'),
  'volumes-from': many('Mount volumes from the specified container(s)'),
  platform: s('Set platform if server is multi-platform capable'),
  pull: s('Pull image before running ("always", "missing", "never")'),
};

/** `1m30s`, `500ms`, `10` (seconds) → milliseconds. */
export function durationMs(text: string, flag: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text)) throw new UsageError(`invalid argument "${text}" for "--${flag}" flag: expected a duration like 30s, 1m30s or 500ms`);
  let ms = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(amount) * units[unit!]!;
  return ms;
}

/** `[ip:][hostPort:]containerPort[/proto]` → one `ports` entry. */
export function publishEntry(text: string): [string, PortBinding] {
  const [spec, proto = 'tcp'] = text.split('/') as [string, string?];
  const parts = spec.split(':');
  const containerPort = parts.pop()!;
  if (!/^\d+$/.test(containerPort) || parts.length > 2) throw new UsageError(`invalid argument "${text}" for "-p" flag: expected [ip:][hostPort:]containerPort[/proto]`);
  const hostPort = parts.pop() ?? '';
  const hostIp = parts.pop();
  if (hostPort !== '' && !/^\d+$/.test(hostPort)) throw new UsageError(`invalid argument "${text}" for "-p" flag: host port '${hostPort}' is not a number`);
  const port = hostPort === '' ? 0 : Number(hostPort);
  return [`${containerPort}/${proto}`, hostIp ? { hostIp, hostPort: port } : port];
}

/** `-v name:/path[:ro]`, `-v /host:/path[:ro]`, `-v /path` → a mount. */
export function volumeMount(text: string): MountOptions {
  const parts = text.split(':');
  const options = parts.length >= 2 && /^(ro|rw|z|Z|nocopy|[a-z]*private|[a-z]*shared|[a-z]*slave|,)+$/.test(parts.at(-1)!) ? parts.pop()!.split(',') : [];
  const readonly = options.includes('ro');
  if (parts.length === 1) return { type: 'volume', target: parts[0]!, readonly };
  if (parts.length !== 2) throw new UsageError(`invalid argument "${text}" for "-v" flag: expected SOURCE:TARGET[:ro]`);
  const [source, target] = parts as [string, string];
  if (source.startsWith('/') || source.startsWith('.')) {
    const propagation = options.find((o) => /(private|shared|slave)$/.test(o)) as 'rprivate' | undefined;
    return { type: 'bind', source: resolve(source), target, readonly, ...(propagation ? { propagation } : {}) };
  }
  return { type: 'volume', source, target, readonly, ...(options.includes('nocopy') ? { noCopy: true } : {}) };
}

/** `--mount type=…,source=…,target=…,readonly` → a mount. */
export function mountFlag(text: string): MountOptions {
  const fields: Record<string, string> = {};
  for (const part of text.split(',')) {
    const at = part.indexOf('=');
    fields[at < 0 ? part : part.slice(0, at)] = at < 0 ? 'true' : part.slice(at + 1);
  }
  const target = fields.target ?? fields.destination ?? fields.dst;
  const source = fields.source ?? fields.src;
  const readonly = ['true', '1'].includes(fields.readonly ?? fields.ro ?? 'false');
  if (!target) throw new UsageError(`invalid argument "${text}" for "--mount" flag: target is required`);
  switch (fields.type ?? 'volume') {
    case 'bind':
      if (!source) throw new UsageError(`invalid argument "${text}" for "--mount" flag: a bind mount needs a source`);
      return { type: 'bind', source: resolve(source), target, readonly, ...(fields['bind-propagation'] ? { propagation: fields['bind-propagation'] as 'rprivate' } : {}) };
    case 'volume':
      return { type: 'volume', target, readonly, ...(source ? { source } : {}), ...(fields['volume-nocopy'] ? { noCopy: true } : {}) };
    case 'tmpfs':
      return {
        type: 'tmpfs',
        target,
        readonly,
        ...(fields['tmpfs-size'] ? { size: fields['tmpfs-size'] } : {}),
        ...(fields['tmpfs-mode'] ? { mode: parseInt(fields['tmpfs-mode'], 8) } : {}),
      };
    default:
      throw new UsageError(`invalid argument "${text}" for "--mount" flag: type must be bind, volume or tmpfs`);
  }
}

/** `--tmpfs /path[:size=64m,mode=1777]`. */
function tmpfsMount(text: string): MountOptions {
  const [target, options = ''] = text.split(/:(.*)/s) as [string, string?];
  const fields = keyValues(options ? options.split(',') : [], 'tmpfs');
  return {
    type: 'tmpfs',
    target,
    ...(fields.size ? { size: fields.size } : {}),
    ...(fields.mode ? { mode: parseInt(fields.mode, 8) } : {}),
    ...('ro' in fields ? { readonly: true } : {}),
  };
}

/** `KEY=VALUE` lines of an env file (`#` comments, blank lines; a bare `KEY` takes this process's value). */
function envFile(path: string): string[] {
  const result: string[] = [];
  for (const raw of readFileSync(path, 'utf8').split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    if (line.includes('=')) result.push(line);
    else if (process.env[line.trim()] !== undefined) result.push(`${line.trim()}=${process.env[line.trim()]}`);
  }
  return result;
}

/** Podman's `--userns host|auto` and `--uidmap`/`--gidmap C:H:N` (a gid map defaults to the uid map). */
function usernsFlags(mode: string | undefined, uidmap: string[], gidmap: string[]): ContainerCreateOptions['userns'] {
  const ranges = (texts: string[], flag: string) => texts.map((text) => {
    const match = /^(\d+):(\d+):(\d+)$/.exec(text);
    if (!match) throw new UsageError(`invalid argument "${text}" for "--${flag}" flag: expected container:host:size`);
    return { containerId: Number(match[1]), hostId: Number(match[2]), size: Number(match[3]) };
  });
  if (uidmap.length === 0 && gidmap.length === 0) {
    if (mode !== undefined && mode !== 'host' && mode !== 'auto') throw new UsageError(`invalid argument "${mode}" for "--userns" flag: expected host or auto`);
    return mode as 'host' | 'auto' | undefined;
  }
  if (mode !== undefined) throw new UsageError('--userns cannot be combined with --uidmap or --gidmap');
  if (uidmap.length === 0) throw new UsageError('--gidmap needs --uidmap');
  const uidMap = ranges(uidmap, 'uidmap');
  return { uidMap, gidMap: gidmap.length ? ranges(gidmap, 'gidmap') : uidMap };
}

/** The `docker run -e KEY` form takes this process's value. */
function envEntry(entry: string): string[] {
  if (entry.includes('=')) return [entry];
  const value = process.env[entry];
  return value === undefined ? [] : [`${entry}=${value}`];
}

/** The create options of a `run`/`create` command line (image and command excluded). */
export function createOptions(parsed: ParsedArgs): ContainerCreateOptions {
  const f = (name: string) => stringFlag(parsed, name);
  const options: ContainerCreateOptions = {};
  const env = [...listFlag(parsed, 'env-file').flatMap(envFile), ...listFlag(parsed, 'env').flatMap(envEntry)];
  if (env.length) options.env = env;
  const set = <K extends keyof ContainerCreateOptions>(key: K, value: ContainerCreateOptions[K] | undefined) => {
    if (value !== undefined) options[key] = value;
  };
  set('name', f('name'));
  set('workdir', f('workdir'));
  set('user', f('user'));
  set('hostname', f('hostname'));
  set('network', f('network'));
  set('ip', f('ip'));
  set('memory', f('memory'));
  set('memorySwap', f('memory-swap'));
  set('cpus', numberFlag(parsed, 'cpus'));
  set('cpuShares', intFlag(parsed, 'cpu-shares', 2));
  set('cpusetCpus', f('cpuset-cpus'));
  set('pidsLimit', intFlag(parsed, 'pids-limit', -1));
  set('restart', f('restart') as ContainerCreateOptions['restart']);
  set('stopSignal', f('stop-signal') as NodeJS.Signals | undefined);
  set('stopTimeout', intFlag(parsed, 'stop-timeout', 0));
  set('platform', f('platform'));
  set('pull', f('pull') as ContainerCreateOptions['pull']);
  if (parsed.flags.tty) options.tty = true;
  if (parsed.flags.interactive) options.stdin = true;
  if (parsed.flags.init) options.init = true;
  if (parsed.flags.privileged) options.privileged = true;
  if (parsed.flags['read-only']) options.readonlyRootfs = true;
  const userns = usernsFlags(f('userns'), listFlag(parsed, 'uidmap'), listFlag(parsed, 'gidmap'));
  if (userns !== undefined) options.userns = userns;
  const entrypoint = f('entrypoint');
  if (entrypoint !== undefined) options.entrypoint = entrypoint === '' ? [] : [entrypoint];
  const labels = listFlag(parsed, 'label');
  if (labels.length) options.labels = keyValues(labels, 'label');
  const aliases = listFlag(parsed, 'network-alias');
  if (aliases.length) options.networkAliases = aliases;
  const capAdd = listFlag(parsed, 'cap-add');
  if (capAdd.length) options.capAdd = capAdd;
  const capDrop = listFlag(parsed, 'cap-drop');
  if (capDrop.length) options.capDrop = capDrop;
  const volumesFrom = listFlag(parsed, 'volumes-from');
  if (volumesFrom.length) options.volumesFrom = volumesFrom;

  const ports = Object.fromEntries(listFlag(parsed, 'publish').map(publishEntry));
  if (Object.keys(ports).length) options.ports = ports;
  const mounts = [...listFlag(parsed, 'volume').map(volumeMount), ...listFlag(parsed, 'mount').map(mountFlag), ...listFlag(parsed, 'tmpfs').map(tmpfsMount)];
  if (mounts.length) options.mounts = mounts;

  const ulimits: Record<string, Ulimit> = {};
  for (const text of listFlag(parsed, 'ulimit')) {
    const match = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(text);
    if (!match) throw new UsageError(`invalid argument "${text}" for "--ulimit" flag: expected NAME=SOFT[:HARD]`);
    ulimits[match[1]!] = { soft: Number(match[2]), hard: Number(match[3] ?? match[2]) };
  }
  if (Object.keys(ulimits).length) options.ulimits = ulimits;

  for (const text of listFlag(parsed, 'security-opt')) {
    const [key, value = ''] = text.split(/[=:](.*)/s) as [string, string?];
    if (key === 'seccomp') options.seccomp = value === 'unconfined' || value === 'default' ? value : readFileSync(value, 'utf8');
    else if (key === 'no-new-privileges') options.noNewPrivileges = value === '' || value === 'true';
    else throw new UsageError(`invalid argument "${text}" for "--security-opt" flag: berth knows seccomp=… and no-new-privileges[:true|false]`);
  }

  const health: HealthcheckOptions = {};
  const cmd = f('health-cmd');
  if (cmd !== undefined) health.test = ['CMD-SHELL', cmd];
  for (const [flag, key] of [['health-interval', 'interval'], ['health-timeout', 'timeout'], ['health-start-period', 'startPeriod']] as const) {
    const value = f(flag);
    if (value !== undefined) health[key] = durationMs(value, flag);
  }
  const retries = intFlag(parsed, 'health-retries', 1);
  if (retries !== undefined) health.retries = retries;
  if (Object.keys(health).length) options.healthcheck = health;
  return options;
}
