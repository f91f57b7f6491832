import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Endpoint, NetworkRecord } from '../../types/network.js';
import { runBatch } from './host-commands.js';

/** Interface names in this process's network namespace (/proc/net/dev is per namespace). */
export function linkNames(): string[] {
  return readFileSync('/proc/net/dev', 'utf8').split('\n').slice(2).map((line) => line.split(':')[0]!.trim()).filter(Boolean);
}

/**
 * The MAC address of an interface that holds `ip`: `02:42:` and the address's
 * four bytes, as Docker makes it. A container recreated with an address that
 * another had gets that one's MAC too, so its peers' neighbour (ARP) caches
 * stay right and it is reachable at once; and the bridge's own MAC, fixed
 * this way, does not change as ports come and go.
 */
export function macForIp(ip: string): string {
  return ['02', '42', ...ip.split('.').map((byte) => Number(byte).toString(16).padStart(2, '0'))].join(':');
}

/** The bridge of a network, created (with the gateway address) when missing, e.g. after a reboot. */
export async function ensureBridge(network: NetworkRecord): Promise<void> {
  if (linkNames().includes(network.bridge)) return;
  const prefix = network.subnet.split('/')[1];
  await runBatch('ip', [
    `link add ${network.bridge} address ${macForIp(network.gateway)} type bridge`,
    `addr add ${network.gateway}/${prefix} dev ${network.bridge}`,
    // nodad: usable at once (duplicate address detection would hold it back for a second or two)
    ...(network.enableIPv6 ? [`addr add ${network.gateway6}/${network.subnet6!.split('/')[1]} dev ${network.bridge} nodad`] : []),
    `link set ${network.bridge} up`,
  ], { step: 'network' });
}

export async function deleteBridge(network: NetworkRecord): Promise<void> {
  if (linkNames().includes(network.bridge)) await runBatch('ip', [`link del ${network.bridge}`], { step: 'network' });
}

/** The host end of a container's veth: `bv` + a hash, within the 15-character limit. */
export function hostVethName(containerId: string, network: string): string {
  return `bv${createHash('sha256').update(`${containerId}/${network}`).digest('hex').slice(0, 10)}`;
}

/**
 * The iproute2 batch lines that attach an endpoint: a veth pair whose
 * container end is created directly in the namespace of `{pid}` (the
 * container's first process) with the MAC address that follows from its IP
 * address (`macForIp`), the host end on the network's bridge; the
 * address (and the IPv6 one); the default routes via the gateway for the first network that is
 * not internal. The pair disappears with the namespace. The monitor runs
 * them at every start; `connect()` runs them for a running container.
 */
export function attachCommands(containerId: string, endpoint: Endpoint, network: NetworkRecord, defaultRoute: boolean): { host: string[]; container: string[] } {
  const hostEnd = hostVethName(containerId, network.name);
  const prefix = network.subnet.split('/')[1];
  return {
    host: [`link add ${hostEnd} type veth peer name ${endpoint.interface} address ${macForIp(endpoint.ip)} netns {pid}`, `link set ${hostEnd} master ${network.bridge} up`],
    container: [
      `addr add ${endpoint.ip}/${prefix} dev ${endpoint.interface}`,
      ...(endpoint.ip6 && network.subnet6 ? [`addr add ${endpoint.ip6}/${network.subnet6.split('/')[1]} dev ${endpoint.interface} nodad`] : []),
      `link set ${endpoint.interface} up`,
      ...(defaultRoute && !network.internal ? [`route add default via ${network.gateway}`] : []),
      ...(defaultRoute && !network.internal && endpoint.ip6 ? [`route add ::/0 via ${network.gateway6} dev ${endpoint.interface}`] : []),
    ],
  };
}

/**
 * Waits until the host ends of a container's veths from its last run are
 * gone. A veth pair goes with its network namespace, but the kernel tears a
 * namespace down asynchronously after its last process exits: a start right
 * after a stop (`restart`) could find the old host end still there and fail
 * to create its new one under the same name. After `ms` the leftover is
 * deleted (deleting the host end deletes the pair).
 */
export async function awaitOldVeths(containerId: string, networks: readonly string[], ms = 2000): Promise<void> {
  const names = networks.map((network) => hostVethName(containerId, network));
  const deadline = Date.now() + ms;
  let left = names.filter((name) => linkNames().includes(name));
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    left = left.filter((name) => linkNames().includes(name));
  }
  for (const name of left) await runBatch('ip', [`link del ${name}`], { step: 'network' }).catch(() => undefined); // gone meanwhile: fine
}

/** Attaches an endpoint to the running container whose first process is `pid`. */
export async function attachEndpoint(pid: number, containerId: string, endpoint: Endpoint, network: NetworkRecord, defaultRoute: boolean): Promise<void> {
  const commands = attachCommands(containerId, endpoint, network, defaultRoute);
  const withPid = (lines: string[]) => lines.map((line) => line.replaceAll('{pid}', String(pid)));
  await runBatch('ip', withPid(commands.host), { step: 'network' });
  await runBatch('ip', withPid(commands.container), { netnsPid: pid, step: 'network' });
}

export async function detachEndpoint(pid: number, endpoint: Endpoint): Promise<void> {
  await runBatch('ip', [`link del ${endpoint.interface}`], { netnsPid: pid, step: 'network' });
}
