/**
 * A service's `volumes` (short `source:target[:mode]` and long syntax) and
 * `tmpfs` → StackMount. Relative bind sources are resolved against the
 * project directory, `~` against $HOME; a named source must be declared in
 * the file's top-level `volumes`.
 */
import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import type { StackMount } from '../../types/stack.js';
import { isMap, readBoolean, readBytes, readInteger, readString, readStringList, refuseUnknownKeys, shown, type Where } from './compose-values.js';

/** What reading mounts needs from the rest of the file. */
export interface MountContext {
  projectDir: string;
  /** The names the file's top-level `volumes` declares. */
  declaredVolumes: readonly string[];
}

const PROPAGATIONS = ['rprivate', 'private', 'rshared', 'shared', 'rslave', 'slave'];

function hostPath(source: string, context: MountContext): string {
  if (source === '~' || source.startsWith('~/')) return resolve(homedir(), source.slice(2));
  return resolve(context.projectDir, source);
}

function checkTarget(target: string, where: Where): string {
  if (!isAbsolute(target)) where.fail(`the container path ${shown(target)} must be absolute`);
  return target;
}

function namedVolume(name: string, where: Where, context: MountContext): string {
  if (!context.declaredVolumes.includes(name)) where.fail(`refers to volume ${shown(name)}, which the top-level volumes do not declare`);
  return name;
}

function shortMount(text: string, where: Where, context: MountContext): StackMount {
  const parts = text.split(':');
  if (parts.length === 1) return { type: 'volume', target: checkTarget(text, where), read_only: false };
  if (parts.length > 3) where.fail(`${shown(text)} is not source:target[:mode]`);
  const [source, target, mode = 'rw'] = parts as [string, string, string?];
  const modes = mode.split(',');
  for (const m of modes) if (!['ro', 'rw', 'z', 'Z', 'nocopy', ...PROPAGATIONS].includes(m)) where.fail(`mode ${shown(m)} is not one of ro, rw, nocopy, ${PROPAGATIONS.join(', ')}`);
  const readOnly = modes.includes('ro');
  checkTarget(target, where);
  if (source.startsWith('.') || source.startsWith('/') || source.startsWith('~')) {
    const propagation = modes.find((m) => PROPAGATIONS.includes(m));
    return { type: 'bind', source: hostPath(source, context), target, read_only: readOnly, bind: { ...(propagation ? { propagation } : {}), create_host_path: true } };
  }
  return { type: 'volume', source: namedVolume(source, where, context), target, read_only: readOnly, ...(modes.includes('nocopy') ? { volume: { nocopy: true } } : {}) };
}

const LONG_KEYS = ['type', 'source', 'target', 'read_only', 'volume', 'bind', 'tmpfs', 'consistency'];

function longMount(value: Record<string, unknown>, where: Where, context: MountContext): StackMount {
  refuseUnknownKeys(value, LONG_KEYS, where);
  const type = readString(value.type, where.at('type'));
  const target = checkTarget(readString(value.target, where.at('target')), where.at('target'));
  const readOnly = value.read_only === undefined ? false : readBoolean(value.read_only, where.at('read_only'));
  const source = value.source === undefined ? undefined : readString(value.source, where.at('source'));
  const options = (key: string, known: string[]) => {
    if (value[key] === undefined) return undefined;
    if (!isMap(value[key])) where.at(key).fail('must be a mapping');
    refuseUnknownKeys(value[key] as Record<string, unknown>, known, where.at(key));
    return value[key] as Record<string, unknown>;
  };
  switch (type) {
    case 'volume': {
      const nocopy = options('volume', ['nocopy', 'subpath'])?.nocopy;
      return {
        type, target, read_only: readOnly,
        ...(source ? { source: namedVolume(source, where.at('source'), context) } : {}),
        ...(nocopy === undefined ? {} : { volume: { nocopy: readBoolean(nocopy, where.at('volume.nocopy')) } }),
      };
    }
    case 'bind': {
      if (!source) return where.at('source').fail('a bind mount needs a source');
      const bind = options('bind', ['propagation', 'create_host_path', 'selinux']) ?? {};
      const propagation = bind.propagation === undefined ? undefined : readString(bind.propagation, where.at('bind.propagation'));
      if (propagation !== undefined && !PROPAGATIONS.includes(propagation)) where.at('bind.propagation').fail(`must be one of ${PROPAGATIONS.join(', ')}`);
      const create = bind.create_host_path === undefined ? false : readBoolean(bind.create_host_path, where.at('bind.create_host_path'));
      const bindOptions = { ...(propagation ? { propagation } : {}), ...(create ? { create_host_path: true } : {}) };
      return { type, source: hostPath(source, context), target, read_only: readOnly, ...(Object.keys(bindOptions).length ? { bind: bindOptions } : {}) };
    }
    case 'tmpfs': {
      const tmpfs = options('tmpfs', ['size', 'mode']);
      return { type, target, read_only: readOnly, ...(tmpfs ? { tmpfs: tmpfsOptions(tmpfs, where.at('tmpfs')) } : {}) };
    }
    default:
      return where.at('type').fail(`must be volume, bind or tmpfs, got ${shown(type)}`);
  }
}

function tmpfsOptions(value: Record<string, unknown>, where: Where): { size?: number; mode?: number } {
  const mode = value.mode === undefined ? undefined : typeof value.mode === 'string' ? parseInt(value.mode, 8) : readInteger(value.mode, where.at('mode'));
  if (mode !== undefined && !(mode >= 0 && mode <= 0o7777)) where.at('mode').fail(`must be a permission mode like 1777, got ${shown(value.mode)}`);
  return { ...(value.size === undefined ? {} : { size: readBytes(value.size, where.at('size')) }), ...(mode === undefined ? {} : { mode }) };
}

/** The service's `volumes`. */
export function readMounts(value: unknown, where: Where, context: MountContext): StackMount[] {
  if (!Array.isArray(value)) where.fail(`must be a list, got ${shown(value)}`);
  return value.map((item, i) => (isMap(item) ? longMount(item, where.at(i), context) : shortMount(readString(item, where.at(i)), where.at(i), context)));
}

/** The service's `tmpfs`: a path or a list of `path[:size=…,mode=…]`. */
export function readTmpfs(value: unknown, where: Where): StackMount[] {
  const list = typeof value === 'string' ? [value] : readStringList(value, where);
  return list.map((entry, i) => {
    const [target, options = ''] = entry.split(/:(.*)/s) as [string, string?];
    const here = typeof value === 'string' ? where : where.at(i);
    checkTarget(target, here);
    const parsed: Record<string, string> = {};
    for (const option of options.split(',').filter(Boolean)) {
      const [key, optionValue] = option.split('=') as [string, string?];
      if ((key !== 'size' && key !== 'mode') || optionValue === undefined) return here.fail(`option ${shown(option)} is not size=… or mode=…`);
      parsed[key] = optionValue;
    }
    const tmpfs = tmpfsOptions(parsed, here);
    return { type: 'tmpfs' as const, target, read_only: false, ...(Object.keys(tmpfs).length ? { tmpfs } : {}) };
  });
}
