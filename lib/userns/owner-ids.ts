/**
 * Owners as a container in a user namespace sees them, for what Node reads
 * and writes in its files (copy, export, commit, the chown-ed layer copies).
 * A container in a namespace root made stores its writes as the mapped host
 * ids; its image layers keep the container's ids (they are idmapped only
 * when mounted). A rootless store holds the host ids of the caller's ranges
 * (the caller is the container's root), layers included.
 */
import { containerIdOf, hostIdOf, type IdMapping, type IdMaps } from './id-map.js';
import type { UsernsRecord } from './userns-option.js';

/** The kernel's id for an id a user namespace does not map (`/proc/sys/kernel/overflowuid`'s default). */
export const OVERFLOW_ID = 65534;

/**
 * The maps that copy, export and commit translate owners through: a user
 * namespace root made (its container's writes are stored as mapped host ids),
 * or the rootless runtime's (`rootlessMaps`: everything is stored as the
 * caller's host ids); none for a container without a user namespace.
 */
export function ownerMaps(config: { userns?: UsernsRecord }, rootlessMaps?: IdMaps): IdMaps | undefined {
  return config.userns?.mapWith === 'write' ? config.userns : rootlessMaps;
}

/**
 * A stored (host) owner as the container sees it, through `maps`. An id the
 * maps lack: with maps root wrote, the id itself (an image layer read without
 * idmapping holds container ids already); rootless, {@link OVERFLOW_ID} (a
 * host file, e.g. through a bind mount, that the namespace does not map).
 */
export function seenOwner(maps: IdMaps | undefined, owner: { uid: number; gid: number }): { uid: number; gid: number } {
  if (!maps) return { uid: owner.uid, gid: owner.gid };
  const unmapped = (id: number) => (maps.mapWith === 'newuidmap' ? OVERFLOW_ID : id);
  return { uid: containerIdOf(maps.uidMap, owner.uid) ?? unmapped(owner.uid), gid: containerIdOf(maps.gidMap, owner.gid) ?? unmapped(owner.gid) };
}

/** The host id that container id `id` is stored as: through `map` (an id it lacks as its overflow id 65534's), or `id` without a map. */
export function storedId(map: readonly IdMapping[] | undefined, id: number): number {
  return map ? (hostIdOf(map, id) ?? hostIdOf(map, 65534) ?? id) : id;
}
