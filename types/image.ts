/** The public shapes of images: OCI/Docker manifests and configs, the store's records, and the options of pull, push, save, load, import and commit. */

/**
 * The parts of an OCI image configuration that become a container's defaults
 * (the `config` object of an image config, Docker's names).
 */
export interface ImageConfig {
  /** Environment variables, `KEY=value`, set for the container's command (a container's `env` adds to them). */
  Env?: string[];
  /** Default arguments of the command; with `Entrypoint`, appended to it (a container's `cmd` replaces them). */
  Cmd?: string[];
  /** The executable and first arguments of the command; `Cmd` is appended to them. */
  Entrypoint?: string[];
  /** The command's working directory, absolute; default `/`. */
  WorkingDir?: string;
  /** The user the command runs as: `user`, `uid`, `user:group` or `uid:gid`; default root. */
  User?: string;
  /** Metadata, key → value (`org.opencontainers.image.*`, …); a container inherits them. */
  Labels?: Record<string, string>;
  /** The signal that stops a container of the image (`SIGTERM`, `SIGQUIT`, …); default SIGTERM. */
  StopSignal?: string;
  /** `{ "80/tcp": {} }` */
  ExposedPorts?: Record<string, object>;
  /** `{ "/data": {} }` */
  Volumes?: Record<string, object>;
  /** Docker's health check for containers of the image (`HEALTHCHECK`). */
  Healthcheck?: HealthcheckConfig;
  /** The shell of the shell form of `RUN`, `CMD` and `ENTRYPOINT` in a build (Docker's `SHELL`; default `["/bin/sh", "-c"]`). */
  Shell?: string[];
  /** Dockerfile instructions run when a later build uses this image as its base (Docker's `ONBUILD`). */
  OnBuild?: string[] | null;
  /** Docker, Windows images only (deprecated): `Cmd`/`Entrypoint` hold one already-escaped command line. */
  ArgsEscaped?: boolean;
}

/** Docker's health check in an image config; durations are nanoseconds. */
export interface HealthcheckConfig {
  /** `["NONE"]`, `["CMD", …]` or `["CMD-SHELL", "…"]`. */
  Test?: string[];
  /** Time between checks, in nanoseconds (0: inherit). */
  Interval?: number;
  /** Time one check may take before it counts as failed, in nanoseconds (0: inherit). */
  Timeout?: number;
  /** Start-up time during which failed checks do not count against `Retries`, in nanoseconds (0: inherit). */
  StartPeriod?: number;
  /** Time between checks during the start period, in nanoseconds (0: inherit). */
  StartInterval?: number;
  /** Consecutive failed checks after which the container is unhealthy (0: inherit). */
  Retries?: number;
}

/** Where an image runs: `linux/amd64`, `linux/arm64/v8`, … (OCI's names). */
export interface Platform {
  /** The operating system (`linux`), as Go's `GOOS` names it. */
  os: string;
  /** The CPU architecture (`amd64`, `arm64`, `arm`, …), as Go's `GOARCH` names it. */
  architecture: string;
  /** The CPU variant (`v8` of `arm64`, `v7` of `arm`). */
  variant?: string;
  /** The operating system's version (Windows images: `10.0.14393.1066`). */
  'os.version'?: string;
  /** Operating system features the image requires (Windows images: `win32k`). */
  'os.features'?: string[];
}

/** An OCI content descriptor. */
export interface Descriptor {
  /** The media type of the content (`application/vnd.oci.image.manifest.v1+json`, a layer's type, …). */
  mediaType: string;
  /** `sha256:…` */
  digest: string;
  /** The blob's size in bytes. */
  size: number;
  /** Other URLs the blob may be downloaded from (non-distributable layers). */
  urls?: string[];
  /** Metadata, key → value (`org.opencontainers.image.*`, …). */
  annotations?: Record<string, string>;
  /** The platform the referenced manifest is for (in an image index). */
  platform?: Platform;
  /** The artifact's type, when the descriptor points to an artifact manifest. */
  artifactType?: string;
}

/** An OCI image manifest or a Docker schema2 manifest. */
export interface ImageManifest {
  /** Always 2. */
  schemaVersion: 2;
  /** `application/vnd.oci.image.manifest.v1+json`, or Docker's `application/vnd.docker.distribution.manifest.v2+json`. */
  mediaType?: string;
  /** The artifact's type, when the manifest describes an artifact rather than an image. */
  artifactType?: string;
  /** The image configuration blob (an {@link OciImageConfig}). */
  config: Descriptor;
  /** The layer blobs, bottom-most first. */
  layers: Descriptor[];
  /** The manifest this one refers to (a signature or an SBOM attached to an image). */
  subject?: Descriptor;
  /** Metadata, key → value (`org.opencontainers.image.*`, …). */
  annotations?: Record<string, string>;
}

