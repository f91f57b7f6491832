import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Endpoint, NetworkRecord } from '../../types/network.js';
import { InvalidStateError } from '../errors.js';
import { findSlirp4netns, parseSlirp4netns } from '../network/network-mode.js';
import { attachCommands, awaitOldVeths } from '../network/host-links.js';
import { dnsNamesPath, hostNameServers, writeDnsNames } from '../network/dns-names.js';
import { etcFiles, writeHostsFile, writeNameFiles, type HostEntry, type ResolverMode } from '../network/hosts-files.js';
import type { NetworkCollection } from '../network/network-collection.js';
import { readJsonIfExists } from '../state/atomic-file.js';
import type { ContainerCollection } from './container-collection.js';
import { containerPaths, type ContainerConfig } from './container-config.js';

/**
 * What the monitor needs to know about a container's network (spec keys):
 * the mode, the namespace to join, the `ip` lines that attach its bridge
 * networks (run by the monitor at every start, so restarts work without
 * Node), the embedded DNS server's names file and upstream servers, and the
 * published ports. Bridges and firewall tables missing since
 * a reboot are made again first.
 */
export async function networkSpec(
  dir: string,
  config: ContainerConfig,
  containers: ContainerCollection,
  networks: NetworkCollection,
  endpoints: Endpoint[],
): Promise<[string, string][]> {
  const spec: [string, string][] = [];
  let mode = config.network;
  const slirp = parseSlirp4netns(mode);
  if (slirp) {
    // its own namespace, tap0 served by a slirp4netns process the monitor runs at every start
    spec.push(['slirp4netns', findSlirp4netns(config.id)], ['slirp4netns-host-loopback', slirp.allowHostLoopback ? '1' : '0']);
    mode = 'slirp4netns';
  } else if (mode.startsWith('container:')) {
    const other = await containers.get(mode.slice('container:'.length));
    const { state } = await other.inspect();
    if (!state.running || state.pid === null) {
      throw new InvalidStateError(`network ${mode}: that container is not running`, { containerId: config.id, step: 'network' });
    }
    spec.push(['network-join', `/proc/${state.pid}/ns/net`]);
    mode = 'container';
  } else if (mode !== 'host' && endpoints.length > 0) {
    mode = 'bridge'; // a bridge network given at create, or connected later
  } else if (mode !== 'host') {
    mode = 'none';
  }
  spec.push(['network-mode', mode]);
  if (mode === 'bridge') await awaitOldVeths(config.id, endpoints.map((e) => e.network));
  let outbound = false;
  for (const [index, endpoint] of endpoints.entries()) {
    const record = await networks.ensureReady(endpoint.network);
    outbound ||= !record.internal;
    const commands = attachCommands(config.id, endpoint, record, index === 0);
    for (const line of commands.host) spec.push(['network-host-ip', line]);
    for (const line of commands.container) spec.push(['network-container-ip', line]);
  }
  if (mode === 'bridge') {
    // the embedded DNS server; only internal networks: container names only, nothing forwarded
    spec.push(['dns-names', dnsNamesPath(dir)]);
    if (outbound) for (const server of hostNameServers()) spec.push(['dns-forward', server]);
  }
  const upstream = endpoints[0]?.ip ?? '127.0.0.1';
  for (const p of config.ports) spec.push(['port', `${p.proto}:${p.hostIp}:${p.hostPort}:${upstream}:${p.containerPort}`]);
  return spec;
}

/** The container's endpoints on bridge networks (`<dir>/endpoints.json`). */
export function readEndpoints(dir: string): Endpoint[] {
  return readJsonIfExists<Endpoint[]>(containerPaths(dir).endpoints) ?? [];
}

/**
 * /etc/hosts, /etc/hostname, /etc/resolv.conf for the container, as bind
 * mounts (spec keys) — except where the user mounts that path or /etc
 * itself (as Docker, the user's mount wins).
 */
export function etcMounts(dir: string, userTargets: readonly string[] = []): [string, string][] {
  const files = etcFiles(dir);
  const taken = (target: string) => userTargets.some((t) => t.replace(/\/+$/, '') === target || t.replace(/\/+$/, '') === '/etc');
  return [
    ['/etc/hosts', files.hosts],
    ['/etc/hostname', files.hostname],
    ['/etc/resolv.conf', files.resolvConf],
  ]
    .filter(([target]) => !taken(target!))
    .flatMap(([target, source]) => [['mount', 'bind'], ['mount-source', source!], ['mount-target', target!]] as [string, string][]);
}

