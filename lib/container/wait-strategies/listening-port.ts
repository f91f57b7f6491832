import { nativeAddon } from '../../native/addon.js';
import type { Container } from '../container.js';
import { checkInterval, pollUntil, type WaitStrategy } from './wait-strategy.js';

/** A container port as `{ port, proto }`: `6379`, `'6379'`, `'53/udp'`. */
export interface ContainerPort {
  port: number;
  proto: 'tcp' | 'udp';
}

/** Parses `6379`, `'6379/tcp'`, `'53/udp'`. */
export function parseContainerPort(value: number | string, what: string): ContainerPort {
  const match = /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(String(value));
  const port = match ? Number(match[1]) : NaN;
  if (!match || port < 1 || port > 65535) throw new TypeError(`${what}: '${String(value)}' is not a port such as 6379, '6379/tcp' or '53/udp'`);
  return { port, proto: (match[2] as 'tcp' | 'udp' | undefined) ?? 'tcp' };
}

/**
 * The ports a process's network namespace has a listening socket on (UDP: a
 * bound socket), IPv4 and IPv6, asked of the kernel with sock_diag from a
 * socket made in that namespace (the addon's `listeningPorts`): nothing runs
 * inside the container, and it costs microseconds, where reading
 * `/proc/<pid>/net/tcp` walks the host's whole connection table.
 */
export function listeningPorts(pid: number, proto: 'tcp' | 'udp'): Set<number> {
  return new Set(nativeAddon().listeningPorts(pid, proto === 'udp'));
}

/** Options of {@link Wait.forListeningPorts}. */
export interface ListeningPortOptions {
  /** Milliseconds between looks. Default 2. */
  interval?: number;
}

/** Waits until the container's network namespace has a listening socket on every port. */
export class ListeningPortWait implements WaitStrategy {
  readonly description: string;
  private readonly ports: ContainerPort[] | undefined;
  private readonly interval: number;

  constructor(ports: (number | string)[], options: ListeningPortOptions = {}) {
    this.ports = ports.length === 0 ? undefined : ports.map((p) => parseContainerPort(p, 'Wait.forListeningPorts'));
    this.interval = checkInterval(options.interval, 'Wait.forListeningPorts: interval', 2);
    this.description = this.ports ? `port${this.ports.length > 1 ? 's' : ''} ${this.ports.map((p) => `${p.port}/${p.proto}`).join(', ')} listening` : 'the published ports listening';
  }

  async waitUntilReady(container: Container, signal: AbortSignal): Promise<void> {
    const info = await container.inspect();
    const ports = this.ports ?? info.ports.map((p) => ({ port: p.containerPort, proto: p.proto }));
    if (ports.length === 0) throw new TypeError(`Wait.forListeningPorts() without ports needs published ports: container ${container.name} has none`);
    let pid = info.state.pid;
    await pollUntil(async () => {
      if (pid === null) return false;
      try {
        const listening = { tcp: listeningPorts(pid, 'tcp'), udp: ports.some((p) => p.proto === 'udp') ? listeningPorts(pid, 'udp') : new Set<number>() };
        return ports.every((p) => listening[p.proto].has(p.port));
      } catch {
        pid = (await container.inspect()).state.pid; // a restart: the process changed
        return false;
      }
    }, this.interval, signal);
  }
}
