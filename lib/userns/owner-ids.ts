/**
 * Owners as a container in a user namespace sees them, for what Node reads
 * and writes in its files (copy, export, commit, the chown-ed layer copies).
 * A container in a namespace root made stores its writes as the mapped host
 * ids; its image layers keep the container's ids (they are idmapped only
 * when mounted). A rootless store keeps the container's view itself: no
 * translation there.
 */
import { containerIdOf, hostIdOf, type IdMapping, type IdMaps } from './id-map.js';
import type { UsernsRecord } from './userns-option.js';

/**
 * The maps that copy and export translate owners through: a user namespace
 * root made, whose container's files are stored as mapped host ids (a
 * rootless store keeps the container's view itself).
 */
export function ownerMaps(config: { userns?: UsernsRecord }): IdMaps | undefined {
  return config.userns?.mapWith === 'write' ? config.userns : undefined;
}

/**
 * The id a container sees for the stored (host) id `id`: through `map` when
 * it holds it; else `id` itself (an image layer read without idmapping holds
 * container ids already), and without a map.
 */
export function seenId(map: readonly IdMapping[] | undefined, id: number): number {
  return (map && containerIdOf(map, id)) ?? id;
}

/** The host id that container id `id` is stored as: through `map` (an id it lacks as its overflow id 65534's), or `id` without a map. */
export function storedId(map: readonly IdMapping[] | undefined, id: number): number {
  return map ? (hostIdOf(map, id) ?? hostIdOf(map, 65534) ?? id) : id;
}
