import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import type { Slirp4netnsNetwork } from '../../types/network.js';
import { ContainerSetupError } from '../errors.js';

/**
 * The `network` option's modes: `none`, `host`, `container:<other>`,
 * `slirp4netns[:allow_host_loopback=true|false]` (Podman's spelling), and
 * anything else is the name of a bridge network.
 */

/** The names that are modes, never a network's name. */
export const NETWORK_MODES = ['none', 'host', 'container', 'slirp4netns'] as const;

/** slirp4netns's fixed addresses (its defaults: 10.0.2.0/24). */
export const SLIRP4NETNS = { ip: '10.0.2.100', gateway: '10.0.2.2', nameserver: '10.0.2.3', interface: 'tap0', mtu: 65520 } as const;

/** The `network` value names a bridge network (not a mode). */
export function isBridgeNetwork(network: string): boolean {
  return !['none', 'host'].includes(network) && !network.startsWith('container:') && parseSlirp4netns(network) === undefined;
}

/**
 * `slirp4netns` or `slirp4netns:allow_host_loopback=true|false`: the
 * options; undefined for any other mode.
 * @throws TypeError for another slirp4netns option (berth sets the rest itself)
 */
export function parseSlirp4netns(network: string): { allowHostLoopback: boolean } | undefined {
  if (network === 'slirp4netns') return { allowHostLoopback: false };
  if (!network.startsWith('slirp4netns:')) return undefined;
  const match = /^allow_host_loopback=(true|false)$/.exec(network.slice('slirp4netns:'.length));
  if (!match) {
    throw new TypeError(`network '${network}': the only slirp4netns option berth takes is allow_host_loopback=true|false`);
  }
  return { allowHostLoopback: match[1] === 'true' };
}

/** What inspect shows of a slirp4netns container's network; null in other modes. */
export function slirp4netnsInspect(network: string): Slirp4netnsNetwork | null {
  const options = parseSlirp4netns(network);
  return options ? { ...SLIRP4NETNS, allowHostLoopback: options.allowHostLoopback } : null;
}

/**
 * The slirp4netns executable, from `PATH` (as Podman finds it), at every
 * start: the monitor runs it at each run of the container.
 * @throws ContainerSetupError `ERR_SLIRP4NETNS_NOT_FOUND` (step `network`) when there is none
 */
export function findSlirp4netns(containerId: string): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!isAbsolute(dir)) continue; // a relative PATH entry would depend on the working directory
    const candidate = join(dir, 'slirp4netns');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new ContainerSetupError(
    "network 'slirp4netns' needs the slirp4netns program, and there is none on PATH: install the slirp4netns package (apt-get install slirp4netns, dnf install slirp4netns)",
    { code: 'ERR_SLIRP4NETNS_NOT_FOUND', step: 'network', path: 'slirp4netns', containerId },
  );
}
