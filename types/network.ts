/** Networks: the public shapes. */

/** Options of `runtime.networks.create()`. */
export interface NetworkCreateOptions {
  /** A unique name (letters, digits, `_ . -`). */
  name: string;
  /** IPv4 subnet in CIDR form, e.g. `'10.90.3.0/24'`. Default: the next free /24 in 10.89.0.0/16. */
  subnet?: string;
  /** The bridge's address (the containers' gateway). Default: the subnet's first address. */
  gateway?: string;
  /** No way out: no default route in the containers, nothing forwarded off the bridge. */
  internal?: boolean;
  labels?: Record<string, string>;
}

/** A network as stored. */
export interface NetworkRecord {
  id: string;
  name: string;
  subnet: string;
  gateway: string;
  /** The Linux bridge's name (`berth-…`). */
  bridge: string;
  internal: boolean;
  labels: Record<string, string>;
  createdAt: string;
}

/** Options of `network.connect()`. */
export interface ConnectOptions {
  /** More names the container answers to on this network. */
  aliases?: string[];
  /** A fixed address in the subnet. Default: the next free one. */
  ip?: string;
}

/** A container's place on one network. */
export interface Endpoint {
  network: string;
  ip: string;
  aliases: string[];
  /** The interface inside the container (`eth0`, `eth1`, …). */
  interface: string;
}

/** `ports` values: a host port (0: any free one), `'ip:port'`, or both as an object. */
export type PortBinding = number | string | { hostIp?: string; hostPort?: number };

/** A published port as bound by the monitor. */
export interface PublishedPort {
  proto: 'tcp' | 'udp';
  containerPort: number;
  hostIp: string;
  hostPort: number;
}
