/**
 * New layers made here: a root filesystem tarball (`import`) and a
 * container's upper directory (`commit`). The tar is compressed once into a
 * gzip blob (hashing both forms on the way), then unpacked from that blob by
 * the same pipeline a pull uses.
 */
import { ownerMaps } from '../userns/owner-ids.js';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, rmSync } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { pack } from 'tar-stream';
import { readContainerCgroup } from '../cgroup/cgroup-driver.js';
import type { ContainerCgroup } from '../cgroup/container-cgroup.js';
import type { ContainerConfig, ContainerPaths } from '../container/container-config.js';
import type { CommitOptions, Descriptor, ImageManifest, ImportOptions, OciImageConfig } from '../../types/image.js';
import { InvalidStateError, NotFoundError } from '../errors.js';
import type { ContentStore } from './content-store.js';
import { decompress } from './decompress.js';
import type { Image } from './image.js';
import { applyChanges } from './image-changes.js';
import type { ImageStore } from './image-store.js';
import { checkContainerDefaults } from './image-config-check.js';
import { checkMaxLayerSize, ensureLayer, type IngestOptions } from './layer-ingest.js';
import { packLayer } from './layer-pack.js';
import { MediaType } from './media-types.js';
import { parseImageConfig } from './manifest.js';
import { hostPlatform, parsePlatform, platformFields } from './platform.js';
import { parseReference } from './reference.js';
import { PRIVATE_FILE_MODE } from '../state/private-state.js';

/**
 * Makes a layer from a tar stream (plain, gzip or zstd): stores it as a gzip
 * blob and unpacks it. Returns its diff_id and blob descriptor.
 */
export async function layerFromTar(
  content: ContentStore,
  source: AsyncIterable<Buffer>,
  what: string,
  created: string[],
  limits: Pick<IngestOptions, 'allowDevices' | 'maxLayerSize'>,
): Promise<{ diffId: string; descriptor: Descriptor }> {
  const temp = content.tempPath(content.blobsDir);
  try {
    const tarHash = createHash('sha256');
    const blobHash = createHash('sha256');
    let blobSize = 0;
    async function* tar(): AsyncGenerator<Buffer> {
      for await (const chunk of decompress(source)) {
        tarHash.update(chunk);
        yield chunk;
      }
    }
    const count = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        blobHash.update(chunk);
        blobSize += chunk.length;
        callback(null, chunk);
      },
    });
    await pipeline(Readable.from(tar()), createGzip({ level: 6 }), count, createWriteStream(temp, { flags: 'wx', mode: PRIVATE_FILE_MODE }));
    const diffId = `sha256:${tarHash.digest('hex')}`;
    const descriptor: Descriptor = { mediaType: MediaType.ociLayerGzip, digest: `sha256:${blobHash.digest('hex')}`, size: blobSize };
    await ensureLayer(content, { open: () => createReadStream(temp), descriptor, diffId, what }, { keepBlob: false, ...limits }, created);
    await content.commitBlob(temp, descriptor.digest);
    return { diffId, descriptor };
  } finally {
    rmSync(temp, { force: true });
  }
}

/** An OCI manifest of a config and layers. */
export function manifestBytes(configBytes: Buffer, configDigest: string, layers: Descriptor[]): Buffer {
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configBytes.length },
    layers,
  };
  return Buffer.from(JSON.stringify(manifest));
}

function checkRef(ref: string | undefined): string[] {
  if (ref === undefined) return [];
  const parsed = parseReference(ref);
  if (parsed.digest) throw new TypeError(`ref must be a tag, not a digest reference (${ref})`);
  return [parsed.canonical];
}

