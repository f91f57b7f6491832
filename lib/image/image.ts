import type { ImageConfig, ImageRecord } from '../../types/image.js';

/** An image in the local store: read-only layers and the configuration containers start from. */
export class Image {
  /** @internal */
  constructor(
    private readonly record: ImageRecord,
    /** Layer directories, top-most first (overlayfs `lowerdir` order). */
    readonly layerPaths: readonly string[],
  ) {}

  /** `sha256:…` */
  get id(): string {
    return this.record.id;
  }

  /** The references naming this image. */
  get references(): readonly string[] {
    return this.record.references;
  }

  /** The configuration containers take their defaults from. */
  get config(): Readonly<ImageConfig> {
    return this.record.config;
  }

  /** The stored record: id, references, layers, config, creation time. */
  inspect(): ImageRecord {
    return structuredClone(this.record);
  }
}
