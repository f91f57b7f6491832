import { readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { containerPaths, type ContainerConfig } from '../container/container-config.js';
import type {
  CommitOptions,
  ImageInspect,
  ImageManifest,
  ImageRecord,
  ImageRemoveOptions,
  ImportOptions,
  LoadOptions,
  OciImageConfig,
  Platform,
  PruneOptions,
  PruneResult,
  PullOptions,
  PullPolicy,
  PushOptions,
  PushResult,
  SaveOptions,
} from '../../types/image.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { readJsonIfExists, writeJsonAtomic } from '../state/atomic-file.js';
import { BUILTIN_BUSYBOX_REFERENCE, busyboxLayerTar } from './builtin-busybox.js';
import { BuildCache } from '../build/build-cache.js';
import type { BuildOptions } from '../../types/build.js';
import type { Runtime } from '../runtime.js';
import { ContentStore } from './content-store.js';
import type { UsernsContext } from '../userns/userns-file-ops.js';
import { digestHex, sha256 } from './digest.js';
import { Image } from './image.js';
import { loadArchive, saveArchive } from './image-archive.js';
import { commitContainer, importRootfs } from './image-import.js';
import { pullImage } from './image-pull.js';
import { pushImage } from './image-push.js';
import { checkImageConfig } from './image-config-check.js';
import { ensureLayer } from './layer-ingest.js';
import { MediaType } from './media-types.js';
import { containerDefaults, parseImageConfig } from './manifest.js';
import { hostPlatform, platformFields } from './platform.js';
import { parseReference } from './reference.js';

/** What an addition (pull, load, import, commit) hands over to be recorded. */
export interface NewImage {
  configBytes: Buffer;
  manifestBytes: Buffer;
  manifestMediaType: string;
  /** Normalised references to give it. */
  references: string[];
  /** `name@sha256:…` */
  repoDigests?: string[];
  /** A build step's image (build cache): hidden from `list()` while it has no reference. */
  intermediate?: boolean;
}

const PULL_POLICIES: readonly PullPolicy[] = ['missing', 'always', 'never'];

/**
 * `runtime.images`: the local image store — pull, list, get, tag, remove,
 * prune, import, save and load, commit, push. Layers are unpacked once each
 * (`<root>/layers/<diff_id>/diff`) and shared by every image that has them;
 * blobs are kept for push and save. Every process that opens the same root
 * sees the same images; concurrent pulls of one layer fetch it once.
 */
export class ImageStore {
  /** @internal */
  readonly content: ContentStore;
  private readonly containersDir: string;

  /** @internal */
  constructor(
    private readonly root: string,
    userns?: UsernsContext,
  ) {
    this.content = new ContentStore(root, userns);
    this.containersDir = join(root, 'containers');
    this.content.removeStaleTemporaries();
  }

  // ---- records

  /** @internal The record of image `id`, as on disk now. */
  recordOf(id: string): ImageRecord | undefined {
    return readJsonIfExists<ImageRecord>(join(this.content.imagesDir, `${digestHex(id)}.json`));
  }

  private records(): ImageRecord[] {
    return readdirSync(this.content.imagesDir)
      .filter((file) => /^[a-f0-9]{64}\.json$/.test(file))
      .map((file) => readJsonIfExists<ImageRecord>(join(this.content.imagesDir, file)))
      .filter((record): record is ImageRecord => record !== undefined);
  }

  private writeRecord(record: ImageRecord): void {
    writeJsonAtomic(join(this.content.imagesDir, `${digestHex(record.id)}.json`), record);
  }

  private image(record: ImageRecord): Image {
    return new Image(this, record, [...record.layers].reverse().map((layer) => this.content.layerPath(layer)));
  }

  /** All images in the store (a build's intermediate images, its cache, are left out). */
  list(): Image[] {
    return this.records()
      .filter((record) => !record.intermediate || record.references.length > 0)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
      .map((record) => this.image(record));
  }

  /** The record a reference, `name@digest`, image id or id prefix (12+ hex digits) names. */
  private find(reference: string): ImageRecord | undefined {
    if (typeof reference !== 'string' || reference === '') throw new TypeError('an image reference or id must be a non-empty string');
    const id = /^(?:sha256:)?([a-f0-9]{12,64})$/.exec(reference)?.[1];
    if (id) {
      const matches = this.records().filter((record) => digestHex(record.id).startsWith(id));
      if (matches.length > 1) throw new ConflictError(`the id prefix ${reference} names ${matches.length} images; give more digits`);
      if (matches[0] || id.length === 64 || reference.startsWith('sha256:')) return matches[0];
    }
    const ref = parseReference(reference);
    const records = this.records();
    if (ref.digest) {
      const byDigest = `${ref.domain}/${ref.path}@${ref.digest}`;
      return records.find((record) => record.repoDigests?.includes(byDigest) || record.references.includes(ref.canonical));
    }
    return records.find((record) => record.references.includes(ref.canonical));
  }

  /**
   * The image a reference or id names. `localhost/busybox` is built on first
   * use from the host's static busybox, so it is always available offline.
   * @throws NotFoundError when the store has no such image (it does not pull: see `pull`).
   */
  async get(reference: string): Promise<Image> {
    const record = this.find(reference);
    if (record) return this.image(record);
    if (!/^(?:sha256:)?[a-f0-9]{64}$/.test(reference) && parseReference(reference).canonical === BUILTIN_BUSYBOX_REFERENCE) {
      return this.createBuiltinBusybox();
    }
    throw new NotFoundError(
      `image ${reference} is not in the local store; pull it with runtime.images.pull('${reference}') (the built-in image is ${BUILTIN_BUSYBOX_REFERENCE})`,
      { path: this.content.imagesDir },
    );
  }

  /**
   * Pulls an image from its registry: `alpine`, `127.0.0.1:5000/app:1.0`,
   * `name@sha256:…`. An index (multi-platform image) gives the host's
   * platform, or `options.platform`.
   * @throws RegistryAuthError when credentials are missing or refused;
   *   NotFoundError when the registry has no such manifest; ImageContentError
   *   on a digest or size mismatch or a malformed manifest; LayerUnpackError for
   *   an unsafe layer; ImagePullError when the registry cannot be reached.
   *   A failed pull leaves nothing of itself behind.
   */
  async pull(reference: string, options: PullOptions = {}): Promise<Image> {
    const ref = parseReference(reference);
    return this.adding(async (created) => {
      const pulled = await pullImage(this.content, ref, options, created);
      const repository = `${ref.domain}/${ref.path}`;
      return this.register({
        configBytes: pulled.configBytes,
        manifestBytes: pulled.manifestBytes,
        manifestMediaType: pulled.manifestMediaType,
        references: ref.tag ? [`${repository}:${ref.tag}`] : [],
        repoDigests: [`${repository}@${pulled.repoDigest}`],
      });
    });
  }

  /**
   * @internal The image for `runtime.containers.create()`: an `Image` as it
   * is, a reference from the store, pulled per `policy`.
   */
  async resolve(image: string | Image, policy: PullPolicy = 'missing', platform?: string | Platform): Promise<Image> {
    if (image instanceof Image) return image;
    if (!PULL_POLICIES.includes(policy)) throw new TypeError(`pull must be one of ${PULL_POLICIES.join(', ')}, not ${String(policy)}`);
    const builtin = !/^(?:sha256:)?[a-f0-9]{12,64}$/.test(image) && parseReference(image).canonical === BUILTIN_BUSYBOX_REFERENCE;
    if (policy === 'always' && !builtin) return this.pull(image, platform === undefined ? {} : { platform });
    try {
      return await this.get(image);
    } catch (error) {
      if (!(error instanceof NotFoundError) || policy === 'never') throw error;
      return this.pull(image, platform === undefined ? {} : { platform });
    }
  }

  /**
   * Runs an addition holding the collector lock (shared). When it fails, the
   * layers and blobs it made are removed again, unless another addition is
   * running (then the next prune removes them).
   */
  /** @internal */
  async adding<T>(fn: (created: string[]) => Promise<T>): Promise<T> {
    const created: string[] = [];
    try {
      return await this.content.withCollectorLock(() => fn(created), false);
    } catch (error) {
      await this.content.withCollectorLockIfFree(async () => void (await this.collect())).catch(() => {});
      throw error;
    }
  }

  /** @internal Records an image whose layers are in the store: blobs, then the record; references move to it. */
  async register(input: NewImage): Promise<Image> {
    const config = parseImageConfig(input.configBytes, 'image config');
    checkImageConfig(config, input.configBytes, input.references[0] ?? sha256(input.configBytes)); // every addition passes here
    const id = this.content.writeBlob(input.configBytes);
    const manifestDigest = this.content.writeBlob(input.manifestBytes);
    const size = config.rootfs.diff_ids.reduce((sum, diffId) => sum + (this.content.layerRecord(diffId)?.size ?? 0), 0);
    return this.content.withRecordsLock(async () => {
      const existing = this.recordOf(id);
      const repositories = new Set((input.repoDigests ?? []).map((d) => d.split('@')[0]));
      const record: ImageRecord = {
        id,
        references: [...new Set([...(existing?.references ?? []), ...input.references])],
        layers: config.rootfs.diff_ids,
        config: containerDefaults(config),
        createdAt: existing?.createdAt ?? new Date().toISOString(),
        manifest: { mediaType: input.manifestMediaType, digest: manifestDigest, size: input.manifestBytes.length },
        repoDigests: [...(existing?.repoDigests ?? []).filter((d) => !repositories.has(d.split('@')[0])), ...(input.repoDigests ?? [])],
        size,
      };
      // a build step's image stays hidden until something names it (or an image is stored as itself)
      if (input.intermediate && (existing === undefined || existing.intermediate) && record.references.length === 0) record.intermediate = true;
      this.takeReferences(id, input.references);
      this.writeRecord(record);
      return this.image(record);
    });
  }

  /** Removes `references` from every image but `id` (a reference names one image). Records lock held. */
  private takeReferences(id: string, references: readonly string[]): void {
    if (references.length === 0) return;
    for (const other of this.records()) {
      if (other.id === id || !other.references.some((r) => references.includes(r))) continue;
      this.writeRecord({ ...other, references: other.references.filter((r) => !references.includes(r)) });
    }
  }

  private async createBuiltinBusybox(): Promise<Image> {
    return this.adding(async (created) => {
      const tar = await busyboxLayerTar();
      const diffId = sha256(tar);
      await ensureLayer(
        this.content,
        { open: () => Readable.from([tar]), descriptor: { digest: diffId, size: tar.length }, diffId, what: 'the built-in busybox layer' },
        { keepBlob: true },
        created,
      );
      const created_at = '2000-01-01T00:00:00Z';
      const config: OciImageConfig = {
        created: created_at,
        ...platformFields(hostPlatform()),
        config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
        rootfs: { type: 'layers', diff_ids: [diffId] },
        history: [{ created: created_at, created_by: "berth: the host's static busybox" }],
      };
      const configBytes = Buffer.from(JSON.stringify(config));
      const manifest: ImageManifest = {
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { mediaType: MediaType.ociConfig, digest: sha256(configBytes), size: configBytes.length },
        layers: [{ mediaType: MediaType.ociLayer, digest: diffId, size: tar.length }],
      };
      return this.register({
        configBytes,
        manifestBytes: Buffer.from(JSON.stringify(manifest)),
        manifestMediaType: MediaType.ociManifest,
        references: [BUILTIN_BUSYBOX_REFERENCE],
      });
    });
  }

  // ---- in and out

  /** @internal The runtime this store belongs to (builds run containers). */
  runtime?: Runtime;

  /**
   * Builds an image from a Dockerfile and a context directory, like
   * `docker build`: every stage the target needs (independent ones at once),
   * RUN steps in berth containers (network `none` unless `RUN --network=host`),
   * each RUN, COPY and ADD a layer, steps reused from the build cache when
   * nothing they depend on changed. The result is tagged with `tags`.
   * @throws DockerfileError naming file, line and column for a Dockerfile that cannot be built as written;
   *   BuildStepError for a failed step (a RUN's exit code and last output lines). Nothing is tagged then.
   *
   * @example
   * ```ts
   * const image = await runtime.images.build({ context: './app', tags: ['app:dev'], buildArgs: { VERSION: '1.2' } });
   * ```
   */
  async build(options: BuildOptions): Promise<Image> {
    if (!this.runtime) throw new TypeError('build: this image store belongs to no runtime; use runtime.images.build()');
    const { buildImage } = await import('../build/image-builder.js');
    return buildImage(this.runtime, options);
  }

  /**
   * Makes an image from a root filesystem tarball (plain, gzip or zstd), like
   * `docker import`.
   */
  async import(source: Readable, options: ImportOptions = {}): Promise<Image> {
    return this.adding((created) => importRootfs(this, source, options, created));
  }

  /**
   * Loads the images of a `docker save` archive or an OCI image layout archive
   * (plain, gzip or zstd). Returns them in archive order.
   * @throws ImageContentError for a malformed archive or content that does not match its digests.
   */
  async load(source: Readable, options: LoadOptions = {}): Promise<Image[]> {
    return this.adding((created) => loadArchive(this, source, options, created));
  }

  /** Several images in one archive (see `image.save()`). */
  save(images: readonly Image[], options: SaveOptions = {}): Readable {
    return saveArchive(this.content, images.map((image) => image.stored), options);
  }

  /**
   * A new image from a container: its image's layers plus what the container
   * changed (its upper layer), like `docker commit`. `changes` are Dockerfile
   * instructions applied to the config.
   * @param container the container, or its id or name.
   */
  async commit(container: { id: string } | string, options: CommitOptions = {}): Promise<Image> {
    const config = this.containerConfig(container);
    return this.adding((created) => commitContainer(this, config, containerPaths(join(this.containersDir, config.id)), options, created));
  }

  private containerConfig(container: { id: string } | string): ContainerConfig {
    const key = typeof container === 'string' ? container : container?.id;
    if (typeof key !== 'string' || key === '' || key.includes('/')) throw new TypeError('commit: expected a container, or its id or name');
    let id = key;
    try {
      id = readlinkSync(join(this.root, 'names', key)); // a name links to its container's id
    } catch {
      // not a name: an id
    }
    const config = readJsonIfExists<ContainerConfig>(join(this.containersDir, id, 'config.json'));
    if (!config) throw new NotFoundError(`no such container: ${key}`);
    return config;
  }

  /** @internal */
  push(image: Image, reference: string | undefined, options: PushOptions): Promise<PushResult> {
    return pushImage(this, image, reference, options);
  }

  // ---- tags, removal, garbage

  /** @internal */
  async tagImage(id: string, reference: string): Promise<ImageRecord> {
    const ref = parseReference(reference);
    if (ref.digest) throw new TypeError(`cannot tag with a digest reference (${reference}): a digest names content, not a tag`);
    return this.content.withRecordsLock(async () => {
      const record = this.recordOf(id);
      if (!record) throw new NotFoundError(`image ${id} was removed`);
      this.takeReferences(id, [ref.canonical]);
      if (!record.references.includes(ref.canonical)) record.references.push(ref.canonical);
      this.writeRecord(record);
      return record;
    });
  }

  /** @internal Records `name@digest` (one per repository) after a push. */
  async addRepoDigest(id: string, repoDigest: string): Promise<void> {
    const repository = repoDigest.split('@')[0];
    await this.content.withRecordsLock(async () => {
      const record = this.recordOf(id);
      if (!record) return;
      record.repoDigests = [...(record.repoDigests ?? []).filter((d) => d.split('@')[0] !== repository), repoDigest];
      this.writeRecord(record);
    });
  }

  /** @internal */
  async untagImage(id: string, reference: string): Promise<ImageRecord> {
    const canonical = parseReference(reference).canonical;
    return this.content.withRecordsLock(async () => {
      const record = this.recordOf(id);
      if (!record) throw new NotFoundError(`image ${id} was removed`);
      if (!record.references.includes(canonical)) throw new NotFoundError(`image ${id} has no reference ${canonical}`);
      record.references = record.references.filter((r) => r !== canonical);
      this.writeRecord(record);
      return record;
    });
  }

  /**
   * Removes what `reference` names, like `docker rmi`: a reference of an image
   * that has others is only untagged; otherwise the image goes (see `image.remove()`).
   */
  async remove(reference: string, options: ImageRemoveOptions = {}): Promise<void> {
    const record = this.find(reference);
    if (!record) throw new NotFoundError(`no such image: ${reference}`);
    const isId = /^(?:sha256:)?[a-f0-9]{12,64}$/.test(reference) && record.id.includes(reference.replace(/^sha256:/, ''));
    if (!isId && record.references.length > 1) {
      await this.untagImage(record.id, reference);
      return;
    }
    await this.removeImage(record.id, options);
  }

  /** The containers (id and name) whose image is `id`, in any state. */
  private containersUsing(id: string): string[] {
    let dirs: string[];
    try {
      dirs = readdirSync(this.containersDir);
    } catch {
      return [];
    }
    return dirs
      .map((dir) => readJsonIfExists<ContainerConfig>(join(this.containersDir, dir, 'config.json')))
      .filter((config): config is ContainerConfig => config?.imageId === id)
      .map((config) => config.name ?? config.id.slice(0, 12));
  }

  /** @internal */
  async removeImage(id: string, options: ImageRemoveOptions): Promise<void> {
    await this.content.withRecordsLock(async () => {
      const record = this.recordOf(id);
      if (!record) throw new NotFoundError(`no such image: ${id}`);
      const users = this.containersUsing(id);
      if (users.length) {
        throw new ConflictError(
          `image ${record.references[0] ?? id} is used by container${users.length > 1 ? 's' : ''} ${users.join(', ')}; remove ${users.length > 1 ? 'them' : 'it'} first`,
        );
      }
      if (record.references.length > 1 && !options.force) {
        throw new ConflictError(`image ${id} has ${record.references.length} references (${record.references.join(', ')}); untag them or pass force: true`);
      }
      rmSync(join(this.content.imagesDir, `${digestHex(id)}.json`), { force: true });
    });
    await this.content.withCollectorLock(async () => this.collect(), true);
  }

  /**
   * Removes images no container uses: only those without a reference
   * (`dangling`, the default), or all of them (`dangling: false`); then every
   * layer and blob no image or container needs, and the build cache entries
   * of the images removed. A build step's image whose layers begin a tagged
   * image's (its build cache) is kept unless `dangling: false`, which also
   * empties the `RUN --mount=type=cache` directories.
   */
  async prune(options: PruneOptions = {}): Promise<PruneResult> {
    if (typeof options !== 'object' || options === null) throw new TypeError('prune options must be an object');
    const dangling = options.dangling ?? true;
    const images = await this.content.withRecordsLock(async () => {
      const removed: string[] = [];
      const records = this.records();
      // a build step's image whose layers start a tagged image's is that image's build cache (Docker keeps such parents too)
      const tagged = records.filter((record) => record.references.length > 0).map((record) => record.layers);
      const isCacheOfTagged = (record: ImageRecord) =>
        record.intermediate === true && tagged.some((layers) => record.layers.every((layer, i) => layers[i] === layer));
      for (const record of records) {
        if (dangling && (record.references.length > 0 || isCacheOfTagged(record))) continue;
        if (this.containersUsing(record.id).length > 0) continue;
        rmSync(join(this.content.imagesDir, `${digestHex(record.id)}.json`), { force: true });
        removed.push(record.id);
      }
      return removed;
    });
    const collected = await this.content.withCollectorLock(async () => this.collect(), true);
    const cache = new BuildCache(this.root);
    cache.prune((id) => this.recordOf(id) !== undefined);
    if (!dangling) cache.removeMounts();
    return { images, ...collected };
  }

  /**
   * Removes layers and blobs that no image record (and no container) refers
   * to. The caller holds the collector lock exclusively, so no addition is
   * running.
   */
  private async collect(): Promise<{ layers: string[]; reclaimedBytes: number }> {
    const keepLayers = new Set<string>();
    const keepBlobs = new Set<string>();
    for (const record of this.records()) {
      for (const layer of record.layers) keepLayers.add(layer);
      keepBlobs.add(record.id);
      if (!record.manifest) continue;
      keepBlobs.add(record.manifest.digest);
      try {
        const manifest = JSON.parse(this.content.readBlob(record.manifest.digest).toString('utf8')) as ImageManifest;
        for (const layer of manifest.layers ?? []) keepBlobs.add(layer.digest);
      } catch {
        // an unreadable manifest keeps nothing more
      }
    }
    for (const dir of safeReaddir(this.containersDir)) {
      const config = readJsonIfExists<ContainerConfig>(join(this.containersDir, dir, 'config.json'));
      for (const path of config?.layers ?? []) {
        const hex = /\/layers\/([a-f0-9]{64})\/diff$/.exec(path)?.[1];
        if (hex) keepLayers.add(`sha256:${hex}`);
      }
    }
    const layers: string[] = [];
    let reclaimedBytes = 0;
    for (const diffId of this.content.allLayers()) {
      if (keepLayers.has(diffId)) continue;
      reclaimedBytes += this.content.layerRecord(diffId)?.size ?? 0;
      await this.content.removeTree(this.content.layerDir(diffId));
      layers.push(diffId);
    }
    for (const digest of this.content.allBlobs()) {
      if (keepBlobs.has(digest)) continue;
      try {
        reclaimedBytes += statSync(this.content.blobPath(digest)).size;
      } catch {
        // already gone
      }
      rmSync(this.content.blobPath(digest), { force: true });
    }
    return { layers, reclaimedBytes };
  }

  /** @internal */
  inspectRecord(record: ImageRecord): ImageInspect {
    const config = parseImageConfig(this.content.readBlob(record.id), `the config of image ${record.id}`);
    const manifest = record.manifest
      ? (JSON.parse(this.content.readBlob(record.manifest.digest).toString('utf8')) as ImageManifest)
      : undefined;
    const layers = record.layers.map((diffId, i) => {
      const blob = manifest?.layers[i];
      return {
        diffId,
        digest: blob?.digest ?? diffId,
        mediaType: blob?.mediaType ?? MediaType.ociLayer,
        size: blob?.size ?? 0,
        path: this.content.layerPath(diffId),
        unpackedSize: this.content.layerRecord(diffId)?.size ?? 0,
      };
    });
    return {
      id: record.id,
      references: [...record.references],
      repoDigests: [...(record.repoDigests ?? [])],
      digest: record.manifest?.digest ?? record.id,
      created: config.created ?? null,
      author: config.author ?? null,
      platform: platformOf(config),
      config: structuredClone(record.config),
      layers,
      size: layers.reduce((sum, layer) => sum + layer.unpackedSize, 0),
      history: config.history ?? [],
      imageConfig: config,
      storedAt: record.createdAt,
    };
  }
}

function platformOf(config: OciImageConfig): Platform {
  return { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) };
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
