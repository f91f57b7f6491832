import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectOptions, Endpoint, NetworkCreateOptions, NetworkInspect, NetworkRecord } from '../../types/network.js';
import type { Container } from '../container/container.js';
import type { ContainerCollection } from '../container/container-collection.js';
import { readEndpoints } from '../container/container-network.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { readJsonIfExists, writeJsonAtomic } from '../state/atomic-file.js';
import { withFileLock } from '../state/file-lock.js';
import { makePrivateDirectory } from '../state/private-state.js';
import { applyFirewall } from './firewall.js';
import { deleteBridge, ensureBridge, linkNames } from './host-links.js';
import { Ipam } from './ipam.js';
import { Network } from './network.js';
import { formatIp, overlaps, parseIp, parseSubnet, type Subnet } from './ipv4.js';
import { addressFor, formatIp6, inSubnet6, overlaps6, parseIp6, parseSubnet6, randomUlaSubnet } from './ipv6.js';
import { NETWORK_MODES } from './network-mode.js';
import { rootlessBridgeError } from './rootless-bridge.js';

/** Subnets this network namespace already routes (/proc/net/route; the default route aside). */
function routedSubnets(): Subnet[] {
  return readFileSync('/proc/net/route', 'utf8').split('\n').slice(1).filter(Boolean).flatMap((line) => {
    const [, destination, , , , , , mask] = line.split('\t');
    const hexToNumber = (hex: string) => Number(`0x${hex.match(/../g)!.reverse().join('')}`); // little-endian
    const maskNumber = hexToNumber(mask!);
    if (maskNumber === 0) return [];
    const prefix = 32 - Math.log2(2 ** 32 - maskNumber);
    return [{ network: hexToNumber(destination!), prefix, size: 2 ** (32 - prefix) }];
  });
}

/** The network containers join when they ask for `network: 'bridge'`. */
export const DEFAULT_NETWORK = 'bridge';
const POOL = { base: parseIp('10.89.0.0', 'pool'), prefix: 24, count: 256 };
const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;

/**
 * `runtime.networks`: user bridge networks (`Network`s). Each is a Linux
 * bridge with the gateway address, a subnet whose addresses are handed out by
 * a lock-guarded table, and rules in berth's own nftables table. Containers
 * join with `network: name` at create or `connect()` later.
 */
export class NetworkCollection {
  private readonly dir: string;
  /** This runtime's nftables table. */
  private readonly table: string;

  /** @internal */
  constructor(
    root: string,
    private readonly containersDir: string,
    private readonly containers: () => ContainerCollection,
    /** A rootless runtime: create() refuses (see rootless-bridge.ts). */
    private readonly rootless = false,
  ) {
    this.dir = join(root, 'networks');
    this.table = `berth_${createHash('sha256').update(root).digest('hex').slice(0, 8)}`;
    makePrivateDirectory(this.dir);
  }

  private lockPath(): string {
    return join(this.dir, 'lock');
  }

  private records(): NetworkRecord[] {
    return readdirSync(this.dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => readJsonIfExists<NetworkRecord>(join(this.dir, entry.name, 'network.json')))
      .filter((record): record is NetworkRecord => record !== undefined);
  }

  /**
   * Creates a network: validated first (TypeError), ConflictError when the
   * name is taken or the subnet overlaps another network's.
   */
  async create(options: NetworkCreateOptions): Promise<Network> {
    return new Network(this, await this.createRecord(options));
  }

