/** The public shapes of images: OCI/Docker manifests and configs, the store's records, and the options of pull, push, save, load, import and commit. */

/**
 * The parts of an OCI image configuration that become a container's defaults
 * (the `config` object of an image config, Docker's names).
 */
export interface ImageConfig {
  Env?: string[];
  Cmd?: string[];
  Entrypoint?: string[];
  WorkingDir?: string;
  User?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  /** `{ "80/tcp": {} }` */
  ExposedPorts?: Record<string, object>;
  /** `{ "/data": {} }` */
  Volumes?: Record<string, object>;
  Healthcheck?: HealthcheckConfig;
  Shell?: string[];
  OnBuild?: string[] | null;
  ArgsEscaped?: boolean;
}

/** Docker's health check in an image config; durations are nanoseconds. */
export interface HealthcheckConfig {
  /** `["NONE"]`, `["CMD", …]` or `["CMD-SHELL", "…"]`. */
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** Where an image runs: `linux/amd64`, `linux/arm64/v8`, … (OCI's names). */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

/** An OCI content descriptor. */
export interface Descriptor {
  mediaType: string;
  /** `sha256:…` */
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
}

/** An OCI image manifest or a Docker schema2 manifest. */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** An OCI image index or a Docker manifest list. */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** One step of an image's history. */
export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  /** True for steps that added no layer (ENV, CMD, …). */
  empty_layer?: boolean;
}

/** An OCI image configuration: the document whose digest is the image id. */
export interface OciImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  config?: ImageConfig;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: HistoryEntry[];
  [key: string]: unknown;
}

/** An image as the local store records it (`<root>/images/<hex>.json`). */
export interface ImageRecord {
  /** `sha256:` + hex of the image configuration. */
  id: string;
  /** References that name it, normalised (`localhost/busybox:latest`). */
  references: string[];
  /** Layer ids (the layers' uncompressed digests, `diff_ids`), bottom-most first (OCI order). */
  layers: string[];
  /** The container defaults from the image configuration. */
  config: ImageConfig;
  /** When the store got it. */
  createdAt: string;
  /** The manifest, stored as a blob: what `push` and `save` send. */
  manifest?: Descriptor;
  /** `name@sha256:…` for each repository the image was pulled from or pushed to. */
  repoDigests?: string[];
  /** Bytes of the unpacked layers. */
  size?: number;
}

/** One layer as `image.inspect()` shows it. */
export interface LayerInspect {
  /** The uncompressed digest (`diff_id`): the layer's id in the store. */
  diffId: string;
  /** The blob as pushed and saved: digest, media type, size. */
  digest: string;
  mediaType: string;
  size: number;
  /** The unpacked layer directory (an overlayfs lower dir). */
  path: string;
  /** Bytes of the files in it. */
  unpackedSize: number;
}

/** What `image.inspect()` returns. */
export interface ImageInspect {
  id: string;
  references: string[];
  repoDigests: string[];
  /** The manifest's digest: the image's name in a registry. */
  digest: string;
  /** When the image was built, from its config. */
  created: string | null;
  author: string | null;
  platform: Platform;
  /** The container defaults. */
  config: ImageConfig;
  /** Bottom-most first. */
  layers: LayerInspect[];
  /** Bytes of the unpacked layers. */
  size: number;
  history: HistoryEntry[];
  /** The full image configuration document. */
  imageConfig: OciImageConfig;
  /** When the store got it. */
  storedAt: string;
}

/** Credentials for a registry. */
export type RegistryCredentials =
  | { username: string; password: string }
  /** An OAuth2 refresh token (`identitytoken` in Docker's config.json). */
  | { identityToken: string }
  /** A bearer token used as it is. */
  | { registryToken: string };

/** How to reach a registry: shared by pull and push. */
export interface RegistryOptions {
  /** Credentials for this registry; default: from Docker's config.json (`auths`, `credHelpers`, `credsStore`). */
  credentials?: RegistryCredentials;
  /**
   * Docker's config.json to read credentials from; `false` to read none.
   * Default: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
   */
  dockerConfig?: string | false;
  /** Talk plain HTTP to this registry. Always so for `localhost`, `127.0.0.1` and `[::1]`. */
  insecure?: boolean;
  /** Retries of a request that failed with a 5xx, a 429 or a broken connection. Default 4. */
  retries?: number;
  /** Milliseconds a request may wait for the registry to answer (or send more of a body). Default 60000. */
  timeout?: number;
  /** Cancels the operation. */
  signal?: AbortSignal;
}

