import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Endpoint, NetworkRecord } from '../../types/network.js';
import { InvalidStateError } from '../errors.js';
import { attachCommands, awaitOldVeths } from '../network/host-links.js';
import { etcFiles, writeHostsFile, writeNameFiles, type HostEntry } from '../network/hosts-files.js';
import type { NetworkCollection } from '../network/network-collection.js';
import { readJsonIfExists } from '../state/atomic-file.js';
import type { ContainerCollection } from './container-collection.js';
import { containerPaths, type ContainerConfig } from './container-config.js';

/**
 * What the monitor needs to know about a container's network (spec keys):
 * the mode, the namespace to join, the `ip` lines that attach its bridge
 * networks (run by the monitor at every start, so restarts work without
 * Node), and the published ports. Bridges and firewall tables missing since
 * a reboot are made again first.
 */
export async function networkSpec(
  config: ContainerConfig,
  containers: ContainerCollection,
  networks: NetworkCollection,
  endpoints: Endpoint[],
): Promise<[string, string][]> {
  const spec: [string, string][] = [];
  let mode = config.network;
  if (mode.startsWith('container:')) {
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
  for (const [index, endpoint] of endpoints.entries()) {
    const record = await networks.ensureReady(endpoint.network);
    const commands = attachCommands(config.id, endpoint, record, index === 0);
    for (const line of commands.host) spec.push(['network-host-ip', line]);
    for (const line of commands.container) spec.push(['network-container-ip', line]);
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

/** Writes the container's /etc files before it starts. */
export function prepareEtcFiles(dir: string, config: ContainerConfig, networks: NetworkCollection, containersDir: string): void {
  writeNameFiles(dir, config.hostname, config.network === 'host');
  const endpoints = readEndpoints(dir);
  writeHostsFile(dir, config.hostname, config.name, endpoints, neighbours(config.id, endpoints, networks, containersDir));
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
      if (config && theirs) entries.push({ ip: theirs.ip, names: [config.name, ...theirs.aliases] });
    }
  }
  return entries;
}

/**
 * Rewrites /etc/hosts of every container on these networks (in place: their
 * bind mounts see it), after a container joined or left; `except` is one
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
      writeHostsFile(dir, config.hostname, config.name, endpoints, neighbours(member, endpoints, networks, containersDir));
    }
  }
}
