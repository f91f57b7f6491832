/**
 * What the image store keeps on disk, below the runtime root:
 *
 * ```
 * blobs/sha256/<hex>          manifests, configs and layer blobs as pulled (what push and save send)
 * layers/<hex>/diff/          an unpacked layer (hex of its diff_id): an overlayfs lower dir
 * layers/<hex>/layer.json     its size, written before the directory is renamed into place
 * images/<hex>.json           image records (hex of the config digest: the image id)
 * locks/                      flock files: one per layer being made, the store's, the collector's
 * ```
 *
 * Everything is made under a `.tmp-<pid>-…` name and renamed into place, so
 * a name that exists is complete. Temporary names of dead processes are
 * removed when the store opens.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NotFoundError } from '../errors.js';
import { nativeAddon } from '../native/addon.js';
import { readJsonIfExists, writeJsonAtomic } from '../state/atomic-file.js';
import { makePrivateDirectory, PRIVATE_FILE_MODE } from '../state/private-state.js';
import { digestHex, sha256 } from './digest.js';
import { removeTree, removeTreeSoon } from '../userns/tree-removal.js';
import type { UsernsContext } from '../userns/userns-file-ops.js';

/** `layers/<hex>/layer.json` */
export interface LayerRecord {
  diffId: string;
  /** Bytes of regular files. */
  size: number;
  /** Bytes of the uncompressed tar (what `docker save` archives hold). */
  tarSize: number;
  createdAt: string;
}

/**
 * Runs `fn` holding flock on `path`, polling (never parks a thread-pool
 * thread on a lock). With `removeAfter` (exclusive only) the lock file is
 * removed while still held, so that one-off locks (one per layer made) leave
 * nothing behind; whoever then gets the lock on the removed file sees that it
 * is no longer the one at `path` and takes the lock again on a new one.
 */
