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
  /**
   * IPv6 as well: the bridge gets `gateway6`, every container an address of
   * `subnet6` (its MAC address below the prefix, as Docker does) and an
   * AAAA record in the embedded DNS server. Default `false`.
   */
  enableIPv6?: boolean;
  /** IPv6 subnet, `/48` to `/80`, e.g. `'fd00:1:2:3::/64'`. Default: a random unique local /64 (`fdXX:XXXX:XXXX::/64`). Needs `enableIPv6`. */
  subnet6?: string;
  /** The bridge's IPv6 address. Default: the IPv6 subnet's first address. Needs `enableIPv6`. */
  gateway6?: string;
  /** Labels, for your own bookkeeping and for `list({ labels })`. */
  labels?: Record<string, string>;
}

/** A network as stored (`networks/<name>/network.json`), and what a `Network` shows. */
export interface NetworkRecord {
  /** Unique id, 64 hex characters. */
  id: string;
  /** Unique name. */
  name: string;
  /** IPv4 subnet in CIDR form. */
  subnet: string;
  /** The bridge's address: the containers' default route. */
  gateway: string;
  /** The Linux bridge's name (`berth-…`). */
  bridge: string;
  /** No default route in its containers, nothing forwarded off the bridge. */
  internal: boolean;
  /** Whether the network has IPv6 (`subnet6`, `gateway6`). Absent in records written before IPv6 existed: false. */
  enableIPv6?: boolean;
  /** IPv6 subnet in CIDR form, with `enableIPv6`. */
  subnet6?: string;
  /** The bridge's IPv6 address, with `enableIPv6`. */
  gateway6?: string;
  /** Labels given at create. */
  labels: Record<string, string>;
  /** When it was created (RFC 3339). */
  createdAt: string;
}

/** A container on a network, as `network.inspect()` lists it. */
export interface NetworkMember extends Endpoint {
  /** The container's id. */
  id: string;
  /** The container's name. */
  name: string;
}

/** `network.inspect()`: the record and the containers (in any state) on the network. */
export interface NetworkInspect extends NetworkRecord {
  /** The containers (in any state) on the network, with their addresses. */
  containers: NetworkMember[];
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
  /** The network's name. */
  network: string;
  /** The container's address on it. */
  ip: string;
  /** Its IPv6 address, on a network with `enableIPv6`. */
  ip6?: string;
  /** More names the container answers to there. */
  aliases: string[];
  /** The interface inside the container (`eth0`, `eth1`, …). */
  interface: string;
}

/**
 * The network of a container in `slirp4netns` mode, as inspect shows it:
 * slirp4netns's fixed addresses inside the container's own namespace.
 */
export interface Slirp4netnsNetwork {
  /** The container's address on tap0: `10.0.2.100`. */
  ip: string;
  /** The gateway, slirp4netns itself: `10.0.2.2`. */
  gateway: string;
  /** slirp4netns's DNS forwarder, the container's only name server: `10.0.2.3`. */
  nameserver: string;
  /** The interface: `tap0`. */
  interface: string;
  /** Its MTU: 65520. */
  mtu: number;
  /** `10.0.2.2` also reaches the host's `127.0.0.1` (`slirp4netns:allow_host_loopback=true`). */
  allowHostLoopback: boolean;
}

/** `ports` values: a host port (0: any free one), `'ip:port'`, or both as an object. */
export type PortBinding =
  | number
  | string
  | {
      /** The host address to bind. Default `127.0.0.1`. */
      hostIp?: string;
      /** The host port; 0 or none: any free one. */
      hostPort?: number;
    };

/** A published port as bound by the monitor. */
export interface PublishedPort {
  /** The protocol. */
  proto: 'tcp' | 'udp';
  /** The port inside the container. */
  containerPort: number;
  /** The host address it is bound to. */
  hostIp: string;
  /** The host port (the one chosen, when 0 was asked for). */
  hostPort: number;
}
