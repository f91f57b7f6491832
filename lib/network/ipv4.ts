/** IPv4 addresses and CIDR subnets, as numbers. */

export function parseIp(ip: string, what: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
    throw new TypeError(`${what} must be an IPv4 address like 10.0.0.1, got '${ip}'`);
  }
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function formatIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

export interface Subnet {
  network: number;
  prefix: number;
  /** Number of addresses. */
  size: number;
}

export function parseSubnet(cidr: string, what: string): Subnet {
  const [ip, prefixText] = cidr.split('/');
  const prefix = Number(prefixText);
  if (!ip || !Number.isInteger(prefix) || prefix < 8 || prefix > 30) {
    throw new TypeError(`${what} must be an IPv4 CIDR with a prefix from /8 to /30, like 10.90.0.0/24, got '${cidr}'`);
  }
  const size = 2 ** (32 - prefix);
  const network = parseIp(ip, what);
  if (network % size !== 0) throw new TypeError(`${what} '${cidr}' has host bits set; the network address is ${formatIp(network - (network % size))}/${prefix}`);
  return { network, prefix, size };
}

export function inSubnet(ip: number, subnet: Subnet): boolean {
  return ip > subnet.network && ip < subnet.network + subnet.size - 1;
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  return a.network < b.network + b.size && b.network < a.network + a.size;
}