async function withPolledLock<T>(path: string, exclusive: boolean, fn: () => Promise<T>, removeAfter = false): Promise<T> {
  for (;;) {
    const fd = openSync(path, 'a', 0o600);
    try {
      for (let delay = 2; !nativeAddon().tryLock(fd, exclusive); delay = Math.min(delay * 2, 100)) await sleep(delay);
      if (removeAfter && fstatSync(fd).ino !== statSync(path, { throwIfNoEntry: false })?.ino) continue; // removed by the holder before us
      try {
        return await fn();
      } finally {
        if (removeAfter) rmSync(path, { force: true });
      }
    } finally {
      closeSync(fd);
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class ContentStore {
  readonly blobsDir: string;
  readonly layersDir: string;
  readonly imagesDir: string;
  private readonly locksDir: string;
  /** In-process queues per lock name, so this process never waits on its own flock. */
  private readonly queues = new Map<string, Promise<unknown>>();

  /**
   * @param userns the rootless runtime's user namespace: layers are unpacked in
   * its view and removed through its helper; undefined as root.
   */
  constructor(
    readonly root: string,
    readonly userns?: UsernsContext,
  ) {
    this.blobsDir = join(root, 'blobs', 'sha256');
    this.layersDir = join(root, 'layers');
    this.imagesDir = join(root, 'images');
    this.locksDir = join(root, 'locks');
    for (const dir of [this.blobsDir, this.layersDir, this.imagesDir, this.locksDir]) makePrivateDirectory(dir);
  }

  // ---- temporary names

  /** A fresh temporary path in `dir` (not created). */
  tempPath(dir: string): string {
    return join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  /** Removes the temporary files of processes that died mid-way. */
  removeStaleTemporaries(): void {
    for (const dir of [this.blobsDir, this.layersDir, this.imagesDir]) {
      for (const name of readdirSync(dir)) {
        const pid = /^\.tmp-(\d+)-/.exec(name)?.[1];
        if (pid && !processAlive(Number(pid))) removeTreeSoon(join(dir, name), this.userns);
      }
    }
  }

  // ---- blobs

  blobPath(digest: string): string {
    return join(this.blobsDir, digestHex(digest));
  }

  hasBlob(digest: string): boolean {
    return existsSync(this.blobPath(digest));
  }

  /** @throws NotFoundError when the store lacks the blob. */
  readBlob(digest: string): Buffer {
    try {
      return readFileSync(this.blobPath(digest));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      throw new NotFoundError(`the store has no blob ${digest}; pull the image again`, { path: this.blobPath(digest) });
    }
  }

  blobSize(digest: string): number {
    return statSync(this.blobPath(digest)).size;
  }

  /** Stores bytes as a blob (atomically); returns the digest. */
  writeBlob(bytes: Buffer): string {
    const digest = sha256(bytes);
    const path = this.blobPath(digest);
    if (existsSync(path)) return digest;
    const temp = this.tempPath(this.blobsDir);
    writeFileSync(temp, bytes, { mode: PRIVATE_FILE_MODE });
    renameSync(temp, path);
    return digest;
  }

  /**
   * Moves a verified temporary file into place as `digest` (or drops it when
   * the blob is there already). Flushed first, on the thread pool, so a blob
   * under its name is whole even after a power loss.
   */
  async commitBlob(temp: string, digest: string): Promise<void> {
    const file = await open(temp, 'r');
    try {
      await file.sync();
    } finally {
      await file.close();
    }
    if (this.hasBlob(digest)) rmSync(temp, { force: true });
    else renameSync(temp, this.blobPath(digest));
  }

  allBlobs(): string[] {
    return readdirSync(this.blobsDir)
      .filter((name) => /^[a-f0-9]{64}$/.test(name))
      .map((hex) => `sha256:${hex}`);
  }

  // ---- layers

  layerDir(diffId: string): string {
    return join(this.layersDir, digestHex(diffId));
  }

  /** The unpacked layer: an overlayfs lower dir. */
  layerPath(diffId: string): string {
    return join(this.layerDir(diffId), 'diff');
  }

  hasLayer(diffId: string): boolean {
    return existsSync(this.layerPath(diffId));
  }

  layerRecord(diffId: string): LayerRecord | undefined {
    return readJsonIfExists<LayerRecord>(join(this.layerDir(diffId), 'layer.json'));
  }

  /** Moves a finished temporary layer directory (with `diff/` in it) into place; false when another got there first. */
  async commitLayer(temp: string, record: LayerRecord): Promise<boolean> {
    writeJsonAtomic(join(temp, 'layer.json'), record);
    if (this.hasLayer(record.diffId)) {
      await this.removeTree(temp);
      return false;
    }
    await this.removeTree(this.layerDir(record.diffId)); // a directory without diff/ is a leftover
    renameSync(temp, this.layerDir(record.diffId));
    return true;
  }

  /** `rm -rf` of a layer directory (through the user namespace helper when rootless). */
  removeTree(path: string): Promise<void> {
    return removeTree(path, this.userns);
  }

  allLayers(): string[] {
    return readdirSync(this.layersDir)
      .filter((name) => /^[a-f0-9]{64}$/.test(name))
      .map((hex) => `sha256:${hex}`);
  }

  // ---- locks

  /**
   * Runs `fn` holding the lock `name` (exclusive or shared) against other
   * processes; inside this process, callers of the same name take turns.
   */
  async withLock<T>(name: string, fn: () => Promise<T>, exclusive = true, removeAfter = false): Promise<T> {
    const path = join(this.locksDir, name);
    if (!exclusive) return withPolledLock(path, false, fn);
    const previous = this.queues.get(name) ?? Promise.resolve();
    const run = previous.then(
      () => withPolledLock(path, true, fn, removeAfter),
      () => withPolledLock(path, true, fn, removeAfter),
    );
    const settled = run.catch(() => {});
    this.queues.set(name, settled);
    try {
      return await run;
    } finally {
      if (this.queues.get(name) === settled) this.queues.delete(name);
    }
  }

  /** While a layer is made: one maker per layer across processes. */
  withLayerLock<T>(diffId: string, fn: () => Promise<T>): Promise<T> {
    return this.withLock(`layer-${digestHex(diffId)}`, fn, true, true);
  }

  /**
   * Shared by everything that adds images (pull, load, import, commit) for its
   * whole run; exclusive for removal of unreferenced layers and blobs, which so
   * never removes what an addition is about to reference.
   */
  withCollectorLock<T>(fn: () => Promise<T>, exclusive: boolean): Promise<T> {
    return this.withLock('collector', fn, exclusive);
  }

  /** Runs `fn` with the collector lock held exclusively if no one holds it now; otherwise does nothing. */
  async withCollectorLockIfFree(fn: () => Promise<void>): Promise<void> {
    const fd = openSync(join(this.locksDir, 'collector'), 'a', 0o600);
    try {
      if (nativeAddon().tryLock(fd, true)) await fn();
    } finally {
      closeSync(fd);
    }
  }

  /** Around reads-then-writes of image records (tags move between images). */
  withRecordsLock<T>(fn: () => Promise<T>): Promise<T> {
    return this.withLock('records', fn);
  }
}
