import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConflictError } from '../errors.js';
import { readJsonIfExists, writeJsonAtomic } from '../state/atomic-file.js';
import { withFileLock } from '../state/file-lock.js';
import { formatIp, inSubnet, parseIp, parseSubnet } from './ipv4.js';

/** `<network-dir>/ipam.json`: address → container id, and the address handed out last. */
interface IpamTable {
  addresses: Record<string, string>;
  last?: string;
}

/**
 * Address management for one network, safe across processes: every change
 * happens under the network's file lock, and the table is replaced
 * atomically. Addresses of containers that no longer exist are taken back.
 * Free addresses are handed out in turn after the last one given (as
 * Docker's allocator does), so an address just freed is the last to come
 * back: whoever still caches its name or its neighbour entry meets nobody
 * else there soon after.
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

  private load(): IpamTable {
    const stored = readJsonIfExists<IpamTable | Record<string, string>>(this.file) ?? {};
    // before the `last` cursor, ipam.json was the address map itself
    const table: IpamTable = typeof stored.addresses === 'object' ? (stored as IpamTable) : { addresses: stored as Record<string, string> };
    for (const [ip, id] of Object.entries(table.addresses)) {
      if (!existsSync(join(this.containersDir, id))) delete table.addresses[ip]; // its container is gone
    }
    return table;
  }

  /** An address for `containerId`: `wanted`, or the next free one after the last handed out. */
  allocate(containerId: string, wanted?: string): Promise<string> {
    return withFileLock(join(this.dir, 'lock'), () => {
      const table = this.load();
      const subnet = parseSubnet(this.subnet, 'subnet');
      const gateway = parseIp(this.gateway, 'gateway');
      let ip: number | undefined;
      if (wanted !== undefined) {
        ip = parseIp(wanted, 'ip');
        if (!inSubnet(ip, subnet) || ip === gateway) throw new TypeError(`ip ${wanted} is not a usable address of ${this.subnet}`);
        const owner = table.addresses[wanted];
        if (owner && owner !== containerId) throw new ConflictError(`address ${wanted} is in use on this network`);
      } else {
        const first = subnet.network + 1;
        const hosts = subnet.size - 2;
        const last = table.last === undefined ? undefined : parseIp(table.last, 'ipam.json last');
        const start = last !== undefined && inSubnet(last, subnet) ? last - first + 1 : 0;
        for (let step = 0; step < hosts; step++) {
          const candidate = first + ((start + step) % hosts);
          if (candidate !== gateway && !table.addresses[formatIp(candidate)]) {
            ip = candidate;
            break;
          }
        }
        if (ip === undefined) throw new ConflictError(`no free address left in ${this.subnet}`);
        table.last = formatIp(ip);
      }
      table.addresses[formatIp(ip)] = containerId;
      writeJsonAtomic(this.file, table);
      return formatIp(ip);
    });
  }

  /** Gives back every address of `containerId`. */
  release(containerId: string): Promise<void> {
    return withFileLock(join(this.dir, 'lock'), () => {
      const table = this.load();
      for (const [ip, id] of Object.entries(table.addresses)) if (id === containerId) delete table.addresses[ip];
      writeJsonAtomic(this.file, table);
    });
  }

  /** Containers holding an address here. */
  members(): string[] {
    return [...new Set(Object.values(this.load().addresses))];
  }
}
