import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ContainerSetupError } from '../errors.js';

/** Who the container's first process runs as. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  /** Supplementary groups: those of /etc/group that list the user by name. */
  groups: number[];
  /** The home directory from /etc/passwd, `/` when the user has no entry. */
  home: string;
}

/** Reads `/etc/<file>` from the top-most directory that has it. */
function readImageFile(rootDirs: readonly string[], file: string): string | undefined {
  for (const dir of rootDirs) {
    try {
      return readFileSync(join(dir, 'etc', file), 'utf8');
    } catch {
      // not in this layer: look further down
    }
  }
  return undefined;
}

function parseColonFile(text: string | undefined): string[][] {
  return (text ?? '')
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.split(':'));
}

const isNumeric = (value: string) => /^\d+$/.test(value);

/**
 * Resolves `user` (`name`, `uid`, `name:group`, `uid:gid`, or empty for root)
 * against the image's /etc/passwd and /etc/group, as Docker does: a numeric
 * uid need not exist; a name must.
 * @param rootDirs the container's filesystem layers, top-most first.
 * @param containerId named in the error.
 * @throws ContainerSetupError with step `user` when a name is not found.
 */
export function resolveUser(user: string, rootDirs: readonly string[], containerId?: string): ResolvedUser {
  const [userPart = '', groupPart] = (user || '0').split(':');
  const passwd = parseColonFile(readImageFile(rootDirs, 'passwd'));
  const groupFile = parseColonFile(readImageFile(rootDirs, 'group'));

  const entry = passwd.find((fields) => (isNumeric(userPart) ? fields[2] === userPart : fields[0] === userPart));
  if (!entry && !isNumeric(userPart)) {
    throw new ContainerSetupError(`container setup failed at step 'user': unable to find user ${userPart}: no matching entry in the image's /etc/passwd`, {
      step: 'user', code: 'ENOENT', path: '/etc/passwd', containerId,
    });
  }
  const uid = entry ? Number(entry[2]) : Number(userPart);
  let gid = entry ? Number(entry[3]) : 0;
  if (groupPart !== undefined) {
    if (isNumeric(groupPart)) {
      gid = Number(groupPart);
    } else {
      const group = groupFile.find((fields) => fields[0] === groupPart);
      if (!group) {
        throw new ContainerSetupError(`container setup failed at step 'user': unable to find group ${groupPart}: no matching entry in the image's /etc/group`, {
          step: 'user', code: 'ENOENT', path: '/etc/group', containerId,
        });
      }
      gid = Number(group[2]);
    }
  }
  const name = entry?.[0];
  const groups = name
    ? groupFile.filter((fields) => (fields[3] ?? '').split(',').includes(name)).map((fields) => Number(fields[2]))
    : [];
  if (!groups.includes(gid)) groups.unshift(gid);
  return { uid, gid, groups, home: entry?.[5] || '/' };
}
