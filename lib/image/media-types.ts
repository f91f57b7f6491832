/** The media types of OCI and Docker image documents. */
export const MediaType = {
  /** OCI image manifest. */
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  /** OCI image index (a manifest per platform). */
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  /** OCI image configuration. */
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  /** OCI layer, an uncompressed tar. */
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  /** OCI layer, gzip-compressed. */
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  /** OCI layer, zstd-compressed. */
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  /** OCI non-distributable layer, gzip-compressed. */
  ociLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  /** Docker image manifest, schema 2. */
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  /** Docker manifest list (a manifest per platform). */
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  /** Docker image configuration. */
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  /** Docker layer, gzip-compressed. */
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  /** Docker foreign layer, gzip-compressed. */
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

/** What a client accepts when it asks for a manifest by tag. */
export const MANIFEST_ACCEPT = [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerManifestList, MediaType.dockerManifest].join(', ');

export function isIndexType(mediaType: string | undefined): boolean {
  return mediaType === MediaType.ociIndex || mediaType === MediaType.dockerManifestList;
}

export function isManifestType(mediaType: string | undefined): boolean {
  return mediaType === MediaType.ociManifest || mediaType === MediaType.dockerManifest;
}

const LAYER_TYPES = new Set<string>([
  MediaType.ociLayer,
  MediaType.ociLayerGzip,
  MediaType.ociLayerZstd,
  MediaType.ociLayerNondistributableGzip,
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  MediaType.dockerLayerGzip,
  MediaType.dockerForeignLayerGzip,
  'application/vnd.docker.image.rootfs.diff.tar',
]);

/** True for the media types of filesystem layers (tar, gzip or zstd). */
export function isLayerType(mediaType: string): boolean {
  return LAYER_TYPES.has(mediaType);
}
