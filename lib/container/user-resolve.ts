import { readdirSync } from 'node:fs';
import { BerthError, ContainerSetupError, NotFoundError } from '../errors.js';
import type { ContainerMount } from '../../types/volume.js';
import { LayerView } from './layer-view.js';
import { mountedUserFile, readMountedUserFile } from './mounted-user-database.js';
import type { RootDir } from './path-in-root.js';

/** Who the container's first process runs as. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  /** Supplementary groups: those of /etc/group that list the user by name. */
  groups: number[];
  /** The home directory from /etc/passwd, `/` when the user has no entry. */
  home: string;
}

/** The container's /etc/passwd and /etc/group (undefined: the file does not exist). */
export interface UserDatabase {
  passwd?: string;
  group?: string;
}

/** Larger user databases are refused: a container's file is read into the Node process. */
export const MAX_USER_FILE_SIZE = 16 * 1024 * 1024;

const USER_FILES = ['passwd', 'group'] as const;

/**
 * Reads both files with `read` (missing: undefined); anything else that goes
 * wrong (a FIFO, a device, a directory, a symlink loop, a huge file) is a
 * `ContainerSetupError` with step `user` naming the file.
 */
function readUserDatabase(read: (path: string) => Buffer | undefined, containerId: string | undefined): UserDatabase {
  const database: UserDatabase = {};
  for (const file of USER_FILES) {
    const path = `/etc/${file}`;
    try {
      database[file] = read(path)?.toString('utf8');
    } catch (error) {
      if (error instanceof NotFoundError || (error instanceof BerthError && error.code === 'ENOTDIR')) continue;
      const reason = error instanceof Error ? error.message : String(error);
      throw new ContainerSetupError(`container setup failed at step 'user': cannot read the container's ${path}: ${reason}`, {
        step: 'user', code: (error as { code?: string }).code ?? 'EIO', path, containerId, cause: error,
      });
    }
  }
  return database;
}

/**
 * The user database of a container that is not running, from its layers
 * (top-most first: the upper directory, then the image's layers or the
 * `rootfs`), merged as overlayfs merges them and read through descriptors:
 * symlinks resolve inside the container, whiteouts hide, and only regular
 * files are read.
 */
export function readLayersUserDatabase(layerDirs: readonly string[], description: string, containerId?: string): UserDatabase {
  const view = LayerView.open(layerDirs, description);
  try {
    return readUserDatabase((path) => view.readFile(path, MAX_USER_FILE_SIZE), containerId);
  } finally {
    view.close();
  }
}

/** User databases of image layers already read, by their layer directories (at most {@link KEPT_IMAGE_DATABASES}). */
const imageDatabases = new Map<string, UserDatabase>();
const KEPT_IMAGE_DATABASES = 32;

/**
 * The user database for a start: what the container will see once its
 * `mounts` are made (mounted-user-database.ts) over its layers (`upper` over
 * `layers`) as {@link readLayersUserDatabase} reads them.
 */
export function readStartUserDatabase(upper: string, layers: readonly string[], layersRoot: string, description: string, containerId: string, mounts: readonly ContainerMount[] = []): UserDatabase {
  const covered = new Map(USER_FILES.flatMap((file) => {
    const mounted = mountedUserFile(mounts, file);
    return mounted ? [[file, mounted] as const] : [];
  }));
  if (covered.size === 0) return readLayersOrKnown(upper, layers, layersRoot, description, containerId);
  const fromMounts = readUserDatabase((path) => {
    const mounted = covered.get(path.slice('/etc/'.length) as (typeof USER_FILES)[number]);
    return mounted && readMountedUserFile(mounted, MAX_USER_FILE_SIZE, description);
  }, containerId);
  const fromLayers = covered.size < USER_FILES.length ? readLayersOrKnown(upper, layers, layersRoot, description, containerId) : {};
  const database: UserDatabase = {};
  for (const file of USER_FILES) {
    const text = covered.has(file) ? fromMounts[file] : fromLayers[file];
    if (text !== undefined) database[file] = text;
  }
  return database;
}

/**
 * The layers' user database, except that when `upper` is missing or empty
 * and every layer is an image layer of the store (`<layersRoot>/<64 hex>/diff`:
 * content-addressed, never changed), the result of an earlier start from the
 * same layers is used (no 30 file system calls).
 */
function readLayersOrKnown(upper: string, layers: readonly string[], layersRoot: string, description: string, containerId: string): UserDatabase {
  const storeLayer = new RegExp(`^${layersRoot.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/[a-f0-9]{64}/diff$`);
  if (!layers.every((dir) => storeLayer.test(dir)) || !emptyOrMissing(upper)) {
    return readLayersUserDatabase([upper, ...layers], description, containerId);
  }
  const key = layers.join('\n');
  const known = imageDatabases.get(key);
  if (known) return known;
  const database = Object.freeze(readLayersUserDatabase(layers, description, containerId));
  if (imageDatabases.size >= KEPT_IMAGE_DATABASES) imageDatabases.delete(imageDatabases.keys().next().value!);
  imageDatabases.set(key, database);
  return database;
}

function emptyOrMissing(dir: string): boolean {
  try {
    return readdirSync(dir).length === 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
}

/** The user database of a running container, read inside its root. */
export function readRootUserDatabase(root: RootDir, containerId?: string): UserDatabase {
  return readUserDatabase((path) => root.readFile(path, MAX_USER_FILE_SIZE), containerId);
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
 * against the container's /etc/passwd and /etc/group, as Docker does: a
 * numeric uid need not exist; a name must.
 * @param database from `readLayersUserDatabase` or `readRootUserDatabase`.
 * @param containerId named in the error.
 * @throws ContainerSetupError with step `user` when a name is not found.
 */
export function resolveUser(user: string, database: UserDatabase, containerId?: string): ResolvedUser {
  const [userPart = '', groupPart] = (user || '0').split(':');
  const passwd = parseColonFile(database.passwd);
  const groupFile = parseColonFile(database.group);

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
