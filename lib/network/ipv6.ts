import { randomBytes } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { parseIp } from './ipv4.js';

/** IPv6 addresses and subnets of bridge networks, as 128-bit numbers. */

const ALL = (1n << 128n) - 1n;

export function parseIp6(ip: string, what: string): bigint {
  if (typeof ip !== 'string' || !isIPv6(ip) || ip.includes('%') || ip.includes('.')) {
    throw new TypeError(`${what} must be an IPv6 address like fd00:1::1, got '${String(ip)}'`);
  }
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.reduce((n, group) => (n << 16n) | BigInt(`0x${group}`), 0n);
}

/** The short form (RFC 5952, as the URL parser writes it). */
export function formatIp6(n: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => ((n >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

export interface Subnet6 {
  network: bigint;
  prefix: number;
}

/**
 * An IPv6 subnet for a bridge network: /48 to /80, so that the 48 bits of a
 * container's MAC address fit below the prefix (`addressFor`).
 */
export function parseSubnet6(cidr: string, what: string): Subnet6 {
  const [ip, prefixText, extra] = typeof cidr === 'string' ? cidr.split('/') : [];
  const prefix = Number(prefixText);
  if (!ip || extra !== undefined || !/^\d+$/.test(prefixText ?? '') || prefix < 48 || prefix > 80) {
    throw new TypeError(`${what} must be an IPv6 CIDR with a prefix from /48 to /80, like fd00:1:2:3::/64, got '${String(cidr)}'`);
  }
  const network = parseIp6(ip, what);
  const hostMask = ALL >> BigInt(prefix);
  if ((network & hostMask) !== 0n) throw new TypeError(`${what} '${cidr}' has host bits set; the network address is ${formatIp6(network & ~hostMask & ALL)}/${prefix}`);
  return { network, prefix };
}

export function inSubnet6(ip: bigint, subnet: Subnet6): boolean {
  return ip >> BigInt(128 - subnet.prefix) === subnet.network >> BigInt(128 - subnet.prefix) && ip !== subnet.network;
}

export function overlaps6(a: Subnet6, b: Subnet6): boolean {
  const shift = BigInt(128 - Math.min(a.prefix, b.prefix));
  return a.network >> shift === b.network >> shift;
}

/** A random unique local /64: `fd`, a random 40-bit global id, subnet 0 (RFC 4193). */
export function randomUlaSubnet(): string {
  const id = randomBytes(5);
  const network = (0xfdn << 120n) | (BigInt(`0x${id.toString('hex')}`) << 80n);
  return `${formatIp6(network)}/64`;
}

/**
 * A container's IPv6 address on a network: the subnet's prefix and the 48
 * bits of its MAC address (`02:42:` and its IPv4 address), Docker's rule
 * for IPv6 bridges (`fd00::242:a59:2` for 10.89.0.2). Unique as the IPv4
 * address is, so the IPv4 allocation covers both.
 */
export function addressFor(subnet6: string, ipv4: string): string {
  const { network } = parseSubnet6(subnet6, 'subnet6');
  return formatIp6(network | (0x0242n << 32n) | BigInt(parseIp(ipv4, 'ip')));
}
