/**
 * `RUN --mount=…` read into berth container mounts: `type=cache` (a
 * persistent directory per id under the state root), `type=bind` (a
 * directory or file of the context, read-only), `type=tmpfs`, and
 * `type=secret` (a build secret as a read-only file, never in a layer or
 * the cache key).
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { MountOptions } from '../../types/volume.js';
import type { BuildSecret } from '../../types/build.js';
import type { BuildCache } from './build-cache.js';
import type { BuildContext } from './build-context.js';

/** A parsed `--mount`. */
export interface RunMount {
  type: 'cache' | 'bind' | 'tmpfs' | 'secret';
  target: string;
  fields: Record<string, string>;
}

const KNOWN_FIELDS: Record<RunMount['type'], string[]> = {
  cache: ['id', 'target', 'readonly', 'ro', 'sharing', 'from', 'source', 'mode', 'uid', 'gid'],
  bind: ['target', 'source', 'from', 'readonly', 'ro', 'rw', 'readwrite'],
  tmpfs: ['target', 'size'],
  secret: ['id', 'target', 'required', 'mode', 'uid', 'gid', 'env'],
};

const flag = (value: string | undefined) => value !== undefined && value !== 'false';

/** `type=cache,target=/x,id=y` (values substituted already). @throws Error naming what is wrong. */
export function parseRunMount(text: string): RunMount {
  const fields: Record<string, string> = {};
  for (const part of text.split(',')) {
    if (part === '') continue;
    const equals = part.indexOf('=');
    const key = (equals < 0 ? part : part.slice(0, equals)).toLowerCase();
    fields[key === 'dst' || key === 'destination' ? 'target' : key === 'src' ? 'source' : key] = equals < 0 ? 'true' : part.slice(equals + 1);
  }
  const type = (fields.type ?? 'bind') as RunMount['type'];
  delete fields.type;
  if (!(type in KNOWN_FIELDS)) throw new Error(`--mount type=${type} is not supported: use cache, bind, tmpfs or secret`);
  for (const key of Object.keys(fields)) {
    if (!KNOWN_FIELDS[type].includes(key)) throw new Error(`--mount type=${type} does not take '${key}'`);
  }
  let target = fields.target;
  if (type === 'secret' && target === undefined) {
    if (fields.id === undefined) throw new Error('--mount type=secret needs id= or target=');
    target = `/run/secrets/${fields.id}`;
  }
  if (target === undefined || target === '') throw new Error(`--mount type=${type} needs target=`);
  return { type, target, fields };
}

/** What running with the mounts needs: the container's mounts, and what to clean up. */
export interface PreparedMounts {
  mounts: MountOptions[];
  /** The digest-relevant description for the cache key (no secret content). */
  key: unknown[];
}

function secretContent(secret: BuildSecret, id: string): Buffer {
  if (typeof secret === 'string') return Buffer.from(secret);
  if (Buffer.isBuffer(secret)) return secret;
  if (typeof secret === 'object' && secret !== null && typeof secret.file === 'string') return readFileSync(secret.file);
  throw new TypeError(`secrets.${id} must be a string, a Buffer or { file }`);
}

function octal(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[0-7]{1,4}$/.test(value)) throw new Error(`${what}=${value} is not an octal mode`);
  return parseInt(value, 8);
}

function id(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new Error(`${what}=${value} is not a numeric id`);
  return Number(value);
}

/**
 * The container mounts for a RUN's `--mount`s. `secretsDir` is a private
 * directory (removed by the caller) where secrets are written for the run.
 */
export function prepareMounts(
  parsed: readonly RunMount[],
  workdir: string,
  deps: {
    cache: BuildCache;
    context: BuildContext;
    secrets: Record<string, BuildSecret>;
    secretsDir: string;
    /** For `bind` mounts with `from=`: the host directory holding that stage's (or image's) `source`, by mount index. */
    fromDirs?: ReadonlyMap<number, string>;
  },
): PreparedMounts {
  const mounts: MountOptions[] = [];
  const key: unknown[] = [];
  for (const [index, mount] of parsed.entries()) {
    const target = posix.resolve(workdir, mount.target);
    const { fields } = mount;
    const fromDir = deps.fromDirs?.get(index);
    if (fields.from !== undefined && (mount.type !== 'bind' || fromDir === undefined)) throw new Error(`--mount type=${mount.type},from= is not supported: only bind mounts take from=`);
    switch (mount.type) {
      case 'cache': {
        const dir = deps.cache.mountDir(fields.id ?? target);
        if (!existsSync(dir)) {
          mkdirSync(dir, { mode: octal(fields.mode, 'mode') ?? 0o755 });
          chmodSync(dir, octal(fields.mode, 'mode') ?? 0o755);
          chownSync(dir, id(fields.uid, 'uid') ?? 0, id(fields.gid, 'gid') ?? 0);
        }
        mounts.push({ type: 'bind', source: dir, target, readonly: flag(fields.readonly) || flag(fields.ro) });
        key.push({ type: 'cache', target, id: fields.id ?? target, readonly: flag(fields.readonly) || flag(fields.ro) });
        break;
      }
      case 'bind': {
        if (flag(fields.rw) || flag(fields.readwrite)) throw new Error('--mount type=bind,rw is not supported: bind mounts of the context are read-only');
        if (fromDir !== undefined) {
          mounts.push({ type: 'bind', source: fromDir, target, readonly: true });
          key.push({ type: 'bind', target, from: fields.from, source: fields.source });
          break;
        }
        const source = deps.context.resolve(fields.source ?? '.');
        if (source === undefined || (source !== '.' && deps.context.ignore.excludes(source))) {
          throw new Error(`--mount type=bind: ${fields.source ?? '.'} is not in the build context`);
        }
        mounts.push({ type: 'bind', source: join(deps.context.dir, source), target, readonly: true });
        key.push({ type: 'bind', target, source });
        break;
      }
      case 'tmpfs':
        mounts.push({ type: 'tmpfs', target, ...(fields.size !== undefined ? { size: fields.size } : {}) });
        key.push({ type: 'tmpfs', target, size: fields.size });
        break;
      case 'secret': {
        const secretId = fields.id ?? posix.basename(target);
        const secret = deps.secrets[secretId];
        if (secret === undefined) {
          if (flag(fields.required)) throw new Error(`the secret '${secretId}' is required: give it in the build's secrets`);
          break; // an optional secret that is not given is not mounted
        }
        const file = join(deps.secretsDir, `${index}`);
        writeFileSync(file, secretContent(secret, secretId), { mode: 0o400 });
        chmodSync(file, octal(fields.mode, 'mode') ?? 0o400);
        chownSync(file, id(fields.uid, 'uid') ?? 0, id(fields.gid, 'gid') ?? 0);
        mounts.push({ type: 'bind', source: file, target, readonly: true });
        key.push({ type: 'secret', target, id: secretId });
        break;
      }
    }
  }
  return { mounts, key };
}
