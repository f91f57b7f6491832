/** A service's `ports`: short (`[ip:][host:]container[/proto]`, ranges) and long syntax → StackPort. */
import type { StackPort } from '../../types/stack.js';
import { isMap, readInteger, readString, refuseUnknownKeys, shown, type Where } from './compose-values.js';

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** `'8000'` or `'8000-8002'` → [first, last]; empty → undefined. */
function portRange(text: string, where: Where, allowZero: boolean): [number, number] | undefined {
  if (text === '') return undefined;
  const match = /^(\d+)(?:-(\d+))?$/.exec(text);
  const first = Number(match?.[1]);
  const last = match?.[2] === undefined ? first : Number(match[2]);
  if (!match || first > 65535 || last > 65535 || last < first || (!allowZero && first === 0)) where.fail(`${shown(text)} is not a port or port range (1-65535)`);
  return [first, last];
}

function protocol(value: string, where: Where): 'tcp' | 'udp' {
  if (value !== 'tcp' && value !== 'udp') where.fail(`protocol must be tcp or udp, got ${shown(value)}`);
  return value;
}

function shortPort(value: string, where: Where): StackPort[] {
  const [spec, proto = 'tcp', ...extra] = value.split('/');
  if (extra.length) where.fail(`${shown(value)} is not a port mapping`);
  const parts = spec!.split(':');
  if (parts.length > 3) where.fail(`${shown(value)} is not [host_ip:][published:]target[/protocol]`);
  const target = portRange(parts.at(-1)!, where, false);
  if (!target) where.fail(`${shown(value)} has no container port`);
  const published = parts.length >= 2 ? portRange(parts.at(-2)!, where, true) : undefined;
  const hostIp = parts.length === 3 ? parts[0]! : undefined;
  if (hostIp !== undefined && !IPV4.test(hostIp)) where.fail(`host address ${shown(hostIp)} is not an IPv4 address`);
  const count = target[1] - target[0] + 1;
  if (published && published[0] !== 0 && published[1] - published[0] + 1 !== count) where.fail(`${shown(value)}: the host and container ranges differ in size`);
  return Array.from({ length: count }, (_, i) => ({
    target: target[0] + i,
    published: published && published[0] !== 0 ? published[0] + i : 0,
    ...(hostIp ? { host_ip: hostIp } : {}),
    protocol: protocol(proto, where),
  }));
}

const LONG_KEYS = ['target', 'published', 'host_ip', 'protocol', 'mode', 'name', 'app_protocol'];

function longPort(value: Record<string, unknown>, where: Where): StackPort {
  refuseUnknownKeys(value, LONG_KEYS, where);
  if (value.mode !== undefined && value.mode !== 'host' && value.mode !== 'ingress') where.at('mode').fail('must be host or ingress');
  const target = readInteger(value.target, where.at('target'), 1);
  if (target > 65535) where.at('target').fail('must be a port 1-65535');
  const published = value.published === undefined ? 0 : portRange(readString(value.published, where.at('published')), where.at('published'), true)?.[0] ?? 0;
  const hostIp = value.host_ip === undefined ? undefined : readString(value.host_ip, where.at('host_ip'));
  if (hostIp !== undefined && !IPV4.test(hostIp)) where.at('host_ip').fail(`${shown(hostIp)} is not an IPv4 address`);
  return { target, published, ...(hostIp ? { host_ip: hostIp } : {}), protocol: protocol(value.protocol === undefined ? 'tcp' : readString(value.protocol, where.at('protocol')), where.at('protocol')) };
}

/** The service's `ports`, every entry checked. */
export function readPorts(value: unknown, where: Where): StackPort[] {
  if (!Array.isArray(value)) where.fail(`must be a list, got ${shown(value)}`);
  return value.flatMap((item, i) => (isMap(item) ? [longPort(item, where.at(i))] : shortPort(readString(item, where.at(i)), where.at(i))));
}
