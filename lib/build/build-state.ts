/**
 * Where a stage is during a build: the image config so far, its layers, the
 * image in the store that has those layers (for the containers of RUN and
 * COPY), and the cache key of the chain of steps that led here.
 */
import { createHash } from 'node:crypto';
import type { Descriptor, HistoryEntry, ImageManifest, OciImageConfig } from '../../types/image.js';
import { Image } from '../image/image.js';
import { manifestBytes, ociLayerDescriptor } from '../image/image-import.js';
import type { ImageStore } from '../image/image-store.js';
import { parseImageConfig } from '../image/manifest.js';
import { MediaType } from '../image/media-types.js';
import { hostPlatform, platformFields } from '../image/platform.js';
import type { BuildSession } from './build-session.js';

export interface StageState {
  /** The whole image config so far (config, rootfs, history). */
  config: OciImageConfig;
  /** The layers' blob descriptors, bottom-most first. */
  layers: Descriptor[];
  /** An image in the store with exactly these layers (any config), when there are layers. */
  imageId?: string;
  /** The cache key of the steps so far. */
  key: string;
  /** When the last layer was made: the time of config-only steps after it, so that a rebuild without change gives the same image. */
  created: string;
  /** ARGs declared in the stage, with their values. */
  args: Map<string, string>;
}

/** The comment BuildKit puts on its history entries. */
export const HISTORY_COMMENT = 'buildkit.dockerfile.v0';

/** `FROM scratch`: nothing. */
export function scratchState(): StageState {
  const created = new Date(0).toISOString();
  return {
    config: { created, ...platformFields(hostPlatform()), config: {}, rootfs: { type: 'layers', diff_ids: [] }, history: [] },
    layers: [],
    key: 'scratch',
    created,
    args: new Map(),
  };
}

/** The state an image in the store starts a stage with. */
export function imageState(store: ImageStore, imageId: string): StageState {
  const record = store.recordOf(imageId);
  if (!record) throw new Error(`the image ${imageId} is no longer in the store (pruned during the build?)`);
  const config = parseImageConfig(store.content.readBlob(record.id), `the config of image ${record.id}`);
  const manifest = record.manifest ? (JSON.parse(store.content.readBlob(record.manifest.digest).toString('utf8')) as ImageManifest) : undefined;
  return {
    config: { ...config, config: { ...config.config } },
    layers: (manifest?.layers ?? []).map(ociLayerDescriptor),
    ...(config.rootfs.diff_ids.length > 0 ? { imageId: record.id } : {}),
    key: `image:${record.id}`,
    created: config.created ?? new Date(0).toISOString(),
    args: new Map(),
  };
}

/** A copy to change: steps never change a state another stage may hold. */
export function cloneState(state: StageState): StageState {
  return { ...structuredClone({ ...state, args: undefined }), args: new Map(state.args) };
}

/** Adds a history entry for a step that made no layer. */
export function addConfigHistory(state: StageState, createdBy: string): void {
  state.config.history = [...(state.config.history ?? []), { created: state.created, created_by: createdBy, comment: HISTORY_COMMENT, empty_layer: true }];
}

/**
 * Stores the state as an image (its blobs and record): an intermediate one
 * (build cache, not listed) or the result, with `references`.
 */
export async function storeState(store: ImageStore, state: StageState, references: string[], intermediate: boolean): Promise<Image> {
  const config: OciImageConfig = { ...state.config, created: state.created };
  const configBytes = Buffer.from(JSON.stringify(config));
  const digest = `sha256:${createHash('sha256').update(configBytes).digest('hex')}`;
  return store.register({
    configBytes,
    manifestBytes: manifestBytes(configBytes, digest, state.layers),
    manifestMediaType: MediaType.ociManifest,
    references,
    intermediate,
  });
}

/** The state after a step that made `layer` (or none: `layer` undefined, the history says empty_layer). */
export function withLayer(state: StageState, layer: { diffId: string; descriptor: Descriptor } | undefined, history: HistoryEntry): StageState {
  const next = cloneState(state);
  const created = new Date().toISOString();
  next.created = created;
  if (layer) {
    next.layers.push(layer.descriptor);
    next.config.rootfs.diff_ids.push(layer.diffId);
  }
  next.config.history = [...(next.config.history ?? []), { ...history, created, comment: HISTORY_COMMENT, ...(layer ? {} : { empty_layer: true }) }];
  return next;
}

/**
 * A view of a stored image with an empty config: containers of RUN and COPY
 * get their command, environment, user and directory from the build, and
 * none of the image's volumes or health check.
 */
export function buildView(store: ImageStore, imageId: string): Image {
  const record = store.recordOf(imageId);
  if (!record) throw new Error(`the build's image ${imageId} is no longer in the store (pruned during the build?)`);
  const image = new Image(store, { ...record, config: {} }, [...record.layers].reverse().map((layer) => store.content.layerPath(layer)));
  return image;
}

/** The layer directories of a state's image, top-most first. */
export function layerDirs(store: ImageStore, state: StageState): string[] {
  return [...state.config.rootfs.diff_ids].reverse().map((diffId) => store.content.layerPath(diffId));
}

/**
 * The state after a step that ran: its layer (made by `makeLayer` under the
 * store's lock; undefined for a step that changed nothing) and its history
 * entry, stored as an intermediate image and recorded in the cache under `key`.
 */
export async function storeStep(
  session: BuildSession,
  state: StageState,
  key: string,
  createdBy: string,
  makeLayer: (created: string[]) => Promise<{ diffId: string; descriptor: Descriptor } | undefined>,
): Promise<StageState> {
  const next = await session.store.adding(async (created) => {
    const after = withLayer(state, await makeLayer(created), { created_by: createdBy });
    const image = await storeState(session.store, after, [], true);
    after.imageId = image.id;
    after.key = key;
    return after;
  });
  session.cache.record(key, next.imageId!);
  session.stats.run++;
  return next;
}
