import type { Readable } from 'node:stream';
import type { ImageConfig, ImageInspect, ImageRecord, ImageRemoveOptions, PushOptions, PushResult, SaveOptions } from '../../types/image.js';
import type { ImageStore } from './image-store.js';

/**
 * An image in the local store: read-only layers and the configuration
 * containers start from. Get one from `runtime.images.get()`, `pull()`,
 * `load()`, `import()` or `commit()`.
 *
 * @example
 * ```ts
 * const image = await runtime.images.pull('127.0.0.1:5000/app:1.0');
 * await image.tag('127.0.0.1:5000/app:stable');
 * console.log(image.inspect().layers.length);
 * ```
 */
export class Image {
  /** @internal */
  constructor(
    private readonly store: ImageStore,
    private record: ImageRecord,
    /** Layer directories, top-most first (overlayfs `lowerdir` order). */
    readonly layerPaths: readonly string[],
  ) {}

  /** `sha256:…`: the digest of the image's config. */
  get id(): string {
    return this.record.id;
  }

  /** The references naming this image (`127.0.0.1:5000/app:1.0`), as of the last change through this object. */
  get references(): readonly string[] {
    return this.record.references;
  }

  /** `name@sha256:…` for each repository it was pulled from or pushed to. */
  get repoDigests(): readonly string[] {
    return this.record.repoDigests ?? [];
  }

  /** The configuration containers take their defaults from. */
  get config(): Readonly<ImageConfig> {
    return this.record.config;
  }

  /**
   * Everything about the image: config, layers (digests, sizes, directories),
   * size, history, platform.
   */
  inspect(): ImageInspect {
    return this.store.inspectRecord(this.record);
  }

  /**
   * Adds a reference (`app:2`, `127.0.0.1:5000/team/app:latest`). A reference
   * names one image: another image loses it.
   * @throws TypeError for a malformed reference or one with a digest.
   */
  async tag(reference: string): Promise<void> {
    this.record = await this.store.tagImage(this.id, reference);
  }

  /** Removes a reference from this image (the image stays, possibly without a name). */
  async untag(reference: string): Promise<void> {
    this.record = await this.store.untagImage(this.id, reference);
  }

  /**
   * Removes the image, then its layers and blobs that no other image uses.
   * @throws ConflictError while a container (in any state) uses it, or when it
   *   has several references and `force` is not set.
   */
  async remove(options: ImageRemoveOptions = {}): Promise<void> {
    await this.store.removeImage(this.id, options);
  }

  /**
   * The image as a tar stream: Docker's `docker save` format (the default) or an
   * OCI image layout (`{ format: 'oci' }`). `runtime.images.load()` reads either.
   */
  save(options: SaveOptions = {}): Readable {
    return this.store.save([this], options);
  }

  /**
   * Pushes the image to a registry (tagging it with `reference` first when
   * given): blobs the registry has are skipped, blobs of another repository of
   * the same registry are mounted, the rest uploaded; then the manifest.
   */
  async push(reference?: string, options: PushOptions = {}): Promise<PushResult> {
    const result = await this.store.push(this, reference, options);
    this.record = this.store.recordOf(this.id) ?? this.record;
    return result;
  }

  /** @internal */
  get stored(): ImageRecord {
    return this.record;
  }
}
