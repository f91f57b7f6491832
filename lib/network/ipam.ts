import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConflictError } from '../errors.js';
import { readJsonIfExists, writeJsonAtomic } from '../state/atomic-file.js';
import { withFileLock } from '../state/file-lock.js';
import { formatIp, inSubnet, parseIp, parseSubnet } from './ipv4.js';

/** `<network-dir>/ipam.json`: address → container id. */
type Allocations = Record<string, string>;

/**
 * Address management for one network, safe across processes: every change
 * happens under the network's file lock, and the table is replaced
 * atomically. Addresses of containers that no longer exist are taken back.
 */
export class Ipam {
  constructor(
    private readonly dir: string,
    private readonly subnet: string,
    private readonly gateway: string,
    private readonly containersDir: string,
  ) {}

  private get file(): string {
    return join(this.dir, 'ipam.json');
  }

  private load(): Allocations {
    const table = readJsonIfExists<Allocations>(this.file) ?? {};
    for (const [ip, id] of Object.entries(table)) {
      if (!existsSync(join(this.containersDir, id))) delete table[ip]; // its container is gone
    }
    return table;
  }

  /** An address for `containerId`: `wanted`, or the lowest free one. */
  allocate(containerId: string, wanted?: string): Promise<string> {
    return withFileLock(join(this.dir, 'lock'), () => {
      const table = this.load();
      const subnet = parseSubnet(this.subnet, 'subnet');
      const gateway = parseIp(this.gateway, 'gateway');
      let ip: number | undefined;
      if (wanted !== undefined) {
        ip = parseIp(wanted, 'ip');
        if (!inSubnet(ip, subnet) || ip === gateway) throw new TypeError(`ip ${wanted} is not a usable address of ${this.subnet}`);
        const owner = table[wanted];
        if (owner && owner !== containerId) throw new ConflictError(`address ${wanted} is in use on this network`);
      } else {
        for (let candidate = subnet.network + 1; candidate < subnet.network + subnet.size - 1; candidate++) {
          if (candidate !== gateway && !table[formatIp(candidate)]) {
            ip = candidate;
            break;
          }
        }
        if (ip === undefined) throw new ConflictError(`no free address left in ${this.subnet}`);
      }
      table[formatIp(ip)] = containerId;
      writeJsonAtomic(this.file, table);
      return formatIp(ip);
    });
  }

  /** Gives back every address of `containerId`. */
  release(containerId: string): Promise<void> {
    return withFileLock(join(this.dir, 'lock'), () => {
      const table = this.load();
      for (const [ip, id] of Object.entries(table)) if (id === containerId) delete table[ip];
      writeJsonAtomic(this.file, table);
    });
  }

  /** Containers holding an address here. */
  members(): string[] {
    return [...new Set(Object.values(this.load()))];
  }
}
