import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Endpoint } from '../../types/network.js';
import { EMBEDDED_DNS_ADDRESS } from './dns-names.js';
import { SLIRP4NETNS } from './network-mode.js';

/** A container as its network neighbours see it. */
export interface HostEntry {
  ip: string;
  /** On a network with IPv6: a name server answer (AAAA), not a hosts line. */
  ip6?: string;
  names: string[];
}

/** The files berth bind-mounts over /etc/hosts, /etc/hostname and /etc/resolv.conf, in the container's directory. */
export function etcFiles(dir: string) {
  return { hosts: join(dir, 'hosts'), hostname: join(dir, 'hostname'), resolvConf: join(dir, 'resolv.conf') };
}

/**
 * Writes /etc/hosts for a container: localhost, itself, and every other
 * container on its networks by name and alias. Written in place (same
 * inode), so a running container sees updates through its bind mount.
 */
export function writeHostsFile(dir: string, hostname: string, name: string, own: Endpoint[], neighbours: HostEntry[]): void {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
  const ownNames = [...new Set([hostname, name])].join(' ');
  if (own.length === 0) lines.push(`127.0.1.1\t${ownNames}`);
  for (const endpoint of own) lines.push(`${endpoint.ip}\t${[ownNames, ...endpoint.aliases].join(' ')}`);
  for (const endpoint of own) if (endpoint.ip6) lines.push(`${endpoint.ip6}\t${[ownNames, ...endpoint.aliases].join(' ')}`);
  for (const entry of neighbours) lines.push(`${entry.ip}\t${entry.names.join(' ')}`);
  writeFileSync(etcFiles(dir).hosts, lines.join('\n') + '\n');
}

/**
 * Where a container's /etc/resolv.conf points: the host's name servers as
 * they are (`'host'`, with the host's network), the host's without loopback
 * ones it cannot reach from a namespace of its own (`'host-reachable'`), or
 * the embedded DNS server its monitor serves on bridge networks
 * (`'embedded'`: `nameserver 127.0.0.11`, the host's search domains and
 * options, `options ndots:0`, as Docker writes it), or slirp4netns's
 * forwarder (`'slirp4netns'`: `nameserver 10.0.2.3` and the host's search
 * domains and options, as Podman writes it).
 */
export type ResolverMode = 'host' | 'host-reachable' | 'embedded' | 'slirp4netns';

/** /etc/hostname and /etc/resolv.conf. */
export function writeNameFiles(dir: string, hostname: string, resolver: ResolverMode): void {
  const files = etcFiles(dir);
  writeFileSync(files.hostname, `${hostname}\n`);
  const host = existsSync('/etc/resolv.conf') ? readFileSync('/etc/resolv.conf', 'utf8') : '';
  const lines = host.split('\n');
  let kept: string[];
  const rest = lines.filter((line) => /^\s*(search|domain|options)\s/.test(line));
  if (resolver === 'embedded') {
    const ndots = rest.some((line) => /^\s*options\s.*\bndots:/.test(line));
    kept = [`nameserver ${EMBEDDED_DNS_ADDRESS}`, ...rest, ...(ndots ? [] : ['options ndots:0'])];
  } else if (resolver === 'slirp4netns') {
    kept = [`nameserver ${SLIRP4NETNS.nameserver}`, ...rest];
  } else {
    kept = lines.filter((line) => resolver === 'host' || !/^\s*nameserver\s+(127\.|::1)/.test(line));
  }
  writeFileSync(files.resolvConf, kept.join('\n').trim() + '\n');
}
