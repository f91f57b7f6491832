import type { PortBinding, PublishedPort } from '../../types/network.js';
import { parseIp } from './ipv4.js';

/** The default host address of published ports: loopback only, never the world by accident. */
export const DEFAULT_HOST_IP = '127.0.0.1';

function port(value: unknown, what: string, allowZero: boolean): number {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new TypeError(`${what} must be a port number`);
  if (n < (allowZero ? 0 : 1) || n > 65535) throw new RangeError(`${what} must be between ${allowZero ? 0 : 1} and 65535, got ${n}`);
  return n;
}

/**
 * `{ '80/tcp': 8080, '53/udp': '127.0.0.1:0' }` → the list the monitor binds.
 * @throws TypeError/RangeError naming the entry.
 */
export function parsePorts(ports: Record<string, PortBinding> | undefined): PublishedPort[] {
  if (ports === undefined) return [];
  if (typeof ports !== 'object' || ports === null || Array.isArray(ports)) throw new TypeError("ports must be an object like { '80/tcp': 8080 }");
  return Object.entries(ports).map(([key, binding]) => {
    const match = /^(\d+)(?:\/(tcp|udp))?$/.exec(key);
    if (!match) throw new TypeError(`ports: '${key}' must be 'PORT', 'PORT/tcp' or 'PORT/udp'`);
    const containerPort = port(match[1], `ports['${key}']: container port`, false);
    let hostIp = DEFAULT_HOST_IP;
    let hostPort: number;
    if (typeof binding === 'number') {
      hostPort = port(binding, `ports['${key}']`, true);
    } else if (typeof binding === 'string') {
      const [ip, p] = binding.includes(':') ? binding.split(':') : [undefined, binding];
      if (ip !== undefined) hostIp = ip;
      hostPort = port(p, `ports['${key}']`, true);
    } else if (typeof binding === 'object' && binding !== null) {
      hostIp = binding.hostIp ?? DEFAULT_HOST_IP;
      hostPort = port(binding.hostPort ?? 0, `ports['${key}'].hostPort`, true);
    } else {
      throw new TypeError(`ports['${key}'] must be a host port, 'ip:port', or { hostIp, hostPort }`);
    }
    parseIp(hostIp, `ports['${key}'] host address`);
    return { proto: (match[2] ?? 'tcp') as 'tcp' | 'udp', containerPort, hostIp, hostPort };
  });
}
