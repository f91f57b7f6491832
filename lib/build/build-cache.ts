/**
 * The build cache: for each step that made a layer, its cache key (a digest
 * over the parent state, the instruction with its arguments and, for
 * COPY/ADD, the content copied) → the image that step produced. One private
 * file per key under `<root>/build-cache/keys/`, so the cache survives
 * restarts; entries whose image is gone are dropped (image prune removes
 * the images, then their entries). `RUN --mount=type=cache` directories
 * live under `<root>/build-cache/mounts/`.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../state/atomic-file.js';
import { makePrivateDirectory } from '../state/private-state.js';

/** The next key in a chain: the parent's key and what the step does. */
export function chainKey(parent: string, step: unknown): string {
  return createHash('sha256').update(parent).update('\0').update(JSON.stringify(step)).digest('hex');
}

export class BuildCache {
  private readonly keysDir: string;
  /** Where `RUN --mount=type=cache` directories are. */
  readonly mountsDir: string;

  constructor(root: string) {
    const dir = join(root, 'build-cache');
    this.keysDir = join(dir, 'keys');
    this.mountsDir = join(dir, 'mounts');
  }

  /** The image a key led to, when one is recorded. */
  lookup(key: string): string | undefined {
    try {
      const id = readFileSync(join(this.keysDir, key), 'utf8').trim();
      return /^sha256:[a-f0-9]{64}$/.test(id) ? id : undefined;
    } catch {
      return undefined;
    }
  }

  record(key: string, imageId: string): void {
    makePrivateDirectory(join(this.keysDir, '..'));
    makePrivateDirectory(this.keysDir);
    writeFileAtomic(join(this.keysDir, key), `${imageId}\n`, false);
  }

  /** Forgets `key` (its image is gone). */
  forget(key: string): void {
    rmSync(join(this.keysDir, key), { force: true });
  }

  /** Drops the entries whose image `exists` says is gone. Returns how many. */
  prune(exists: (imageId: string) => boolean): number {
    let removed = 0;
    let keys: string[];
    try {
      keys = readdirSync(this.keysDir);
    } catch {
      return 0;
    }
    for (const key of keys) {
      const id = this.lookup(key);
      if (id !== undefined && exists(id)) continue;
      this.forget(key);
      removed++;
    }
    return removed;
  }

  /** Removes every `RUN --mount=type=cache` directory. */
  removeMounts(): void {
    rmSync(this.mountsDir, { recursive: true, force: true });
  }

  /** The directory of cache mount `id` (created, private to root at the top). */
  mountDir(id: string): string {
    makePrivateDirectory(join(this.mountsDir, '..'));
    makePrivateDirectory(this.mountsDir);
    return join(this.mountsDir, createHash('sha256').update(id).digest('hex').slice(0, 32));
  }
}
