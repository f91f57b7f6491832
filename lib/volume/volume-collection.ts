import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerMount, VolumeCreateOptions, VolumeInspect, VolumeListOptions, VolumePruneOptions, VolumePruneResult, VolumeRemoveOptions } from '../../types/volume.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { readJsonIfExists, writeJsonAtomic } from '../state/atomic-file.js';
import { withFileLock } from '../state/file-lock.js';
import { makePrivateDirectory, PRIVATE_DIR_MODE } from '../state/private-state.js';
import { Volume, volumePaths, type VolumeRecord } from './volume.js';
import { populateVolume } from './volume-populate.js';
import { removeTree, removeTreeSoon } from '../userns/tree-removal.js';

/** Docker's rule for volume names. */
export const VOLUME_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const MAX_NAME_LENGTH = 255;

/** A volume name, checked: a TypeError/RangeError names `what`. */
export function checkVolumeName(name: unknown, what: string): string {
  if (typeof name !== 'string' || !VOLUME_NAME_PATTERN.test(name)) {
    throw new TypeError(`${what} must be a volume name (letters, digits, _ . -, starting with a letter or digit, at least 2 characters), got '${String(name)}'`);
  }
  if (name.length > MAX_NAME_LENGTH) throw new RangeError(`${what} must be at most ${MAX_NAME_LENGTH} characters`);
  return name;
}

/** A new 64-hex name, as Docker gives anonymous volumes. */
export function generateVolumeName(): string {
  return randomBytes(32).toString('hex');
}

/** The test of a `labels` filter (`{ key: 'value' }` or `['key', 'key=value']`). */
function labelFilter(labels: VolumeListOptions['labels'], what: string): (own: Record<string, string>) => boolean {
  const wanted: [string, string | undefined][] = [];
  if (Array.isArray(labels)) {
    for (const label of labels) {
      if (typeof label !== 'string' || label === '' || label.startsWith('=')) throw new TypeError(`${what}: labels must be 'key' or 'key=value' strings, got '${String(label)}'`);
      const at = label.indexOf('=');
      wanted.push(at < 0 ? [label, undefined] : [label.slice(0, at), label.slice(at + 1)]);
    }
  } else if (labels !== undefined) {
    if (typeof labels !== 'object' || labels === null) throw new TypeError(`${what}: labels must be an object or an array of strings`);
    for (const [key, value] of Object.entries(labels)) {
      if (typeof value !== 'string') throw new TypeError(`${what}: labels.${key} must be a string`);
      wanted.push([key, value]);
    }
  }
  return (own) => wanted.every(([key, value]) => Object.hasOwn(own, key) && (value === undefined || own[key] === value));
}

/** The containers (in any state) whose config names a volume: volume name → containers. */
type Usage = Map<string, { id: string; name: string }[]>;

/**
 * `runtime.volumes`: named directories that outlive containers (Docker's
 * `local` volumes), under `<root>/volumes/<name>/`: `volume.json` and the
 * data in `_data/`. Every process that opens the same root sees the same
 * volumes.
 *
 * A volume is made complete under a temporary name and renamed into place,
 * so a volume that exists is whole, and two processes creating the same name
 * end up with one volume. A volume is in use while any container's
 * configuration names it (running or not, as in Docker); `remove` and
 * `prune` check that under `volumes.lock`, which `create` of a container
 * holds shared while it makes its volumes and writes its configuration.
 */
export class VolumeCollection {
  private readonly dir: string;
  private readonly lockPath: string;

  /** @internal */
  constructor(private readonly runtime: Runtime) {
    this.dir = join(runtime.root, 'volumes');
    this.lockPath = join(runtime.root, 'volumes.lock');
    makePrivateDirectory(this.dir);
  }