  private async createRecord(options: NetworkCreateOptions): Promise<NetworkRecord> {
    if (typeof options !== 'object' || options === null) throw new TypeError('networks.create: options must be an object');
    const { name, internal = false, labels = {} } = options;
    if (typeof name !== 'string' || !NAME_PATTERN.test(name)) throw new TypeError(`network name must match ${NAME_PATTERN}, got '${String(name)}'`);
    if (this.rootless) throw rootlessBridgeError(`networks.create('${name}')`);
    if ((NETWORK_MODES as readonly string[]).includes(name)) throw new TypeError(`'${name}' is a network mode, not a name a network can have`);
    if (typeof internal !== 'boolean') throw new TypeError('internal must be a boolean');
    if (options.subnet !== undefined) parseSubnet(options.subnet, 'subnet');
    if (options.gateway !== undefined) parseIp(options.gateway, 'gateway');
    const { enableIPv6 = false } = options;
    if (typeof enableIPv6 !== 'boolean') throw new TypeError('enableIPv6 must be a boolean');
    if (!enableIPv6 && (options.subnet6 !== undefined || options.gateway6 !== undefined)) {
      throw new TypeError('subnet6 and gateway6 need enableIPv6: true');
    }
    if (options.subnet6 !== undefined) parseSubnet6(options.subnet6, 'subnet6');
    if (options.gateway6 !== undefined) parseIp6(options.gateway6, 'gateway6');
    return withFileLock(this.lockPath(), async () => {
      const existing = this.records();
      if (existing.some((n) => n.name === name)) throw new ConflictError(`a network named ${name} already exists`);
      const subnet = options.subnet ?? this.freeSubnet(existing);
      const parsed = parseSubnet(subnet, 'subnet');
      const clash = existing.find((n) => overlaps(parseSubnet(n.subnet, 'subnet'), parsed));
      if (clash) throw new ConflictError(`subnet ${subnet} overlaps network ${clash.name} (${clash.subnet})`);
      const route = routedSubnets().find((r) => overlaps(r, parsed));
      if (route) throw new ConflictError(`subnet ${subnet} overlaps a route this host already has (${formatIp(route.network)}/${route.prefix}): give another subnet`);
      const gateway = options.gateway ?? formatIp(parsed.network + 1);
      const gatewayNumber = parseIp(gateway, 'gateway');
      if (gatewayNumber <= parsed.network || gatewayNumber >= parsed.network + parsed.size - 1) {
        throw new TypeError(`gateway ${gateway} is not a usable address of ${subnet}`);
      }
      const v6 = enableIPv6 ? this.ipv6Addresses(existing, options.subnet6, options.gateway6) : {};
      const id = randomBytes(32).toString('hex');
      const record: NetworkRecord = {
        id, name, subnet, gateway, internal, enableIPv6, ...v6, labels: { ...labels },
        bridge: `berth-${createHash('sha256').update(id).digest('hex').slice(0, 8)}`,
        createdAt: new Date().toISOString(),
      };
      mkdirSync(join(this.dir, name));
      try {
        await ensureBridge(record);
        await applyFirewall(this.table, [...existing, record]);
        writeJsonAtomic(join(this.dir, name, 'network.json'), record);
      } catch (error) {
        await deleteBridge(record).catch(() => undefined);
        rmSync(join(this.dir, name), { recursive: true, force: true });
        await applyFirewall(this.table, existing).catch(() => undefined);
        throw error;
      }
      return record;
    });
  }

  /** The IPv6 subnet (a random unique local /64 by default) and gateway; ConflictError when it overlaps another network's. */
  private ipv6Addresses(existing: NetworkRecord[], wanted?: string, wantedGateway?: string): { subnet6: string; gateway6: string } {
    const subnet6 = wanted ?? randomUlaSubnet();
    const parsed = parseSubnet6(subnet6, 'subnet6');
    const clash = existing.find((n) => n.subnet6 !== undefined && overlaps6(parseSubnet6(n.subnet6, 'subnet6'), parsed));
    if (clash) throw new ConflictError(`subnet6 ${subnet6} overlaps network ${clash.name} (${clash.subnet6})`);
    const gateway6 = wantedGateway === undefined ? formatIp6(parsed.network + 1n) : formatIp6(parseIp6(wantedGateway, 'gateway6'));
    if (!inSubnet6(parseIp6(gateway6, 'gateway6'), parsed)) throw new TypeError(`gateway6 ${gateway6} is not a usable address of ${subnet6}`);
    return { subnet6, gateway6 };
  }

  private freeSubnet(existing: NetworkRecord[]): string {
    for (let i = 0; i < POOL.count; i++) {
      const candidate = `${formatIp(POOL.base + i * 256)}/${POOL.prefix}`;
      const parsed = parseSubnet(candidate, 'subnet');
      const taken = [...existing.map((n) => parseSubnet(n.subnet, 'subnet')), ...routedSubnets()];
      if (!taken.some((other) => overlaps(other, parsed))) return candidate;
    }
    throw new ConflictError('no free /24 left in 10.89.0.0/16: give a subnet');
  }

  /**
   * The network named `name`.
   * @throws NotFoundError
   */
  async get(name: string): Promise<Network> {
    return new Network(this, await this.record(name));
  }

  /** @internal The stored record of the network `name`. @throws NotFoundError */
  async record(name: string): Promise<NetworkRecord> {
    const record = NAME_PATTERN.test(name) ? readJsonIfExists<NetworkRecord>(join(this.dir, name, 'network.json')) : undefined;
    if (!record) throw new NotFoundError(`no such network: ${name}`);
    return record;
  }

