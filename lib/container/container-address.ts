import type { PublishedPort } from '../../types/network.js';
import { InvalidStateError } from '../errors.js';
import { readJsonIfExists } from '../state/atomic-file.js';
import type { ContainerHandle } from './container-handle.js';
import { readEndpoints } from './container-network.js';
import type { ContainerPort } from './wait-strategies/listening-port.js';

/** Where this host reaches a container port: an address and a port. */
export interface ReachableAddress {
  /** The address to connect to. */
  host: string;
  /** The port to connect to. */
  port: number;
  /** `published`: the monitor's host port; `network`: the container's address on a bridge network; `host`: the host's network. */
  via: 'published' | 'network' | 'host';
}

/** A published port's host address as a client dials it (`0.0.0.0` → `127.0.0.1`). */
function dialable(hostIp: string): string {
  return hostIp === '0.0.0.0' ? '127.0.0.1' : hostIp;
}

/** The published ports of the running container, as its monitor bound them. */
function publishedPorts(handle: ContainerHandle): PublishedPort[] {
  const state = handle.state();
  if (state.status !== 'running') throw new InvalidStateError(`container ${handle.name} is not running`, { containerId: handle.id });
  return readJsonIfExists<{ ports?: PublishedPort[] }>(handle.paths.monitor)?.ports ?? [];
}

/**
 * How this host reaches `port` of the running container: through its
 * published port when there is one, else at its address on its first bridge
 * network, else (with `network: 'host'`) on 127.0.0.1.
 * @throws InvalidStateError when it is not running, or the port is not reachable from the host
 */
export function containerAddress(handle: ContainerHandle, port: ContainerPort): ReachableAddress {
  const published = publishedPorts(handle);
  const binding = published.find((p) => p.containerPort === port.port && p.proto === port.proto);
  if (binding) return { host: dialable(binding.hostIp), port: binding.hostPort, via: 'published' };
  const endpoint = readEndpoints(handle.paths.dir)[0];
  if (endpoint) return { host: endpoint.ip, port: port.port, via: 'network' };
  if (handle.config.network === 'host') return { host: '127.0.0.1', port: port.port, via: 'host' };
  throw new InvalidStateError(
    `port ${port.port}/${port.proto} of container ${handle.name} is not reachable from the host: publish it (ports) or put the container on a bridge network`,
    { containerId: handle.id },
  );
}

/** The host name or address to connect to the container from this host (see {@link containerAddress}). */
export function containerHost(handle: ContainerHandle): string {
  const published = publishedPorts(handle);
  if (published[0]) return dialable(published[0].hostIp);
  return readEndpoints(handle.paths.dir)[0]?.ip ?? '127.0.0.1';
}