/** An OCI image index or a Docker manifest list. */
export interface ImageIndex {
  /** Always 2. */
  schemaVersion: 2;
  /** `application/vnd.oci.image.index.v1+json`, or Docker's `application/vnd.docker.distribution.manifest.list.v2+json`. */
  mediaType?: string;
  /** The manifests, typically one per platform (each descriptor's `platform` says which). */
  manifests: Descriptor[];
  /** Metadata, key → value (`org.opencontainers.image.*`, …). */
  annotations?: Record<string, string>;
}

/** One step of an image's history. */
export interface HistoryEntry {
  /** When the step was made (RFC 3339). */
  created?: string;
  /** The command that made the step (a Dockerfile instruction; for a commit, the container's command). */
  created_by?: string;
  /** Who made the step. */
  author?: string;
  /** A note on the step (the message of a commit or an import). */
  comment?: string;
  /** True for steps that added no layer (ENV, CMD, …). */
  empty_layer?: boolean;
}

/** An OCI image configuration: the document whose digest is the image id. */
export interface OciImageConfig {
  /** When the image was made (RFC 3339). */
  created?: string;
  /** Who made the image. */
  author?: string;
  /** The CPU architecture (`amd64`, `arm64`, …), as Go's `GOARCH` names it. */
  architecture: string;
  /** The operating system (`linux`), as Go's `GOOS` names it. */
  os: string;
  /** The CPU variant (`v8` of `arm64`, `v7` of `arm`). */
  variant?: string;
  /** The operating system's version (Windows images). */
  'os.version'?: string;
  /** The container defaults. */
  config?: ImageConfig;
  /** The layers that make the root filesystem, by their uncompressed digests. */
  rootfs: {
    /** Always `layers`. */
    type: 'layers';
    /** The layers' uncompressed digests (`sha256:…`), bottom-most first. */
    diff_ids: string[];
  };
  /** One entry per build step, oldest first, steps that added no layer included. */
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
  /** A build step's image, kept as build cache: not listed, removed by prune once it has no reference. */
  intermediate?: boolean;
}

/** One layer as `image.inspect()` shows it. */
export interface LayerInspect {
  /** The uncompressed digest (`diff_id`): the layer's id in the store. */
  diffId: string;
  /** The blob as pushed and saved: digest, media type, size. */
  digest: string;
  /** The blob's media type (`application/vnd.oci.image.layer.v1.tar+gzip`, …). */
  mediaType: string;
  /** The blob's size in bytes (compressed, as pushed); 0 when the store has no manifest for the image. */
  size: number;
  /** The unpacked layer directory (an overlayfs lower dir). */
  path: string;
  /** Bytes of the files in it. */
  unpackedSize: number;
}

/** What `image.inspect()` returns. */
export interface ImageInspect {
  /** The image id: `sha256:` + hex of the image configuration. */
  id: string;
  /** References that name it, normalised (`localhost/busybox:latest`). */
  references: string[];
  /** `name@sha256:…` for each repository the image was pulled from or pushed to. */
  repoDigests: string[];
  /** The manifest's digest: the image's name in a registry. */
  digest: string;
  /** When the image was built, from its config. */
  created: string | null;
  /** Who made the image, from its config; `null` when it does not say. */
  author: string | null;
  /** Its OS, architecture and variant, from its config. */
  platform: Platform;
  /** The container defaults. */
  config: ImageConfig;
  /** Bottom-most first. */
  layers: LayerInspect[];
  /** Bytes of the unpacked layers. */
  size: number;
  /** Its build steps, from its config, oldest first. */
  history: HistoryEntry[];
  /** The full image configuration document. */
  imageConfig: OciImageConfig;
  /** When the store got it. */
  storedAt: string;
}

/** Credentials for a registry. */
export type RegistryCredentials =
  | {
      /** The user name. */
      username: string;
      /** The password (or an access token used as one). */
      password: string;
    }
  /** An OAuth2 refresh token (`identitytoken` in Docker's config.json). */
  | {
      /** The refresh token, exchanged at the registry's token service for bearer tokens. */
      identityToken: string;
    }
  /** A bearer token used as it is. */
  | {
      /** The bearer token, sent to the registry as it is. */
      registryToken: string;
    };

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
  /** Called as blobs are checked, mounted and uploaded. */
  onProgress?: (event: ImageProgress) => void;
}

/** What `image.push()` returns. */
export interface PushResult {
  /** The reference pushed to. */
  reference: string;
  /** The manifest's digest in the registry. */
  digest: string;
  /** The manifest's size in bytes. */
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
  /** Create character and block devices found in layers. Default false: such a layer fails. */
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
  /** Create character and block devices found in the tar. Default false: such an entry fails. */
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
  /** The author recorded in the new image's config and history entry. */
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