/** A progress event of `pull` (one layer at a time) or `push`. */
export interface ImageProgress {
  /** The layer's (or blob's) digest. */
  digest: string;
  /**
   * `waiting` (for a slot or for another process pulling the same layer),
   * `exists` (already in the store / registry), `downloading` / `uploading` (bytes moved),
   * `mounted` (cross-repository mount), `done`.
   */
  status: 'waiting' | 'exists' | 'downloading' | 'uploading' | 'mounted' | 'done';
  /** Bytes moved so far. */
  current: number;
  /** The blob's size. */
  total: number;
}

/** Options of `runtime.images.pull()`. */
export interface PullOptions extends RegistryOptions {
  /** `linux/arm64/v8`, or a `Platform`; default: the host's. */
  platform?: string | Platform;
  /** Layers downloaded and unpacked at once. Default 3. */
  concurrency?: number;
  /** Create character and block devices found in layers. Default false: such a layer fails. */
  allowDevices?: boolean;
  /**
   * The most bytes one layer may have once decompressed (its tar). Default:
   * 1 GiB, or 100 times the layer's compressed size when that is more; a
   * larger layer fails with `ERR_LAYER_TOO_LARGE` (a decompression bomb).
   * `Infinity` turns the limit off.
   */
  maxLayerSize?: number;
  /** Called as layers move. */
  onProgress?: (event: ImageProgress) => void;
}

/** Options of `image.push()`. */
export interface PushOptions extends RegistryOptions {
  /** Upload blobs in chunks of this many bytes (PATCH + PUT); default: one monolithic PUT. */
  chunkSize?: number;
  /** Blobs uploaded at once. Default 3. */
  concurrency?: number;
  onProgress?: (event: ImageProgress) => void;
}

/** What `image.push()` returns. */
export interface PushResult {
  /** The reference pushed to. */
  reference: string;
  /** The manifest's digest in the registry. */
  digest: string;
  size: number;
}

/** Options of `image.save()`. */
export interface SaveOptions {
  /** `docker` (what `docker save` writes, the default) or `oci` (an OCI image layout). */
  format?: 'docker' | 'oci';
}

/** Options of `runtime.images.load()`. */
export interface LoadOptions {
  /** The platform to take from a multi-platform OCI archive; default: the host's. */
  platform?: string | Platform;
  allowDevices?: boolean;
  /** See {@link PullOptions.maxLayerSize}. */
  maxLayerSize?: number;
}

/** Options of `runtime.images.import()`. */
export interface ImportOptions {
  /** The reference to tag the new image with. */
  ref?: string;
  /** Dockerfile instructions applied to the config: `CMD`, `ENTRYPOINT`, `ENV`, `WORKDIR`, `USER`, `LABEL`, `EXPOSE`, `VOLUME`, `STOPSIGNAL`. */
  changes?: string[];
  /** The history comment. */
  message?: string;
  /** The platform recorded in the config; default: the host's. */
  platform?: string | Platform;
  allowDevices?: boolean;
  /** See {@link PullOptions.maxLayerSize}. */
  maxLayerSize?: number;
}

/** Options of `runtime.images.commit()`. */
export interface CommitOptions {
  /** The reference to tag the new image with. */
  ref?: string;
  /** The history comment. */
  message?: string;
  author?: string;
  /** Dockerfile instructions applied to the config (see {@link ImportOptions.changes}). */
  changes?: string[];
  /**
   * Freeze a running container's processes while its changes are read, as
   * `docker commit` does. Default true; with false the read is still safe
   * (nothing the container swaps in is followed) but may see half-written files.
   */
  pause?: boolean;
}

/** Options of `runtime.images.prune()`. */
export interface PruneOptions {
  /** Only images without a reference (the default, like `docker image prune`); `false`: every image no container uses (`-a`). */
  dangling?: boolean;
}

/** What `runtime.images.prune()` returns. */
export interface PruneResult {
  /** Ids of the images removed. */
  images: string[];
  /** Ids of the layers removed. */
  layers: string[];
  /** Bytes freed (unpacked layers and blobs). */
  reclaimedBytes: number;
}

/** Options of `image.remove()`. */
export interface ImageRemoveOptions {
  /** Remove it even when it has several references (default: untag `reference` only). Never removes an image a container uses. */
  force?: boolean;
}

/** When `runtime.containers.create()` pulls its image. */
export type PullPolicy = 'missing' | 'always' | 'never';
