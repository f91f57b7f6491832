/**
 * Typed readers of compose values: each checks one value and, when it is
 * wrong, throws a ComposeError naming the file, the service and the key.
 */
import { ComposeError } from '../errors.js';
import { parseBytes } from '../units.js';

/** Where a value sits: the file, the service (if any) and the key path. */
export class Where {
  constructor(
    readonly file: string,
    readonly service: string | undefined,
    readonly key: string | undefined,
  ) {}

  /** The place of a key below this one (`ports` → `ports[0]`, `healthcheck` → `healthcheck.interval`). */
  at(part: string | number): Where {
    const key = typeof part === 'number' ? `${this.key ?? ''}[${part}]` : this.key ? `${this.key}.${part}` : part;
    return new Where(this.file, this.service, key);
  }

  /** Throws a ComposeError here. */
  fail(message: string, code = 'ERR_COMPOSE_INVALID'): never {
    throw new ComposeError(message, { file: this.file, ...(this.service === undefined ? {} : { service: this.service }), ...(this.key === undefined ? {} : { key: this.key }) }, { code });
  }
}

/** `value` shown short, for messages. */
export function shown(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function readMap(value: unknown, where: Where): Record<string, unknown> {
  if (!isMap(value)) where.fail(`must be a mapping, got ${shown(value)}`);
  return value;
}

export function readString(value: unknown, where: Where): string {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') where.fail(`must be a string, got ${shown(value)}`);
  if (value.includes('\0')) where.fail('must not contain NUL characters');
  return value;
}

export function readBoolean(value: unknown, where: Where): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  return where.fail(`must be true or false, got ${shown(value)}`);
}

export function readInteger(value: unknown, where: Where, min = 0): number {
  const number = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < min) where.fail(`must be an integer ≥ ${min}, got ${shown(value)}`);
  return number;
}

export function readStringList(value: unknown, where: Where): string[] {
  if (!Array.isArray(value)) where.fail(`must be a list of strings, got ${shown(value)}`);
  return value.map((item, i) => readString(item, where.at(i)));
}

/** A mapping of strings, or a list of `KEY=value` (a bare `KEY`: `lookup`, left out when undefined). */
export function readStringMap(value: unknown, where: Where, lookup: (key: string) => string | undefined = () => undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      const entry = readString(item, where.at(i));
      const equals = entry.indexOf('=');
      const key = equals < 0 ? entry : entry.slice(0, equals);
      if (key === '') where.at(i).fail(`must be KEY=value, got ${shown(entry)}`);
      const resolved = equals < 0 ? lookup(key) : entry.slice(equals + 1);
      if (resolved !== undefined) out[key] = resolved;
    });
    return out;
  }
  for (const [key, item] of Object.entries(readMap(value, where))) {
    if (item === null || item === undefined) {
      const resolved = lookup(key);
      if (resolved !== undefined) out[key] = resolved;
    } else out[key] = readString(item, where.at(key));
  }
  return out;
}

/** A string or a list: a string is split as a shell would split words (quotes, backslashes; no expansion). */
export function readCommand(value: unknown, where: Where): string[] {
  if (Array.isArray(value)) return readStringList(value, where);
  return splitWords(readString(value, where), where);
}

/** Splits `text` into words the way Compose's shlex does. */
export function splitWords(text: string, where: Where): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (/\s/.test(char)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (char === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) where.fail(`has no closing ' in ${shown(text)}`);
      word = (word ?? '') + text.slice(i + 1, end);
      i = end;
    } else if (char === '"') {
      let part = '';
      for (i++; i < text.length && text[i] !== '"'; i++) part += text[i] === '\\' && /["\\$`]/.test(text[i + 1] ?? '') ? text[++i] : text[i];
      if (i >= text.length) where.fail(`has no closing " in ${shown(text)}`);
      word = (word ?? '') + part;
    } else if (char === '\\' && i + 1 < text.length) {
      word = (word ?? '') + text[++i];
    } else word = (word ?? '') + char;
  }
  if (word !== undefined) words.push(word);
  return words;
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go-style duration (`1m30s`, `500ms`, `10s`) or a number of seconds → milliseconds. */
export function readDuration(value: unknown, where: Where): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value * 1000;
  const text = readString(value, where);
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) where.fail(`must be a duration like '10s', '1m30s' or '500ms', got ${shown(value)}`);
  return Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * DURATION_UNITS[p[2]!]!, 0));
}

/** A byte size (`512m`, `1gb`, a number). */
export function readBytes(value: unknown, where: Where): number {
  if (typeof value !== 'number' && typeof value !== 'string') where.fail(`must be a size like '512m', got ${shown(value)}`);
  try {
    return parseBytes(value, 'size');
  } catch (error) {
    return where.fail(`must be a size like '512m' or '1g', got ${shown(value)}`);
  }
}

/** Refuses keys not in `known` (`x-` extension keys are allowed), naming the closest one. */
export function refuseUnknownKeys(map: Record<string, unknown>, known: readonly string[], where: Where, unsupported: readonly string[] = []): void {
  for (const key of Object.keys(map)) {
    if (key.startsWith('x-') || known.includes(key)) continue;
    if (unsupported.includes(key)) where.at(key).fail('is not supported by berth', 'ERR_COMPOSE_UNSUPPORTED');
    where.at(key).fail(`is not a known key here (one of ${known.join(', ')})`);
  }
}
