/** Parsing and checking of manifests, indexes and image configs, wherever they come from. */
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest, OciImageConfig, Platform } from '../../types/image.js';
import { ImageContentError } from '../errors.js';
import { checkDigest } from './digest.js';
import { MediaType, isIndexType, isLayerType, isManifestType } from './media-types.js';
import { formatPlatform, selectPlatform } from './platform.js';

/** A manifest document: an index (several platforms) or an image manifest. */
export type ManifestDocument = { kind: 'index'; mediaType: string; index: ImageIndex } | { kind: 'manifest'; mediaType: string; manifest: ImageManifest };

function invalid(where: string, what: string, code = 'ERR_MANIFEST_INVALID'): never {
  throw new ImageContentError(`${where}: ${what}`, { code });
}

function parseJson(bytes: Buffer, where: string, code: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    invalid(where, `not valid JSON (${(error as Error).message})`, code);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid(where, 'expected a JSON object', code);
  return value as Record<string, unknown>;
}

function checkDescriptor(value: unknown, where: string): Descriptor {
  if (typeof value !== 'object' || value === null) invalid(where, 'a descriptor must be an object');
  const d = value as Record<string, unknown>;
  if (typeof d.mediaType !== 'string' || d.mediaType === '') invalid(where, 'a descriptor has no mediaType');
  checkDigest(d.digest, `${where}: digest`);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) invalid(where, `descriptor ${String(d.digest)} has no valid size`);
  if (d.platform !== undefined) {
    const p = d.platform as Record<string, unknown> | null;
    if (typeof p !== 'object' || p === null || typeof p.os !== 'string' || typeof p.architecture !== 'string') {
      invalid(where, `descriptor ${String(d.digest)} has a malformed platform`);
    }
  }
  return d as unknown as Descriptor;
}

/**
 * Parses a manifest or index. The media type comes from the document, else from
 * `contentType` (the registry's header), else from its shape.
 * @throws ImageContentError `ERR_MANIFEST_INVALID` saying what is wrong.
 */
export function parseManifestDocument(bytes: Buffer, contentType: string | undefined, where: string): ManifestDocument {
  const doc = parseJson(bytes, where, 'ERR_MANIFEST_INVALID');
  if (doc.schemaVersion === 1 || (contentType ?? '').includes('distribution.manifest.v1')) {
    invalid(where, 'Docker schema 1 manifests are not supported (deprecated since 2017); push the image again with a current client');
  }
  if (doc.schemaVersion !== 2) invalid(where, `schemaVersion must be 2, not ${JSON.stringify(doc.schemaVersion)}`);
  const header = contentType?.split(';')[0]?.trim();
  const mediaType =
    typeof doc.mediaType === 'string'
      ? doc.mediaType
      : isIndexType(header) || isManifestType(header)
        ? header!
        : Array.isArray(doc.manifests)
          ? MediaType.ociIndex
          : MediaType.ociManifest;
  if (isIndexType(mediaType)) {
    if (!Array.isArray(doc.manifests)) invalid(where, 'an index must have a manifests array');
    (doc.manifests as unknown[]).forEach((m, i) => checkDescriptor(m, `${where}: manifests[${i}]`));
    return { kind: 'index', mediaType, index: doc as unknown as ImageIndex };
  }
  if (!isManifestType(mediaType)) invalid(where, `media type ${mediaType} is not an image manifest or index`);
  const config = checkDescriptor(doc.config, `${where}: config`);
  if (config.mediaType !== MediaType.ociConfig && config.mediaType !== MediaType.dockerConfig) {
    invalid(where, `config media type ${config.mediaType} is not an image config: this is not a container image`);
  }
  if (!Array.isArray(doc.layers)) invalid(where, 'a manifest must have a layers array');
  (doc.layers as unknown[]).forEach((layer, i) => {
    const d = checkDescriptor(layer, `${where}: layers[${i}]`);
    if (!isLayerType(d.mediaType)) invalid(where, `layers[${i}] has media type ${d.mediaType}, which is not a filesystem layer`);
  });
  return { kind: 'manifest', mediaType, manifest: doc as unknown as ImageManifest };
}

/**
 * The manifest descriptor in an index for `platform`.
 * @throws ImageContentError `ERR_PLATFORM_UNAVAILABLE` listing what the index has.
 */
export function manifestForPlatform(index: ImageIndex, platform: Platform, where: string): Descriptor {
  const chosen = selectPlatform(index.manifests.filter((m) => isManifestType(m.mediaType)), platform);
  if (chosen) return chosen;
  const offered = index.manifests.filter((m) => m.platform && m.platform.os !== 'unknown').map((m) => formatPlatform(m.platform!));
  throw new ImageContentError(
    `${where} has no image for ${formatPlatform(platform)}; it has ${offered.length ? offered.join(', ') : 'no platform entries'}. ` +
      'Pass the platform option to choose one of those.',
    { code: 'ERR_PLATFORM_UNAVAILABLE' },
  );
}

function checkStrings(value: unknown, what: string, where: string): void {
  if (value !== undefined && value !== null && (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))) {
    invalid(where, `${what} must be an array of strings`, 'ERR_CONFIG_INVALID');
  }
}

/**
 * Parses an image config and checks the fields berth uses.
 * @throws ImageContentError `ERR_CONFIG_INVALID`.
 */
export function parseImageConfig(bytes: Buffer, where: string): OciImageConfig {
  const doc = parseJson(bytes, where, 'ERR_CONFIG_INVALID');
  const rootfs = doc.rootfs as { type?: unknown; diff_ids?: unknown } | undefined;
  if (typeof rootfs !== 'object' || rootfs === null || !Array.isArray(rootfs.diff_ids)) {
    invalid(where, 'rootfs.diff_ids is missing', 'ERR_CONFIG_INVALID');
  }
  for (const [i, id] of (rootfs.diff_ids as unknown[]).entries()) checkDigest(id, `${where}: rootfs.diff_ids[${i}]`);
  if (typeof doc.os !== 'string' || typeof doc.architecture !== 'string') invalid(where, 'os and architecture must be strings', 'ERR_CONFIG_INVALID');
  const config = doc.config as Record<string, unknown> | undefined | null;
  if (config !== undefined && config !== null) {
    if (typeof config !== 'object') invalid(where, 'config must be an object', 'ERR_CONFIG_INVALID');
    for (const key of ['Env', 'Cmd', 'Entrypoint', 'Shell']) checkStrings(config[key], `config.${key}`, where);
    for (const key of ['WorkingDir', 'User', 'StopSignal']) {
      if (config[key] !== undefined && config[key] !== null && typeof config[key] !== 'string') invalid(where, `config.${key} must be a string`, 'ERR_CONFIG_INVALID');
    }
    if (config.Labels !== undefined && config.Labels !== null && typeof config.Labels !== 'object') invalid(where, 'config.Labels must be an object', 'ERR_CONFIG_INVALID');
  }
  if (doc.history !== undefined && !Array.isArray(doc.history)) invalid(where, 'history must be an array', 'ERR_CONFIG_INVALID');
  return doc as unknown as OciImageConfig;
}

/** The container defaults of a config, without nulls (Docker writes `"Cmd": null`). */
export function containerDefaults(config: OciImageConfig): ImageConfig {
  const source = (config.config ?? {}) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(source).filter(([, value]) => value !== null && value !== undefined)) as ImageConfig;
}