  /** The network, creating the default `bridge` network on first use; its bridge exists afterwards. */
  async ensure(name: string): Promise<NetworkRecord> {
    let record: NetworkRecord;
    try {
      record = await this.record(name);
    } catch (error) {
      if (name !== DEFAULT_NETWORK) throw error;
      record = await this.createRecord({ name }).catch(async (e: unknown) => {
        if (e instanceof ConflictError) return this.record(name); // created by someone else meanwhile
        throw e;
      });
    }
    await ensureBridge(record);
    return record;
  }

  /**
   * @internal The network, with its bridge and this runtime's firewall table
   * in place (both are gone after a reboot until something needs them).
   */
  async ensureReady(name: string): Promise<NetworkRecord> {
    const record = await this.record(name);
    if (!linkNames().includes(record.bridge)) {
      await withFileLock(this.lockPath(), async () => {
        await ensureBridge(record);
        await applyFirewall(this.table, this.records());
      });
    }
    return record;
  }

  /** Every network, or those with all of `labels`. */
  async list(options: { labels?: Record<string, string> } = {}): Promise<Network[]> {
    return this.records()
      .filter((n) => Object.entries(options.labels ?? {}).every(([k, v]) => n.labels[k] === v))
      .map((record) => new Network(this, record));
  }

  /** @internal `network.inspect()`. */
  async inspectNetwork(name: string): Promise<NetworkInspect> {
    const record = await this.record(name);
    const containers = (await this.containersOn(name)).flatMap((container) => {
      const endpoint = readEndpoints(join(this.containersDir, container.id)).find((e) => e.network === name);
      return endpoint ? [{ id: container.id, name: container.name, ...endpoint }] : [];
    });
    return { ...record, labels: { ...record.labels }, containers };
  }

  /** @internal The containers (in any state) holding an address on the network `name`. */
  async containersOn(name: string): Promise<Container[]> {
    const members = this.ipam(await this.record(name)).members();
    const found = await Promise.all(members.map((id) => this.containers().get(id).catch(() => undefined)));
    return found.filter((container): container is Container => container !== undefined);
  }

  /** @internal */
  ipam(record: NetworkRecord): Ipam {
    return new Ipam(join(this.dir, record.name), record.subnet, record.gateway, this.containersDir);
  }

  /** @internal An address on `network` for a container. */
  async allocate(network: NetworkRecord, containerId: string, options: ConnectOptions, index: number): Promise<Endpoint> {
    const aliases = options.aliases ?? [];
    if (!Array.isArray(aliases) || !aliases.every((a) => typeof a === 'string' && NAME_PATTERN.test(a))) {
      throw new TypeError('aliases must be an array of names');
    }
    const ip = await this.ipam(network).allocate(containerId, options.ip);
    const ip6 = network.enableIPv6 && network.subnet6 ? { ip6: addressFor(network.subnet6, ip) } : {};
    return { network: network.name, ip, ...ip6, aliases, interface: `eth${index}` };
  }

  /**
   * Removes a network: its bridge, its rules, its state.
   * @throws ConflictError while containers are attached; NotFoundError when
   *   there is no such network (unless `missingOk`).
   */
  async remove(name: string, options: { missingOk?: boolean } = {}): Promise<void> {
    await withFileLock(this.lockPath(), async () => {
      let record: NetworkRecord;
      try {
        record = await this.record(name);
      } catch (error) {
        if (options.missingOk && error instanceof NotFoundError) return;
        throw error;
      }
      const members = this.ipam(record).members();
      if (members.length > 0) {
        throw new ConflictError(`network ${name} has ${members.length} container(s) attached: remove or disconnect them first`);
      }
      await deleteBridge(record);
      await applyFirewall(this.table, this.records().filter((n) => n.name !== name));
      rmSync(join(this.dir, name), { recursive: true, force: true });
    });
  }

  /**
   * Connects a container (a `Container`, or a name or id) to the network
   * `name` (see `container.connect`).
   */
  async connect(name: string, container: Container | string, options: ConnectOptions = {}): Promise<Endpoint> {
    return (await this.resolve(container)).connect(name, options);
  }

  /** Disconnects a container (a `Container`, or a name or id) from the network `name`. */
  async disconnect(name: string, container: Container | string): Promise<void> {
    return (await this.resolve(container)).disconnect(name);
  }

  private async resolve(container: Container | string): Promise<Container> {
    return typeof container === 'string' ? this.containers().get(container) : container;
  }

  /** @internal Members of a network (container ids holding an address). */
  members(record: NetworkRecord): string[] {
    return this.ipam(record).members();
  }
}