/** `docker import`: one layer from a rootfs tarball, a fresh config. */
export async function importRootfs(store: ImageStore, source: Readable, options: ImportOptions, created: string[]): Promise<Image> {
  if (typeof options !== 'object' || options === null) throw new TypeError('import options must be an object');
  const references = checkRef(options.ref);
  const platform = options.platform === undefined ? hostPlatform() : parsePlatform(options.platform);
  const imageConfig = applyChanges({}, options.changes);
  checkContainerDefaults(imageConfig, references[0] ?? 'the imported image');
  if (options.message !== undefined && typeof options.message !== 'string') throw new TypeError('message must be a string');
  const limits = { allowDevices: options.allowDevices, maxLayerSize: checkMaxLayerSize(options.maxLayerSize) };
  const layer = await layerFromTar(store.content, source, 'the imported tarball', created, limits);
  const now = new Date().toISOString();
  const config: OciImageConfig = {
    created: now,
    ...platformFields(platform),
    config: imageConfig,
    rootfs: { type: 'layers', diff_ids: [layer.diffId] },
    history: [{ created: now, created_by: 'berth import', comment: options.message ?? 'Imported from tarball' }],
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDigest = createHash('sha256').update(configBytes).digest('hex');
  return store.register({
    configBytes,
    manifestBytes: manifestBytes(configBytes, `sha256:${configDigest}`, [layer.descriptor]),
    manifestMediaType: MediaType.ociManifest,
    references,
  });
}

/** An empty tar: the layer of a container that changed nothing. */
function emptyTar(): Readable {
  const tar = pack();
  tar.finalize();
  return Readable.from(tar as AsyncIterable<Buffer>);
}

const OCI_LAYER_TYPE: Record<string, string> = {
  [MediaType.dockerLayerGzip]: MediaType.ociLayerGzip,
  [MediaType.dockerForeignLayerGzip]: MediaType.ociLayerNondistributableGzip,
  'application/vnd.docker.image.rootfs.diff.tar': MediaType.ociLayer,
};

/** A layer descriptor with its Docker media type replaced by the OCI one (a new image's manifest is OCI). */
export function ociLayerDescriptor(d: Descriptor): Descriptor {
  return { mediaType: OCI_LAYER_TYPE[d.mediaType] ?? d.mediaType, digest: d.digest, size: d.size };
}

/**
 * Runs `fn` with the container's processes frozen when it is running and not
 * paused already (`docker commit` pauses by default), so nothing inside
 * changes its files while they are read; thawed afterwards, also on failure.
 */
async function whileFrozen<T>(cgroupRecord: string, pause: boolean, fn: () => Promise<T>): Promise<T> {
  let frozen: ContainerCgroup | undefined;
  if (pause) {
    const cgroup = readContainerCgroup(cgroupRecord);
    try {
      if (cgroup && !cgroup.frozen()) {
        await cgroup.freeze();
        frozen = cgroup;
      }
    } catch {
      // the container stopped (its cgroup is gone): nothing runs to freeze
    }
  }
  try {
    return await fn();
  } finally {
    await frozen?.thaw().catch(() => {});
  }
}

/**
 * `docker commit`: the image's layers plus the container's upper directory as
 * a new top layer. A running container is paused meanwhile unless `pause` is
 * false; either way the upper directory is read without following anything
 * the container could swap in (see layer-pack.ts).
 */
export async function commitContainer(
  store: ImageStore,
  container: ContainerConfig,
  paths: Pick<ContainerPaths, 'upper' | 'cgroup'>,
  options: CommitOptions,
  created: string[],
): Promise<Image> {
  if (typeof options !== 'object' || options === null) throw new TypeError('commit options must be an object');
  if (options.pause !== undefined && typeof options.pause !== 'boolean') throw new TypeError('pause must be a boolean');
  const references = checkRef(options.ref);
  for (const key of ['message', 'author'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'string') throw new TypeError(`${key} must be a string`);
  }
  if (!container.imageId) {
    throw new InvalidStateError(`container ${container.name} was made from a directory, not an image; only containers made from an image can be committed`, {
      containerId: container.id,
    });
  }
  const base = store.recordOf(container.imageId);
  if (!base?.manifest) throw new NotFoundError(`the image of container ${container.name} (${container.imageId}) is no longer in the store`);
  const baseConfig = parseImageConfig(store.content.readBlob(base.id), `the config of image ${base.id}`);
  const baseManifest = JSON.parse(store.content.readBlob(base.manifest.digest).toString('utf8')) as ImageManifest;
  const imageConfig = applyChanges(baseConfig.config ?? {}, options.changes);
  checkContainerDefaults(imageConfig, references[0] ?? `the commit of container ${container.name}`); // before the layer is made

  const layer = await whileFrozen(paths.cgroup, options.pause ?? true, () =>
    layerFromTar(store.content, existsSync(paths.upper) ? packLayer(paths.upper, { idMaps: ownerMaps(container, store.content.userns?.maps) }) : emptyTar(), `the changes of container ${container.name}`, created, {
      maxLayerSize: Infinity, // what the container wrote is on disk already
    }),
  );
  const now = new Date().toISOString();
  const config: OciImageConfig = {
    ...baseConfig,
    created: now,
    config: imageConfig,
    rootfs: { type: 'layers', diff_ids: [...baseConfig.rootfs.diff_ids, layer.diffId] },
    history: [
      ...(baseConfig.history ?? []),
      {
        created: now,
        created_by: container.cmd.join(' '),
        ...(options.author ? { author: options.author } : {}),
        ...(options.message ? { comment: options.message } : {}),
      },
    ],
  };
  if (options.author) config.author = options.author;
  else delete config.author;
  const configBytes = Buffer.from(JSON.stringify(config));
  const layers = [
    ...baseManifest.layers.map(ociLayerDescriptor),
    layer.descriptor,
  ];
  return store.register({
    configBytes,
    manifestBytes: manifestBytes(configBytes, `sha256:${createHash('sha256').update(configBytes).digest('hex')}`, layers),
    manifestMediaType: MediaType.ociManifest,
    references,
  });
}
