import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageRecord } from '../../types/image.js';
import { NotFoundError } from '../errors.js';
import { readJsonIfExists, writeJsonAtomic } from '../state/atomic-file.js';
import { withFileLock } from '../state/file-lock.js';
import { BUILTIN_BUSYBOX_REFERENCE, buildBusyboxLayer } from './builtin-busybox.js';
import { Image } from './image.js';
import { parseReference } from './reference.js';

/**
 * The local image store under `<root>`:
 * `layers/<hex>/diff` (unpacked layer directories, shared by images) and
 * `images/<hex>.json` (image records).
 */
export class ImageStore {
  private readonly imagesDir: string;
  private readonly layersDir: string;

  /** @internal */
  constructor(root: string) {
    this.imagesDir = join(root, 'images');
    this.layersDir = join(root, 'layers');
    mkdirSync(this.imagesDir, { recursive: true });
    mkdirSync(this.layersDir, { recursive: true });
  }

  /** All images in the store. */
  list(): Image[] {
    return readdirSync(this.imagesDir)
      .filter((file) => file.endsWith('.json'))
      .map((file) => readJsonIfExists<ImageRecord>(join(this.imagesDir, file)))
      .filter((record): record is ImageRecord => record !== undefined)
      .map((record) => this.image(record));
  }

  /**
   * The image a reference or id names. `localhost/busybox` is built on first
   * use from the host's static busybox, so it is always available offline.
   * @throws NotFoundError when the store has no such image.
   */
  async get(reference: string): Promise<Image> {
    if (/^(sha256:)?[a-f0-9]{64}$/.test(reference)) {
      const record = readJsonIfExists<ImageRecord>(join(this.imagesDir, `${reference.replace(/^sha256:/, '')}.json`));
      if (record) return this.image(record);
      throw new NotFoundError(`no image with id ${reference}`);
    }
    const canonical = parseReference(reference).canonical;
    const found = this.list().find((image) => image.references.includes(canonical));
    if (found) return found;
    if (canonical === BUILTIN_BUSYBOX_REFERENCE) return this.createBuiltinBusybox();
    throw new NotFoundError(
      `image ${canonical} is not in the local store; the built-in image is ${BUILTIN_BUSYBOX_REFERENCE}`,
      { path: this.imagesDir },
    );
  }

  /** The directory of an unpacked layer. */
  layerPath(layerId: string): string {
    return join(this.layersDir, layerId.replace(/^sha256:/, ''), 'diff');
  }

  private image(record: ImageRecord): Image {
    return new Image(record, [...record.layers].reverse().map((layer) => this.layerPath(layer)));
  }

  private async createBuiltinBusybox(): Promise<Image> {
    return withFileLock(join(this.imagesDir, '.lock'), async () => {
      const existing = this.list().find((image) => image.references.includes(BUILTIN_BUSYBOX_REFERENCE));
      if (existing) return existing;
      const layer = buildBusyboxLayer(this.layersDir);
      const config = { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] };
      const id = `sha256:${createHash('sha256').update(JSON.stringify({ layers: [layer], config })).digest('hex')}`;
      const record: ImageRecord = {
        id,
        references: [BUILTIN_BUSYBOX_REFERENCE],
        layers: [layer],
        config,
        createdAt: new Date().toISOString(),
      };
      writeJsonAtomic(join(this.imagesDir, `${id.slice('sha256:'.length)}.json`), record);
      return this.image(record);
    });
  }

  /** True when the layer directory exists (used by crash recovery). */
  hasLayer(layerId: string): boolean {
    return existsSync(this.layerPath(layerId));
  }
}
