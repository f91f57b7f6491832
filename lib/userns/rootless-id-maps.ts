/**
 * The id maps of a rootless container (and of berth's own user-namespace
 * helper, which must see files as the container does): the caller is
 * container id 0 (root), and its subordinate ranges from `/etc/subuid` and
 * `/etc/subgid` follow from container id 1, in file order, as Podman maps
 * them. `newuidmap`/`newgidmap` write them (`mapWith: 'newuidmap'`).
 *
 * Without subordinate ids, the map holds the caller alone (`0 <uid> 1`).
 * Limits of that single-id map: the container has one user and one group;
 * any other id in it (`nobody`, a service user, an image file owned by uid
 * 1000) appears as the overflow id 65534 and cannot be switched to or given
 * (`user: '1000'` fails at setuid, `chown` in the container fails with
 * EINVAL), an image with files owned by other ids is refused at unpack, and
 * supplementary groups are off (`setgroups` is denied). Images whose files
 * all belong to root and that run as root (busybox, most distroless ones)
 * work.
 */
import { userInfo } from 'node:os';
import { RootlessUnsupportedError } from '../errors.js';
import { containerIdOf, idMapProblem, type IdMapping, type IdMaps } from './id-map.js';
import { readSubordinateIds, SUBGID_FILE, SUBUID_FILE, type SubordinateRange } from './subordinate-ids.js';

/** Who the maps are for, and where the subordinate ids are read from (tests give other files). */
export interface RootlessIdentity {
  uid: number;
  gid: number;
  /** The user's name (`/etc/subuid` may name it instead of the uid). */
  name: string | undefined;
  subuidFile?: string;
  subgidFile?: string;
}

/** The calling process: its real uid and gid and its user name. */
export function callerIdentity(): RootlessIdentity {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  let name: string | undefined;
  try {
    name = userInfo().username;
  } catch {
    // no passwd entry (a container with a random uid): ids by number only
  }
  return { uid, gid, name };
}

/** One map: `0 <own id> 1`, then each subordinate range from container id 1. */
function mapOf(ownId: number, ranges: readonly SubordinateRange[]): IdMapping[] {
  const map: IdMapping[] = [{ containerId: 0, hostId: ownId, size: 1 }];
  let next = 1;
  for (const range of ranges) {
    map.push({ containerId: next, hostId: range.start, size: range.count });
    next += range.count;
  }
  return map;
}

/**
 * The rootless maps of `identity` (default: the caller).
 * @throws RootlessUnsupportedError when the subordinate ranges are malformed in a way that must not be mapped (see subordinate-ids.ts) or make more ranges than the kernel takes.
 */
export function rootlessIdMaps(identity: RootlessIdentity = callerIdentity()): IdMaps {
  const owner = { name: identity.name };
  const subuidFile = identity.subuidFile ?? SUBUID_FILE;
  const subgidFile = identity.subgidFile ?? SUBGID_FILE;
  const uidMap = mapOf(identity.uid, readSubordinateIds(subuidFile, { ...owner, id: identity.uid }));
  const gidMap = mapOf(identity.gid, readSubordinateIds(subgidFile, { ...owner, id: identity.gid }));
  for (const [map, file] of [[uidMap, subuidFile], [gidMap, subgidFile]] as const) {
    const problem = idMapProblem(map);
    if (problem) {
      throw new RootlessUnsupportedError(`the subordinate ids in ${file} do not make a map the kernel takes: ${problem}; merge or remove ranges`, {
        path: file,
      });
    }
  }
  return { uidMap, gidMap, mapWith: 'newuidmap' };
}

/** True when the maps hold more than the caller (subordinate ids are configured). */
export function hasSubordinateIds(maps: IdMaps): boolean {
  return maps.uidMap.length > 1 || maps.gidMap.length > 1;
}
