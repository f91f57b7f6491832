import type { Container } from '../container/container.js';
import type { ConnectOptions, Endpoint, NetworkInspect, NetworkRecord } from '../../types/network.js';
import type { NetworkCollection } from './network-collection.js';

/**
 * A bridge network: a Linux bridge with the gateway address, a subnet whose
 * addresses go to the containers on it, and rules in the runtime's nftables
 * table. Containers on it reach each other by name and alias. Get one from
 * `runtime.networks.create()`, `get()` or `list()`; `await using` removes it
 * at the end of the scope.
 *
 * @example
 * ```ts
 * await using app = await runtime.networks.create({ name: 'app' });
 * await using db = await runtime.containers.create({ image: 'localhost/busybox', name: 'db', cmd: ['sleep', '60'] });
 * await app.connect(db, { aliases: ['database'] });
 * console.log((await app.inspect()).containers); // [ { id: '…', name: 'db', ip: '10.89.0.2', aliases: [ 'database' ], interface: 'eth0' } ]
 * ```
 */
export class Network implements AsyncDisposable {
  /** @internal */
  constructor(
    private readonly collection: NetworkCollection,
    private readonly record: NetworkRecord,
  ) {}

  /** Its unique id (64 hex characters). */
  get id(): string {
    return this.record.id;
  }

  /** Its unique name. */
  get name(): string {
    return this.record.name;
  }

  /** Its IPv4 subnet, in CIDR form (`10.89.0.0/24`). */
  get subnet(): string {
    return this.record.subnet;
  }

  /** The bridge's address: the containers' default route. */
  get gateway(): string {
    return this.record.gateway;
  }

  /** The Linux bridge's name (`berth-` and 8 hex characters). */
  get bridge(): string {
    return this.record.bridge;
  }

  /** No way out: no default route in its containers, nothing forwarded off the bridge. */
  get internal(): boolean {
    return this.record.internal;
  }

  /** Whether it has IPv6 (`subnet6`, `gateway6`). */
  get enableIPv6(): boolean {
    return this.record.enableIPv6 ?? false;
  }

  /** Its IPv6 subnet, in CIDR form (`fd12:3456:789a::/64`), with `enableIPv6`. */
  get subnet6(): string | undefined {
    return this.record.subnet6;
  }

  /** The bridge's IPv6 address (the containers' IPv6 default route), with `enableIPv6`. */
  get gateway6(): string | undefined {
    return this.record.gateway6;
  }

  /** Its labels. */
  get labels(): Readonly<Record<string, string>> {
    return this.record.labels;
  }

  /** When it was created (RFC 3339). */
  get createdAt(): string {
    return this.record.createdAt;
  }

  /** Everything about the network, and the containers (in any state) on it with their addresses. */
  async inspect(): Promise<NetworkInspect> {
    return this.collection.inspectNetwork(this.name);
  }

  /** The containers (in any state) on the network. */
  async containers(): Promise<Container[]> {
    return this.collection.containersOn(this.name);
  }

  /**
   * Puts a container (a `Container`, or a name or id) on the network, also
   * while it runs: see `container.connect()`.
   * @throws ConflictError when it is already on it; NotFoundError when there is no such container.
   */
  async connect(container: Container | string, options: ConnectOptions = {}): Promise<Endpoint> {
    return this.collection.connect(this.name, container, options);
  }

  /** Takes a container (a `Container`, or a name or id) off the network: see `container.disconnect()`. */
  async disconnect(container: Container | string): Promise<void> {
    return this.collection.disconnect(this.name, container);
  }

  /**
   * Removes the network: its bridge, its rules, its state.
   * @throws ConflictError while containers are on it; NotFoundError when it is gone.
   */
  async remove(): Promise<void> {
    await this.collection.remove(this.name);
  }

  /** `await using`: removes the network unless it is gone already. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.collection.remove(this.name, { missingOk: true });
  }

  /** The stored record (what `JSON.stringify` shows). */
  toJSON(): NetworkRecord {
    return { ...this.record, labels: { ...this.record.labels } };
  }
}
