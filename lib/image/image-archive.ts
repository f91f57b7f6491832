/**
 * Image archives: Docker's `docker save` format (manifest.json, config and
 * uncompressed layer tars) and the OCI image layout (oci-layout, index.json,
 * blobs as stored), written as a tar stream and read back by `load`.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { dirname, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract, pack, type Pack } from 'tar-stream';
import type { Descriptor, ImageIndex, ImageManifest, ImageRecord, LoadOptions, SaveOptions } from '../../types/image.js';
import { BerthError, ImageArchiveError, ImageContentError } from '../errors.js';
import type { ContentStore } from './content-store.js';
import { checkDigest, digestHex, sha256, verifyContent } from './digest.js';
import { decompress, sniffCompression } from './decompress.js';
import type { Image } from './image.js';
import type { ImageStore } from './image-store.js';
import { checkMaxLayerSize, defaultLayerLimit, ensureLayer } from './layer-ingest.js';
import { addEntry as addTarEntry, type EntryHeader } from './layer-pack.js';
import { entryPath } from './layer-unpack.js';
import { manifestForPlatform, parseImageConfig, parseManifestDocument } from './manifest.js';
import { checkImageConfig } from './image-config-check.js';
import { MediaType } from './media-types.js';
import { hostPlatform, parsePlatform } from './platform.js';
import { parseReference } from './reference.js';
import { MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES } from './registry-client.js';

const EPOCH = new Date(0);

/** `docker.io/library/alpine:3` → `alpine:3`, as Docker writes RepoTags. */
export function familiarName(reference: string): string {
  return reference.replace(/^docker\.io\/library\/(?=[^/]+$)/, '').replace(/^docker\.io\//, '');
}

function addEntry(tar: Pack, header: EntryHeader, content?: Buffer | AsyncIterable<Buffer>): Promise<void> {
  return addTarEntry(tar, { mode: 0o644, mtime: EPOCH, uid: 0, gid: 0, ...header }, content);
}

/** The stored manifest of an image. */
function storedManifest(content: ContentStore, record: ImageRecord): ImageManifest {
  if (!record.manifest) throw new ImageContentError(`image ${record.id} has no stored manifest; pull or load it again`, { code: 'ERR_MANIFEST_INVALID' });
  return JSON.parse(content.readBlob(record.manifest.digest).toString('utf8')) as ImageManifest;
}

/** The uncompressed tar of a layer, from its stored blob. */
function layerTar(content: ContentStore, blob: Descriptor): Readable {
  return Readable.from(decompress(createReadStream(content.blobPath(blob.digest))));
}

/** The byte count of a layer's uncompressed tar (recorded at unpack; counted for older layers). */
async function layerTarSize(content: ContentStore, diffId: string, blob: Descriptor): Promise<number> {
  const recorded = content.layerRecord(diffId)?.tarSize;
  if (recorded !== undefined) return recorded;
  let size = 0;
  for await (const chunk of layerTar(content, blob)) size += (chunk as Buffer).length;
  return size;
}

async function writeDocker(tar: Pack, content: ContentStore, records: readonly ImageRecord[]): Promise<void> {
  const written = new Set<string>();
  const manifest: { Config: string; RepoTags: string[] | null; Layers: string[] }[] = [];
  await addEntry(tar, { name: 'blobs/', type: 'directory', mode: 0o755 });
  await addEntry(tar, { name: 'blobs/sha256/', type: 'directory', mode: 0o755 });
  for (const record of records) {
    const stored = storedManifest(content, record);
    const configName = `blobs/sha256/${digestHex(record.id)}`;
    if (!written.has(configName)) {
      await addEntry(tar, { name: configName }, content.readBlob(record.id));
      written.add(configName);
    }
    const layers: string[] = [];
    for (const [i, diffId] of record.layers.entries()) {
      const name = `blobs/sha256/${digestHex(diffId)}`;
      layers.push(name);
      if (written.has(name)) continue;
      const blob = stored.layers[i]!;
      await addEntry(tar, { name, size: await layerTarSize(content, diffId, blob) }, layerTar(content, blob) as AsyncIterable<Buffer>);
      written.add(name);
    }
    manifest.push({ Config: configName, RepoTags: record.references.length ? record.references.map(familiarName) : null, Layers: layers });
  }
  await addEntry(tar, { name: 'manifest.json' }, Buffer.from(JSON.stringify(manifest)));
}

async function writeOci(tar: Pack, content: ContentStore, records: readonly ImageRecord[]): Promise<void> {
  const written = new Set<string>();
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
  await addEntry(tar, { name: 'oci-layout' }, Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  await addEntry(tar, { name: 'blobs/', type: 'directory', mode: 0o755 });
  await addEntry(tar, { name: 'blobs/sha256/', type: 'directory', mode: 0o755 });
  const blob = async (digest: string) => {
    if (written.has(digest)) return;
    written.add(digest);
    await addEntry(tar, { name: `blobs/sha256/${digestHex(digest)}`, size: content.blobSize(digest) }, createReadStream(content.blobPath(digest)) as AsyncIterable<Buffer>);
  };
  for (const record of records) {
    const manifest = storedManifest(content, record);
    for (const layer of manifest.layers) await blob(layer.digest);
    await blob(manifest.config.digest);
    await blob(record.manifest!.digest);
    const descriptor = { mediaType: record.manifest!.mediaType, digest: record.manifest!.digest, size: record.manifest!.size };
    if (record.references.length === 0) index.manifests.push(descriptor);
    for (const reference of record.references) {
      const ref = parseReference(reference);
      index.manifests.push({
        ...descriptor,
        annotations: { 'io.containerd.image.name': reference, 'org.opencontainers.image.ref.name': ref.tag ?? reference },
      });
    }
  }
  await addEntry(tar, { name: 'index.json' }, Buffer.from(JSON.stringify(index)));
}

/** Images as one archive stream (see `Image.save`). */
export function saveArchive(content: ContentStore, records: readonly ImageRecord[], options: SaveOptions): Readable {
  if (typeof options !== 'object' || options === null) throw new TypeError('save options must be an object');
  const format = options.format ?? 'docker';
  if (format !== 'docker' && format !== 'oci') throw new TypeError(`format must be 'docker' or 'oci', not ${String(format)}`);
  if (records.length === 0) throw new TypeError('save: no images given');
  const tar = pack();
  (format === 'docker' ? writeDocker(tar, content, records) : writeOci(tar, content, records)).then(
    () => tar.finalize(),
    (error: unknown) => tar.destroy(error as Error),
  );
  return Readable.from(tar as AsyncIterable<Buffer>, { objectMode: false });
}

// ---- load

function invalid(message: string, entry?: string): never {
  throw new ImageArchiveError(message, entry === undefined ? {} : { entry });
}

function unsafe(message: string, entry: string): never {
  throw new ImageArchiveError(message, { code: 'ERR_UNSAFE_ENTRY', entry });
}

/** The most bytes of a JSON document read from an archive (as from a registry). */
const DOCUMENT_LIMIT = { manifest: MAX_MANIFEST_BYTES, config: MAX_CONFIG_BYTES } as const;

/** A member name as a relative path inside the archive. @throws ImageArchiveError `ERR_UNSAFE_ENTRY` */
function memberPath(name: string, what: string): string {
  try {
    return entryPath(name, what);
  } catch (error) {
    unsafe((error as Error).message, name);
  }
}

/**
 * An archive unpacked into a temporary directory: regular files only, each
 * name once; symlinks are kept as names (never made on disk) and resolved
 * only to members of the archive. A compressed archive may expand to
 * `maxLayerSize`, by default 1 GiB or 100 times its compressed size.
 */
class ArchiveDir {
  private readonly links = new Map<string, string>();
  private readonly files = new Set<string>();

  constructor(readonly dir: string, private readonly maxSize: number | undefined) {}

  async extract(source: Readable): Promise<void> {
    const entries = extract();
    let compressedBytes = 0;
    let expandedBytes = 0;
    let compressed = false;
    const counted = async function* (): AsyncGenerator<Buffer> {
      for await (const chunk of source) {
        compressedBytes += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
    };
    const maxSize = this.maxSize;
    const limited = async function* (): AsyncGenerator<Buffer> {
      for await (const chunk of decompress(counted(), (found) => (compressed = found !== 'none'))) {
        expandedBytes += chunk.length;
        const limit = maxSize ?? defaultLayerLimit(compressedBytes);
        if (compressed && expandedBytes > limit) {
          throw new ImageArchiveError(
            `the archive expands past ${limit} bytes (from ${compressedBytes} compressed); refusing it as a decompression bomb; if it is trusted, raise maxLayerSize`,
            { code: 'ERR_ARCHIVE_TOO_LARGE' },
          );
        }
        yield chunk;
      }
    };
    const input = Readable.from(limited());
    input.once('error', (error) => entries.destroy(error));
    input.pipe(entries);
    try {
      for await (const entry of entries) {
        const name = entry.header.name;
        const rel = memberPath(name, 'archive entry');
        const type = entry.header.type;
        const member = type === 'symlink' || type === 'link' || ((type === 'file' || type === 'contiguous-file') && rel !== '');
        if (!member) {
          entry.resume();
          continue;
        }
        if (this.files.has(rel) || this.links.has(rel)) invalid(`the archive has the member '${name}' twice; refusing it (which one counts would be a guess)`, name);
        this.checkParents(rel, name);
        if (type === 'symlink' || type === 'link') {
          entry.resume();
          const target = entry.header.linkname ?? '';
          const resolved = posix.normalize(type === 'link' ? target : posix.join(posix.dirname(rel), target));
          if (target.startsWith('/') || resolved === '..' || resolved.startsWith('../')) unsafe(`archive entry '${name}' links to '${target}', outside the archive`, name);
          this.links.set(rel, resolved);
          continue;
        }
        try {
          mkdirSync(dirname(`${this.dir}/${rel}`), { recursive: true });
          await pipeline(Readable.from(entry as AsyncIterable<Buffer>), createWriteStream(`${this.dir}/${rel}`, { flags: 'wx' }));
        } catch (error) {
          if (error instanceof BerthError) throw error;
          invalid(`archive entry '${name}' cannot be unpacked: ${(error as Error).message}`, name);
        }
        this.files.add(rel);
      }
    } catch (error) {
      if (error instanceof BerthError || (error as { code?: unknown }).code !== undefined) throw error;
      invalid(`not a valid image archive: ${(error as Error).message}`);
    }
  }

  /** No member lies beneath a symlink (a tar would write through it) or beneath a file. */
  private checkParents(rel: string, name: string): void {
    for (let slash = rel.indexOf('/'); slash > 0; slash = rel.indexOf('/', slash + 1)) {
      const parent = rel.slice(0, slash);
      if (this.links.has(parent)) unsafe(`archive entry '${name}' lies beneath the link '${parent}'; refusing the archive`, name);
      if (this.files.has(parent)) invalid(`archive entry '${name}' lies beneath the file '${parent}'`, name);
    }
  }

  has(name: string): boolean {
    return this.resolve(name) !== undefined;
  }

  /** The path of archive member `name`, following the archive's symlinks. */
  resolve(name: string): string | undefined {
    let rel = posix.normalize(name).replace(/^\.\//, '');
    for (let hops = 0; hops < 16; hops++) {
      if (this.files.has(rel)) return `${this.dir}/${rel}`;
      const next = this.links.get(rel);
      if (next === undefined) return undefined;
      rel = next;
    }
    return undefined;
  }

  /**
   * The path of the member a document names (`Config`, `Layers[i]`, a blob);
   * the name must stay inside the archive.
   */
  path(name: unknown, what: string): string {
    if (typeof name !== 'string' || name === '') invalid(`${what} must name a member of the archive, not ${JSON.stringify(name)}`);
    memberPath(name, what);
    const path = this.resolve(name);
    if (!path) invalid(`the archive lacks ${what} ${name}`, name);
    return path;
  }

  /** A JSON document of the archive, read whole only when it is within its limit. */
  read(name: string, what: string, kind: keyof typeof DOCUMENT_LIMIT = 'manifest'): Buffer {
    const path = this.path(name, what);
    const limit = DOCUMENT_LIMIT[kind];
    const size = statSync(path).size;
    if (size > limit) throw new ImageArchiveError(`${what} ${name} is ${size} bytes, more than the ${limit} accepted; refusing the archive`, { code: 'ERR_TOO_LARGE', entry: name });
    return readFileSync(path);
  }
}

async function fileDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

function fileCompression(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(4);
    const n = readSync(fd, head, 0, 4, 0);
    const kind = sniffCompression(head.subarray(0, n));
    return kind === 'gzip' ? MediaType.ociLayerGzip : kind === 'zstd' ? MediaType.ociLayerZstd : MediaType.ociLayer;
  } finally {
    closeSync(fd);
  }
}

async function loadDocker(store: ImageStore, archive: ArchiveDir, options: LoadOptions, created: string[]): Promise<Image[]> {
  let entries: unknown;
  try {
    entries = JSON.parse(archive.read('manifest.json', 'file').toString('utf8'));
  } catch (error) {
    if (error instanceof ImageContentError) throw error;
    invalid(`manifest.json is not valid JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(entries)) invalid('manifest.json must be an array');
  // Every image's config is checked before anything of any of them is stored.
  const parsed = (entries as { Config?: unknown; RepoTags?: unknown; Layers?: unknown }[]).map((entry, n) => {
    if (typeof entry?.Config !== 'string' || !Array.isArray(entry.Layers)) invalid(`manifest.json entry ${n} needs Config and Layers`);
    const configBytes = archive.read(entry.Config, `manifest.json entry ${n}: Config`, 'config');
    const config = parseImageConfig(configBytes, `the config ${entry.Config}`);
    if (config.rootfs.diff_ids.length !== entry.Layers.length) {
      invalid(`manifest.json entry ${n} lists ${entry.Layers.length} layers, its config ${config.rootfs.diff_ids.length}`);
    }
    const references = Array.isArray(entry.RepoTags)
      ? (entry.RepoTags as unknown[]).map((tag) => {
          if (typeof tag !== 'string') invalid(`manifest.json entry ${n} has a RepoTag that is not a string`);
          return parseReference(tag).canonical;
        })
      : [];
    checkImageConfig(config, configBytes, references[0] ?? sha256(configBytes));
    return { n, configBytes, config, references, layerNames: entry.Layers as unknown[] };
  });
  const images: Image[] = [];
  for (const { n, configBytes, config, references, layerNames } of parsed) {
    const layers: Descriptor[] = [];
    for (const [i, name] of layerNames.entries()) {
      const path = archive.path(name, `manifest.json entry ${n}: Layers[${i}]`);
      const descriptor = { mediaType: fileCompression(path), digest: await fileDigest(path), size: statSync(path).size };
      const diffId = config.rootfs.diff_ids[i]!;
      await ensureLayer(
        store.content,
        { open: () => createReadStream(path), descriptor, diffId, what: `layer ${String(name)} of the archive` },
        { keepBlob: true, allowDevices: options.allowDevices, maxLayerSize: options.maxLayerSize },
        created,
      );
      layers.push(descriptor);
    }
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: sha256(configBytes), size: configBytes.length },
      layers,
    };
    images.push(
      await store.register({
        configBytes,
        manifestBytes: Buffer.from(JSON.stringify(manifest)),
        manifestMediaType: MediaType.ociManifest,
        references,
      }),
    );
  }
  return images;
}

/** A blob of an OCI layout, verified against its descriptor. */
function layoutBlob(archive: ArchiveDir, descriptor: Descriptor, what: string): Buffer {
  const digest = checkDigest(descriptor.digest, what);
  const bytes = archive.read(`blobs/sha256/${digestHex(digest)}`, what, what === 'the config' ? 'config' : 'manifest');
  verifyContent(what, descriptor, { digest: sha256(bytes), size: bytes.length });
  return bytes;
}

/** The reference an index entry names, when it names a whole one (not just a tag). */
function annotatedReference(descriptor: Descriptor): string | undefined {
  const annotations = descriptor.annotations ?? {};
  for (const candidate of [annotations['io.containerd.image.name'], annotations['org.opencontainers.image.ref.name']]) {
    if (typeof candidate !== 'string' || !/[/:]/.test(candidate)) continue;
    try {
      const ref = parseReference(candidate);
      if (ref.tag && !ref.digest) return ref.canonical;
    } catch {
      // a tag-like name that is no reference
    }
  }
  return undefined;
}

async function loadOci(store: ImageStore, archive: ArchiveDir, options: LoadOptions, created: string[]): Promise<Image[]> {
  const platform = options.platform === undefined ? hostPlatform() : parsePlatform(options.platform);
  const top = parseManifestDocument(archive.read('index.json', 'file'), MediaType.ociIndex, 'index.json');
  if (top.kind !== 'index') invalid('index.json is not an image index');
  // Every image's config is checked before anything of any of them is stored.
  const parsed = top.index.manifests.map((entry) => {
    let descriptor = entry;
    let bytes = layoutBlob(archive, descriptor, `manifest ${descriptor.digest}`);
    let document = parseManifestDocument(bytes, descriptor.mediaType, `manifest ${descriptor.digest}`);
    if (document.kind === 'index') {
      descriptor = manifestForPlatform(document.index, platform, `index ${entry.digest} of the archive`);
      bytes = layoutBlob(archive, descriptor, `manifest ${descriptor.digest}`);
      document = parseManifestDocument(bytes, descriptor.mediaType, `manifest ${descriptor.digest}`);
      if (document.kind === 'index') invalid('an index inside an index inside index.json is not supported');
    }
    const manifest = document.manifest;
    const configBytes = layoutBlob(archive, manifest.config, 'the config');
    const config = parseImageConfig(configBytes, `the config ${manifest.config.digest}`);
    if (config.rootfs.diff_ids.length !== manifest.layers.length) {
      invalid(`manifest ${descriptor.digest} has ${manifest.layers.length} layers, its config ${config.rootfs.diff_ids.length}`);
    }
    const reference = annotatedReference(entry);
    checkImageConfig(config, configBytes, reference ?? manifest.config.digest);
    return { bytes, configBytes, config, manifest, mediaType: document.mediaType, reference };
  });
  const images = new Map<string, Image>();
  for (const { bytes, configBytes, config, manifest, mediaType, reference } of parsed) {
    for (const [i, layer] of manifest.layers.entries()) {
      const path = archive.path(`blobs/sha256/${digestHex(layer.digest)}`, 'the layer');
      await ensureLayer(
        store.content,
        { open: () => createReadStream(path), descriptor: layer, diffId: config.rootfs.diff_ids[i]!, what: `layer ${layer.digest} of the archive` },
        { keepBlob: true, allowDevices: options.allowDevices, maxLayerSize: options.maxLayerSize },
        created,
      );
    }
    const image = await store.register({
      configBytes,
      manifestBytes: bytes,
      manifestMediaType: mediaType,
      references: reference ? [reference] : [],
    });
    images.set(image.id, image);
  }
  return [...images.values()];
}

/** Loads a `docker save` archive or an OCI layout archive into the store. */
export async function loadArchive(store: ImageStore, source: Readable, options: LoadOptions, created: string[]): Promise<Image[]> {
  if (typeof options !== 'object' || options === null) throw new TypeError('load options must be an object');
  if (!source || typeof (source as Readable).pipe !== 'function') throw new TypeError('load: expected a readable stream');
  const maxLayerSize = checkMaxLayerSize(options.maxLayerSize);
  const dir = store.content.tempPath(store.content.imagesDir);
  mkdirSync(dir, { mode: 0o700 });
  try {
    const archive = new ArchiveDir(dir, maxLayerSize);
    await archive.extract(source);
    if (archive.has('manifest.json')) return await loadDocker(store, archive, options, created);
    if (archive.has('index.json')) return await loadOci(store, archive, options, created);
    invalid('not an image archive: it has neither manifest.json (docker save) nor index.json (OCI layout)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
