import type { VolumeInspect, VolumeRemoveOptions } from '../../types/volume.js';
import type { VolumeCollection } from './volume-collection.js';

/** What `<root>/volumes/<name>/volume.json` holds. */
export interface VolumeRecord {
  name: string;
  createdAt: string;
  labels: Record<string, string>;
  anonymous: boolean;
  /** A container has mounted it: it is never filled from an image again. */
  initialized: boolean;
}

/** The files of one volume, under `<root>/volumes/<name>/`. */
export function volumePaths(volumesDir: string, name: string) {
  const dir = `${volumesDir}/${name}`;
  return {
    dir,
    record: `${dir}/volume.json`,
    data: `${dir}/_data`,
    lock: `${dir}/lock`,
  };
}

/**
 * A named directory that outlives the containers that mount it (Docker's
 * `local` volume). Get one from `runtime.volumes.create()`, `get()` or
 * `list()`; containers mount it with `mounts: [{ type: 'volume', source: name, target }]`.
 *
 * @example
 * ```ts
 * const volume = await runtime.volumes.create({ name: 'pgdata', labels: { app: 'db' } });
 * console.log(volume.mountpoint); // /var/lib/berth/volumes/pgdata/_data
 * ```
 */
export class Volume {
  /** @internal */
  constructor(
    private readonly collection: VolumeCollection,
    private readonly record: VolumeRecord,
    /** The host directory containers mount: `<root>/volumes/<name>/_data`. */
    readonly mountpoint: string,
  ) {}

  /** Its unique name. */
  get name(): string {
    return this.record.name;
  }

  /** When it was created (RFC 3339). */
  get createdAt(): string {
    return this.record.createdAt;
  }

  /** Its labels. */
  get labels(): Readonly<Record<string, string>> {
    return this.record.labels;
  }

  /** Made for a container rather than by name (an image's `VOLUME`, a volume mount without a source). */
  get anonymous(): boolean {
    return this.record.anonymous;
  }

  /** Everything about the volume, and the containers (in any state) that use it. */
  async inspect(): Promise<VolumeInspect> {
    return this.collection.inspectVolume(this.name);
  }

  /**
   * Removes the volume and its files.
   * @throws ConflictError while a container (in any state) uses it; NotFoundError when it is gone (unless `force`).
   */
  async remove(options: VolumeRemoveOptions = {}): Promise<void> {
    await this.collection.remove(this.name, options);
  }
}