/**
 * Where the container's /etc/resolv.conf points: the embedded DNS server on
 * bridge networks, the host's servers with the host's network. A container
 * in `container:<other>` mode shares the other's network namespace, so it
 * gets what the other gets (as in Docker), the other's DNS server included.
 */
export async function resolverMode(config: ContainerConfig, endpoints: Endpoint[], containers: ContainerCollection): Promise<ResolverMode> {
  const mode = config.network;
  if (mode.startsWith('container:')) {
    const other = await containers.get(mode.slice('container:'.length)).catch(() => undefined);
    if (!other) return 'host-reachable'; // networkSpec reports it
    const { config: otherConfig, networks: otherEndpoints } = await other.inspect();
    if (otherConfig.network === 'host') return 'host';
    if (parseSlirp4netns(otherConfig.network)) return 'slirp4netns';
    return otherEndpoints.length > 0 && !otherConfig.network.startsWith('container:') ? 'embedded' : 'host-reachable';
  }
  return defaultResolverMode(config, endpoints);
}

function defaultResolverMode(config: ContainerConfig, endpoints: Endpoint[]): ResolverMode {
  if (config.network === 'host') return 'host';
  if (parseSlirp4netns(config.network)) return 'slirp4netns';
  return endpoints.length > 0 && !config.network.startsWith('container:') ? 'embedded' : 'host-reachable';
}

/** Writes the container's /etc files (and its DNS names) before it starts. */
export function prepareEtcFiles(dir: string, config: ContainerConfig, networks: NetworkCollection, containersDir: string, resolver?: ResolverMode): void {
  const endpoints = readEndpoints(dir);
  writeNameFiles(dir, config.hostname, resolver ?? defaultResolverMode(config, endpoints));
  writeNames(dir, config, endpoints, neighbours(config.id, endpoints, networks, containersDir));
}

/** What a container's neighbours are known as: its /etc/hosts and the names its DNS server answers. */
function writeNames(dir: string, config: ContainerConfig, endpoints: Endpoint[], others: HostEntry[]): void {
  writeHostsFile(dir, config.hostname, config.name, endpoints, others);
  if (endpoints.length === 0) {
    // no bridge network, no embedded DNS server to read it: no file (one left from a network since left goes)
    rmSync(dnsNamesPath(dir), { force: true });
    return;
  }
  const own: HostEntry[] = endpoints.map((e) => ({ ip: e.ip, ip6: e.ip6, names: [config.name, ...e.aliases] }));
  writeDnsNames(dir, [...own, ...others].flatMap((entry) => entry.names.flatMap((name) => [entry.ip, ...(entry.ip6 ? [entry.ip6] : [])].map((ip) => ({ name, ip })))));
}

/** The other containers on the same networks, by name and alias. */
function neighbours(id: string, endpoints: Endpoint[], networks: NetworkCollection, containersDir: string): HostEntry[] {
  const entries: HostEntry[] = [];
  for (const endpoint of endpoints) {
    const record = readJsonIfExists<NetworkRecord>(join(containersDir, '..', 'networks', endpoint.network, 'network.json'));
    if (!record) continue;
    for (const member of networks.members(record)) {
      if (member === id) continue;
      const dir = join(containersDir, member);
      const config = readJsonIfExists<ContainerConfig>(containerPaths(dir).config);
      const theirs = readEndpoints(dir).find((e) => e.network === endpoint.network);
      if (config && theirs) entries.push({ ip: theirs.ip, ip6: theirs.ip6, names: [config.name, ...theirs.aliases] });
    }
  }
  return entries;
}

/**
 * Rewrites /etc/hosts (in place: their bind mounts see it) and the DNS names
 * of every container on these networks, after a container joined or left; `except` is one
 * whose file was just written.
 */
export function refreshNeighbours(networkNames: string[], networks: NetworkCollection, containersDir: string, except?: string): void {
  const seen = new Set<string>(except === undefined ? [] : [except]);
  for (const name of networkNames) {
    const record = readJsonIfExists<NetworkRecord>(join(containersDir, '..', 'networks', name, 'network.json'));
    if (!record) continue;
    for (const member of networks.members(record)) {
      if (seen.has(member)) continue;
      seen.add(member);
      const dir = join(containersDir, member);
      const config = readJsonIfExists<ContainerConfig>(containerPaths(dir).config);
      if (!config || !existsSync(etcFiles(dir).hosts)) continue;
      const endpoints = readEndpoints(dir);
      writeNames(dir, config, endpoints, neighbours(member, endpoints, networks, containersDir));
    }
  }
}