  /**
   * Creates a volume; a name that exists gives that volume back (as
   * `docker volume create` does), whatever its labels.
   * @throws TypeError for a malformed name or labels.
   *
   * @example
   * ```ts
   * const volume = await runtime.volumes.create({ name: 'cache', labels: { team: 'web' } });
   * ```
   */
  async create(options: VolumeCreateOptions = {}): Promise<Volume> {
    if (typeof options !== 'object' || options === null) throw new TypeError('volumes.create: options must be an object');
    const name = options.name === undefined ? generateVolumeName() : checkVolumeName(options.name, 'volumes.create: name');
    const labels = options.labels ?? {};
    if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) throw new TypeError('volumes.create: labels must be an object of strings');
    for (const [key, value] of Object.entries(labels)) {
      if (typeof value !== 'string') throw new TypeError(`volumes.create: labels.${key} must be a string`);
    }
    const { record } = await withFileLock(this.runtime.lockPath, () => this.createRecord(name, labels, false), false);
    return this.volume(record);
  }

  /**
   * The volume named `name`.
   * @throws NotFoundError when there is none.
   */
  async get(name: string): Promise<Volume> {
    checkVolumeName(name, 'volumes.get: name');
    const record = this.record(name);
    if (!record) throw new NotFoundError(`no such volume: ${name}`);
    return this.volume(record);
  }

  /**
   * The volumes in this runtime, filtered by `labels` (all must match) and
   * `dangling` (unused by any container).
   *
   * @example
   * ```ts
   * const unused = await runtime.volumes.list({ dangling: true, labels: ['team'] });
   * ```
   */
  async list(options: VolumeListOptions = {}): Promise<Volume[]> {
    if (typeof options !== 'object' || options === null) throw new TypeError('volumes.list: options must be an object');
    const matches = labelFilter(options.labels, 'volumes.list');
    if (options.dangling !== undefined && typeof options.dangling !== 'boolean') throw new TypeError('volumes.list: dangling must be a boolean');
    const usage = options.dangling === undefined ? undefined : this.usage();
    return this.records()
      .filter((record) => matches(record.labels))
      .filter((record) => usage === undefined || options.dangling === !usage.has(record.name))
      .map((record) => this.volume(record));
  }

  /**
   * Removes a volume and its files.
   * @throws ConflictError while any container (running or not) uses it, even
   *   with `force` (remove the containers first, as Docker requires);
   *   NotFoundError when there is no such volume, unless `force`.
   */
  async remove(volume: string | Volume, options: VolumeRemoveOptions = {}): Promise<void> {
    const name = checkVolumeName(volume instanceof Volume ? volume.name : volume, 'volumes.remove: volume');
    if (typeof options !== 'object' || options === null) throw new TypeError('volumes.remove: options must be an object');
    if (options.force !== undefined && typeof options.force !== 'boolean') throw new TypeError('volumes.remove: force must be a boolean');
    const trash = await withFileLock(this.lockPath, () => {
      if (!this.record(name)) {
        if (options.force) return undefined;
        throw new NotFoundError(`no such volume: ${name}`);
      }
      const users = this.usage().get(name) ?? [];
      if (users.length > 0) {
        const names = users.map((user) => user.name).join(', ');
        throw new ConflictError(`volume ${name} is in use by container${users.length > 1 ? 's' : ''} ${names}; remove ${users.length > 1 ? 'them' : 'it'} first`, {
          path: volumePaths(this.dir, name).dir,
        });
      }
      return this.detach(name);
    });
    if (trash) await removeTree(trash, this.runtime.userns);
  }

  /**
   * Removes the volumes no container uses: anonymous ones, or all of them
   * with `all: true` (Docker 23's `docker volume prune` and its `--all`).
   */
  async prune(options: VolumePruneOptions = {}): Promise<VolumePruneResult> {
    if (typeof options !== 'object' || options === null) throw new TypeError('volumes.prune: options must be an object');
    if (options.all !== undefined && typeof options.all !== 'boolean') throw new TypeError('volumes.prune: all must be a boolean');
    const matches = labelFilter(options.labels, 'volumes.prune');
    const removed = await withFileLock(this.lockPath, () => {
      const usage = this.usage();
      return this.records()
        .filter((record) => (options.all || record.anonymous) && matches(record.labels) && !usage.has(record.name))
        .map((record) => ({ name: record.name, bytes: treeSize(volumePaths(this.dir, record.name).data), trash: this.detach(record.name) }));
    });
    await Promise.all(removed.map(({ trash }) => removeTree(trash, this.runtime.userns)));
    return { volumes: removed.map(({ name }) => name), reclaimedBytes: removed.reduce((sum, { bytes }) => sum + bytes, 0) };
  }

  /** @internal */
  async inspectVolume(name: string): Promise<VolumeInspect> {
    const record = this.record(name);
    if (!record) throw new NotFoundError(`no such volume: ${name}`);
    return {
      name: record.name,
      driver: 'local',
      mountpoint: volumePaths(this.dir, name).data,
      createdAt: record.createdAt,
      labels: { ...record.labels },
      anonymous: record.anonymous,
      initialized: record.initialized,
      usedBy: (this.usage().get(name) ?? []).map((user) => user.id),
    };
  }

  /** @internal The host directory a volume's mounts use. */
  mountpointOf(name: string): string {
    return volumePaths(this.dir, name).data;
  }

  /**
   * @internal For `containers.create()`: makes the volumes `mounts` name
   * (named ones on first use, anonymous ones new) and runs `fn`, which writes
   * the container's configuration, under the volumes lock, so no volume is
   * removed in between. When `fn` fails, the anonymous volumes made here go.
   */
  async reserving<T>(mounts: readonly ContainerMount[], fn: () => Promise<T>): Promise<T> {
    const volumes = mounts.filter((mount) => mount.type === 'volume');
    if (volumes.length === 0) return fn();
    return withFileLock(this.lockPath, async () => {
      const made = await withFileLock(this.runtime.lockPath, () =>
        volumes.filter((mount) => this.createRecord(mount.name, {}, mount.anonymous).created), false);
      try {
        return await fn();
      } catch (error) {
        const trash = made.filter((mount) => mount.anonymous).map((mount) => this.detach(mount.name));
        await Promise.all(trash.map((path) => removeTree(path, this.runtime.userns)));
        throw error;
      }
    }, false);
  }

  /**
   * @internal For `container.start()`: makes any volume of `mounts` that is
   * missing again, and fills each one that no container has mounted yet, if
   * it is empty, with what the container's filesystem (`rootDirs`, overlay
   * layers top-most first) has at the mount's target (unless `noCopy`). That
   * happens once per volume: afterwards it is `initialized`.
   */
  async prepare(mounts: readonly ContainerMount[], rootDirs: readonly string[]): Promise<void> {
    const volumes = mounts.filter((mount) => mount.type === 'volume');
    if (volumes.length === 0) return;
    await withFileLock(this.lockPath, async () => {
      for (const mount of volumes) {
        const { record } = await withFileLock(this.runtime.lockPath, () => this.createRecord(mount.name, {}, mount.anonymous), false);
        if (record.initialized) continue;
        const paths = volumePaths(this.dir, mount.name);
        await withFileLock(paths.lock, async () => {
          const current = this.record(mount.name);
          if (!current || current.initialized) return;
          if (!mount.noCopy) await populateVolume(paths.data, rootDirs, mount.target, this.runtime.userns);
          writeJsonAtomic(paths.record, { ...current, initialized: true });
        });
      }
    }, false);
  }

  /**
   * @internal For `container.remove({ volumes: true })`, after the container
   * is gone: removes those of `names` that are anonymous and that no other
   * container uses (an anonymous volume another container took with
   * `volumesFrom` stays).
   */
  async removeAnonymous(names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    const trash = await withFileLock(this.lockPath, () => {
      const usage = this.usage();
      return names.filter((name) => this.record(name)?.anonymous && !usage.has(name)).map((name) => this.detach(name));
    });
    await Promise.all(trash.map((path) => removeTree(path, this.runtime.userns)));
  }

  /** @internal Crash recovery (under the runtime lock, held exclusively): half-made and half-removed volumes go. */
  recover(): void {
    for (const entry of readdirSync(this.dir)) {
      if (entry.startsWith('.tmp-') || entry.startsWith('.trash-')) removeTreeSoon(join(this.dir, entry), this.runtime.userns);
    }
  }

  /**
   * Makes the volume `name` unless it exists: complete under a temporary name,
   * then renamed into place (rename never replaces a directory that has
   * files, so the first of two creators wins and the other reads its record).
   * The caller holds the runtime lock (shared), so recovery never sees the
   * temporary directory of a create under way.
   */
  private createRecord(name: string, labels: Record<string, string>, anonymous: boolean): { record: VolumeRecord; created: boolean } {
    const paths = volumePaths(this.dir, name);
    const existing = this.record(name);
    if (existing) return { record: existing, created: false };
    const temp = join(this.dir, `.tmp-${randomBytes(8).toString('hex')}`);
    const record: VolumeRecord = { name, createdAt: new Date().toISOString(), labels: { ...labels }, anonymous, initialized: false };
    try {
      mkdirSync(temp, { mode: PRIVATE_DIR_MODE }); // _data keeps its own mode: this parent protects it
      mkdirSync(join(temp, '_data'), { mode: 0o755 });
      writeJsonAtomic(join(temp, 'volume.json'), record);
      renameSync(temp, paths.dir);
      return { record, created: true };
    } catch (error) {
      rmSync(temp, { recursive: true, force: true });
      const code = (error as NodeJS.ErrnoException).code;
      const winner = code === 'ENOTEMPTY' || code === 'EEXIST' ? this.record(name) : undefined;
      if (winner) return { record: winner, created: false };
      throw error;
    }
  }

  /**
   * Takes a volume out of the namespace at once (renamed to a `.trash-`
   * name, which recovery removes after a crash) and returns where it went;
   * the caller deletes it outside the lock.
   */
  private detach(name: string): string {
    const trash = join(this.dir, `.trash-${randomBytes(8).toString('hex')}`);
    renameSync(volumePaths(this.dir, name).dir, trash);
    return trash;
  }

  private record(name: string): VolumeRecord | undefined {
    return readJsonIfExists<VolumeRecord>(volumePaths(this.dir, name).record);
  }

  private records(): VolumeRecord[] {
    return readdirSync(this.dir)
      .filter((entry) => VOLUME_NAME_PATTERN.test(entry))
      .map((name) => this.record(name))
      .filter((record): record is VolumeRecord => record !== undefined);
  }

  private volume(record: VolumeRecord): Volume {
    return new Volume(this, record, volumePaths(this.dir, record.name).data);
  }

  /** Which containers (in any state) name which volumes, from their `config.json`. */
  private usage(): Usage {
    const containersDir = join(this.runtime.root, 'containers');
    const usage: Usage = new Map();
    let ids: string[];
    try {
      ids = readdirSync(containersDir);
    } catch {
      return usage;
    }
    for (const id of ids) {
      const config = readJsonIfExists<{ id: string; name: string; mounts?: ContainerMount[] }>(join(containersDir, id, 'config.json'));
      for (const mount of config?.mounts ?? []) {
        if (mount.type !== 'volume') continue;
        const users = usage.get(mount.name) ?? [];
        if (!users.some((user) => user.id === config!.id)) users.push({ id: config!.id, name: config!.name });
        usage.set(mount.name, users);
      }
    }
    return usage;
  }
}

/** The bytes of the files below `dir` (each inode once). */
function treeSize(dir: string): number {
  const seen = new Set<string>();
  let total = 0;
  const walk = (path: string) => {
    let entries: string[];
    try {
      entries = readdirSync(path);
    } catch {
      return;
    }
    for (const entry of entries) {
      const child = join(path, entry);
      const stats = lstatSync(child, { throwIfNoEntry: false });
      if (!stats) continue;
      const key = `${stats.dev}:${stats.ino}`;
      if (seen.has(key)) continue;
      seen.add(key);
      total += stats.size;
      if (stats.isDirectory()) walk(child);
    }
  };
  walk(dir);
  return total;
}
