/**
 * Pushing: every blob the registry lacks (checked with HEAD), mounted from
 * another repository of the same registry the image came from where the
 * registry allows, else uploaded (in one PUT or in chunks); the manifest last,
 * byte for byte as stored, so its digest is the same everywhere.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { Descriptor, ImageManifest, PushOptions, PushResult } from '../../types/image.js';
import { ImageContentError } from '../errors.js';
import type { Image } from './image.js';
import type { ImageStore } from './image-store.js';
import { runLimited } from './image-pull.js';
import { parseReference } from './reference.js';
import { RegistryClient } from './registry-client.js';

function checkPushOptions(options: PushOptions): { concurrency: number; chunkSize: number | undefined } {
  if (typeof options !== 'object' || options === null) throw new TypeError('push options must be an object');
  const concurrency = options.concurrency ?? 3;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new RangeError('concurrency must be an integer from 1 to 64');
  const chunkSize = options.chunkSize;
  if (chunkSize !== undefined && (!Number.isInteger(chunkSize) || chunkSize < 1)) throw new RangeError('chunkSize must be a positive integer (bytes)');
  return { concurrency, chunkSize };
}

export async function pushImage(store: ImageStore, image: Image, reference: string | undefined, options: PushOptions): Promise<PushResult> {
  const { concurrency, chunkSize } = checkPushOptions(options);
  const target = reference ?? image.references[0];
  if (target === undefined) throw new TypeError(`image ${image.id} has no reference: give push() one to push to`);
  const ref = parseReference(target);
  if (reference !== undefined && ref.tag && !ref.digest) await image.tag(reference);
  const record = store.recordOf(image.id) ?? image.stored;
  if (!record.manifest) throw new ImageContentError(`image ${image.id} has no stored manifest; pull or load it again`, { code: 'ERR_MANIFEST_INVALID' });
  const manifestBytes = store.content.readBlob(record.manifest.digest);
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as ImageManifest;
  const blobs: Descriptor[] = [...manifest.layers, manifest.config];

  const client = new RegistryClient(ref.domain, options);
  const repository = ref.path;
  // repositories of the same registry that have these blobs: candidates for a cross-repository mount
  const sources = [...new Set([...record.references, ...(record.repoDigests ?? [])].map((r) => parseReference(r)))]
    .filter((r) => r.domain === ref.domain && r.path !== repository)
    .map((r) => r.path);
  const progress = (blob: Descriptor, status: Parameters<NonNullable<PushOptions['onProgress']>>[0]['status'], current: number) =>
    options.onProgress?.({ digest: blob.digest, status, current, total: blob.size });

  const seen = new Set<string>();
  const tasks = blobs
    .filter((blob) => !seen.has(blob.digest) && seen.add(blob.digest))
    .map((blob) => async () => {
      if (!store.content.hasBlob(blob.digest)) {
        throw new ImageContentError(`the store lacks blob ${blob.digest} of image ${image.id}; pull the image again before pushing`, { code: 'ERR_BLOB_MISSING' });
      }
      if (await client.hasBlob(repository, blob.digest)) return progress(blob, 'exists', blob.size);
      let location: string | undefined;
      for (const from of sources) {
        const mounted = await client.mountBlob(repository, blob.digest, from);
        if (mounted.mounted) return progress(blob, 'mounted', blob.size);
        location = mounted.location;
        break; // the registry opened an upload instead: use it
      }
      location ??= await client.startUpload(repository);
      const path = store.content.blobPath(blob.digest);
      await client.uploadBlob(
        repository,
        location,
        { digest: blob.digest, size: blob.size, open: (start, end) => (end > start ? createReadStream(path, { start, end: end - 1 }) : Readable.from([])) },
        chunkSize,
        (sent) => progress(blob, 'uploading', sent),
      );
      progress(blob, 'done', blob.size);
    });
  await runLimited(tasks, concurrency);
  const tag = ref.digest ?? ref.tag ?? 'latest';
  const digest = await client.putManifest(repository, tag, manifestBytes, record.manifest.mediaType);
  await store.addRepoDigest(image.id, `${ref.domain}/${ref.path}@${digest}`);
  return { reference: ref.canonical, digest, size: manifestBytes.length };
}
