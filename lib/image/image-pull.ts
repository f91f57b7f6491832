/**
 * Pulling: the manifest (an index picks the platform), the config, then every
 * layer at once (up to `concurrency`) through the streaming layer pipeline.
 * Layers the store has are not fetched again; a layer another process is
 * pulling is waited for, not fetched twice.
 */
import type { Descriptor, ImageProgress, Platform, PullOptions } from '../../types/image.js';
import { ImageContentError } from '../errors.js';
import type { ContentStore } from './content-store.js';
import { verifyContent } from './digest.js';
import { checkImageConfig } from './image-config-check.js';
import { checkMaxLayerSize, ensureLayer } from './layer-ingest.js';
import { manifestForPlatform, parseImageConfig, parseManifestDocument } from './manifest.js';
import { hostPlatform, parsePlatform } from './platform.js';
import type { ImageReference } from './reference.js';
import { RegistryClient } from './registry-client.js';

/** What a pull hands to the store to record. */
export interface PulledImage {
  configBytes: Buffer;
  manifestBytes: Buffer;
  manifestMediaType: string;
  /** The digest the reference resolved to (the index's, for a multi-platform image): the repo digest. */
  repoDigest: string;
}

/**
 * Runs `tasks` with at most `limit` at once. After the first failure no new
 * task starts, `onFailure` runs (to cancel the others), and once the running
 * ones settle the first error is thrown.
 */
export async function runLimited(tasks: (() => Promise<void>)[], limit: number, onFailure?: () => void): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < tasks.length && !failure) {
      const task = tasks[next++]!;
      try {
        await task();
      } catch (error) {
        if (!failure) {
          failure = { error };
          onFailure?.();
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  if (failure) throw failure.error;
}

/** Checks pull options before anything is fetched. */
export function checkPullOptions(options: PullOptions): { platform: Platform; concurrency: number; maxLayerSize: number | undefined } {
  if (typeof options !== 'object' || options === null) throw new TypeError('pull options must be an object');
  const concurrency = options.concurrency ?? 3;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new RangeError('concurrency must be an integer from 1 to 64');
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw new TypeError('onProgress must be a function');
  const maxLayerSize = checkMaxLayerSize(options.maxLayerSize);
  return { platform: options.platform === undefined ? hostPlatform() : parsePlatform(options.platform), concurrency, maxLayerSize };
}

/**
 * Fetches an image into the content store (layers and their blobs). The
 * caller holds the collector lock (shared) and records the image; the layers
 * this pull made are added to `createdLayers` (to remove them if it fails).
 */
export async function pullImage(content: ContentStore, ref: ImageReference, options: PullOptions, createdLayers: string[]): Promise<PulledImage> {
  const { platform, concurrency, maxLayerSize } = checkPullOptions(options);
  const cancel = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, cancel.signal]) : cancel.signal;
  const client = new RegistryClient(ref.domain, { ...options, signal });
  const repository = ref.path;
  const name = ref.canonical;

  const top = await client.getManifest(repository, ref.digest ?? ref.tag ?? 'latest');
  let document = parseManifestDocument(top.bytes, top.mediaType, `the manifest of ${name}`);
  let manifestBytes = top.bytes;
  if (document.kind === 'index') {
    const chosen = manifestForPlatform(document.index, platform, name);
    const fetched = await client.getManifest(repository, chosen.digest, chosen.mediaType);
    verifyContent(`manifest ${chosen.digest} of ${name}`, chosen, { digest: fetched.digest, size: fetched.bytes.length });
    document = parseManifestDocument(fetched.bytes, chosen.mediaType, `the ${chosen.platform?.architecture ?? ''} manifest of ${name}`);
    if (document.kind === 'index') throw new ImageContentError(`${name}: an index inside an index is not supported`, { code: 'ERR_MANIFEST_INVALID' });
    manifestBytes = fetched.bytes;
  }
  const manifest = document.manifest;
  const configBytes = content.hasBlob(manifest.config.digest)
    ? content.readBlob(manifest.config.digest)
    : await client.getBlobBytes(repository, manifest.config);
  const config = parseImageConfig(configBytes, `the config of ${name}`);
  checkImageConfig(config, configBytes, name); // before any layer is fetched
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) {
    throw new ImageContentError(`${name}: the manifest has ${manifest.layers.length} layers but the config lists ${diffIds.length}`, {
      code: 'ERR_MANIFEST_INVALID',
    });
  }

  const progress = (descriptor: Descriptor, status: ImageProgress['status'], current: number) =>
    options.onProgress?.({ digest: descriptor.digest, status, current, total: descriptor.size });
  const tasks = manifest.layers.map((layer, i) => async () => {
    const diffId = diffIds[i]!;
    const what = `layer ${i + 1}/${manifest.layers.length} (${layer.digest}) of ${name}`;
    progress(layer, 'waiting', 0);
    const onBytes = (bytes: number) => progress(layer, 'downloading', bytes);
    const done = await ensureLayer(
      content,
      { open: () => client.openBlob(repository, layer), descriptor: layer, diffId, what },
      { keepBlob: true, allowDevices: options.allowDevices, maxLayerSize, onBytes },
      createdLayers,
    );
    progress(layer, done === 'exists' ? 'exists' : 'done', layer.size);
  });
  await runLimited(tasks, concurrency, () => cancel.abort(new Error('another layer of the pull failed')));
  return { configBytes, manifestBytes, manifestMediaType: document.mediaType, repoDigest: top.digest };
}
