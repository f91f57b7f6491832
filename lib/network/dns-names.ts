import { isIP } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../state/atomic-file.js';

/**
 * The embedded DNS server (Docker's 127.0.0.11) of a container on bridge
 * networks is its monitor (addon/dns_server.cc). Node keeps what it answers
 * in the container's `dns-names`: one `<name> <address>` per line, the
 * container itself and every other container on its networks, by name and
 * alias (a name may come several times: every address is an answer). The
 * file is replaced atomically; the monitor reads it again when it changed.
 */
export const EMBEDDED_DNS_ADDRESS = '127.0.0.11';

/** A name and one of its addresses. */
export interface DnsName {
  name: string;
  ip: string;
}

export function dnsNamesPath(dir: string): string {
  return join(dir, 'dns-names');
}

/** Names are container names and aliases, checked where they enter: letters, digits, `_ . -`. */
export function writeDnsNames(dir: string, names: DnsName[]): void {
  const lines = names.filter((n) => /^[A-Za-z0-9_.-]+$/.test(n.name) && isIP(n.ip) !== 0).map((n) => `${n.name} ${n.ip}`);
  writeFileAtomic(dnsNamesPath(dir), lines.length ? lines.join('\n') + '\n' : '', false);
}

/**
 * The host's name servers (`nameserver` lines of its /etc/resolv.conf), where
 * the embedded server forwards the questions it cannot answer. Loopback ones
 * (systemd-resolved's 127.0.0.53) are kept: the monitor forwards from the
 * host's network namespace, where they answer.
 */
export function hostNameServers(resolvConf = '/etc/resolv.conf'): string[] {
  const text = existsSync(resolvConf) ? readFileSync(resolvConf, 'utf8') : '';
  const servers: string[] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*nameserver\s+(\S+)/.exec(line);
    if (match && isIP(match[1]!) !== 0 && !servers.includes(match[1]!)) servers.push(match[1]!);
  }
  return servers;
}
