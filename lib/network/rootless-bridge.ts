import { RootlessUnsupportedError } from '../errors.js';

/**
 * Bridge networks are refused rootless: a bridge, its veth pairs and the
 * nftables rules live in the host's network namespace, which a normal user
 * cannot change. Docker's and Podman's rootless modes lack them too (Podman
 * runs its bridges inside a user-owned namespace of its own; berth has none).
 */
export function rootlessBridgeError(what: string): RootlessUnsupportedError {
  return new RootlessUnsupportedError(
    `${what}: bridge networks need root (a bridge, veth pairs and firewall rules in the host's network namespace), and this runtime is rootless. ` +
      "Use network 'none', 'slirp4netns' (outbound access), or published ports (ports: { '8080': 80 }), or run berth as root.",
  );
}
