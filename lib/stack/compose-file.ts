/**
 * Finding and reading a compose file: compose.yaml / compose.yml /
 * docker-compose.yaml / docker-compose.yml in a directory, YAML parsed by the
 * `yaml` package (duplicate keys and alias bombs refused), `.env` and the
 * environment interpolated into every string value, the project name chosen.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import type * as Yaml from 'yaml';
import type { StackLoadOptions, StackSpec } from '../../types/stack.js';
import { ComposeError } from '../errors.js';
import { parseEnvFile } from './env-file.js';
import { interpolate } from './interpolate.js';
import { isMap, Where } from './compose-values.js';
import { readSpec } from './stack-spec.js';

/** The file names looked for in a directory, in Docker Compose's order. */
export const COMPOSE_FILE_NAMES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];
const OVERRIDE_FILE_NAMES = ['compose.override.yaml', 'compose.override.yml', 'docker-compose.override.yaml', 'docker-compose.override.yml'];
const MAX_FILE_SIZE = 4 << 20;
const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** A loaded stack: the resolved spec and where it came from. */
export interface LoadedStack {
  spec: StackSpec;
  /** The compose file, or `<object>`. */
  file: string;
  projectDir: string;
}

/** The compose file at `path`: the file itself, or the first of COMPOSE_FILE_NAMES in the directory. */
export function findComposeFile(path: string): string {
  const absolute = resolve(path);
  let stat;
  try {
    stat = statSync(absolute);
  } catch {
    throw new ComposeError('no such file or directory', { file: absolute }, { code: 'ERR_NOT_FOUND', path: absolute });
  }
  if (!stat.isDirectory()) return absolute;
  for (const name of COMPOSE_FILE_NAMES) {
    const candidate = join(absolute, name);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // the next name
    }
  }
  throw new ComposeError(`no compose file here (looked for ${COMPOSE_FILE_NAMES.join(', ')})`, { file: absolute }, { code: 'ERR_NOT_FOUND', path: absolute });
}

/** Docker Compose's normalisation of a directory name into a project name: lower case, only [a-z0-9_-], no leading _ or -. */
export function normalizeProjectName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_-]+/g, '').replace(/^[_-]+/, '');
}

/** The `yaml` package, loaded on first use: a third of the SDK's import time, and only stacks need it. */
let yaml: typeof Yaml | undefined;
const loadYaml = () => (yaml ??= createRequire(import.meta.url)('yaml') as typeof Yaml);

function parseYaml(text: string, file: string): unknown {
  const { LineCounter, parseDocument } = loadYaml();
  const lines = new LineCounter();
  const document = parseDocument(text, { uniqueKeys: true, merge: true, prettyErrors: false, strict: true, lineCounter: lines });
  const error = document.errors[0];
  if (error) {
    const at = lines.linePos(error.pos[0]);
    throw new ComposeError(`invalid YAML at line ${at.line}, column ${at.col}: ${error.message}`, { file }, { cause: error });
  }
  try {
    return document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new ComposeError(`invalid YAML: ${(error as Error).message}`, { file }, { cause: error });
  }
}

/** Every string value of `value` interpolated (keys stay as written); errors name the key path. */
function interpolateTree(value: unknown, path: string[], file: string, variables: Record<string, string | undefined>, warn: (message: string) => void): unknown {
  if (typeof value === 'string') {
    const where = path[0] === 'services' && path.length > 1
      ? new Where(file, path[1], path.slice(2).join('.') || undefined)
      : new Where(file, undefined, path.join('.') || undefined);
    return interpolate(value, {
      variables,
      unset: (name) => warn(`the ${name} variable is not set: an empty string is used (${[file, ...path].join(': ')})`),
      fail: (message) => where.fail(message),
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => interpolateTree(item, [...path.slice(0, -1), `${path.at(-1) ?? ''}[${i}]`], file, variables, warn));
  if (isMap(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolateTree(item, [...path, key], file, variables, warn)]));
  return value;
}

/** The variables: `options.env` (default the process's) over the project directory's `.env`. */
function variablesFor(projectDir: string, options: StackLoadOptions): Record<string, string | undefined> {
  const env = options.env ?? process.env;
  const dotenv = join(projectDir, '.env');
  let text: string | undefined;
  try {
    text = readFileSync(dotenv, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new ComposeError(`cannot read: ${(error as NodeJS.ErrnoException).code}`, { file: dotenv });
  }
  const fromFile = text === undefined ? {} : parseEnvFile(text, {
    lookup: (key) => env[key],
    fail: (message) => {
      throw new ComposeError(message, { file: dotenv });
    },
  });
  return { ...fromFile, ...env };
}

/**
 * Reads a stack: a path (a compose file or a directory holding one) or a
 * spec object in the compose file's shape. Nothing is created.
 * @throws ComposeError naming the file, the service and the key.
 */
export function loadStack(source: string | Record<string, unknown>, options: StackLoadOptions = {}): LoadedStack {
  if (typeof options !== 'object' || options === null) throw new TypeError('stacks: options must be an object');
  let file = '<object>';
  let document: unknown = source;
  let projectDir = resolve(options.projectDir ?? '.');
  if (typeof source === 'string') {
    file = findComposeFile(source);
    if (options.projectDir === undefined) projectDir = dirname(file);
    let text: string;
    try {
      if (statSync(file).size > MAX_FILE_SIZE) throw new ComposeError(`is larger than ${MAX_FILE_SIZE >> 20} MiB`, { file });
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if (error instanceof ComposeError) throw error;
      throw new ComposeError(`cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { file }, { path: file });
    }
    document = parseYaml(text, file);
  } else if (!isMap(source)) {
    throw new TypeError('stacks: give a compose file path or a spec object');
  }
  if (!isMap(document)) throw new ComposeError('must be a mapping with a services key', { file });
  const variables = variablesFor(projectDir, options);
  const warn = options.onWarning ?? (() => {});
  if (file !== '<object>') {
    const override = OVERRIDE_FILE_NAMES.map((name) => join(dirname(file), name)).find((path) => existsSync(path));
    if (override) warn(`${override} is not merged: berth reads one compose file`);
  }
  const interpolated = interpolateTree(document, [], file, variables, warn) as Record<string, unknown>;
  const project = projectName(interpolated.name, options.projectName, variables.COMPOSE_PROJECT_NAME, projectDir, file);
  return { spec: readSpec(interpolated, { file, project, projectDir, variables }), file, projectDir };
}

function projectName(fromFile: unknown, given: string | undefined, fromEnv: string | undefined, projectDir: string, file: string): string {
  const check = (name: string, origin: string) => {
    if (!PROJECT_NAME.test(name)) {
      throw new ComposeError(`project name ${JSON.stringify(name)} (${origin}) must be lower-case letters, digits, '_' and '-', starting with a letter or digit`, { file, ...(origin === 'name' ? { key: 'name' } : {}) });
    }
    return name;
  };
  if (given !== undefined) return check(given, '-p');
  if (fromFile !== undefined) return check(String(fromFile), 'name');
  if (fromEnv) return check(fromEnv, 'COMPOSE_PROJECT_NAME');
  const normalized = normalizeProjectName(basename(projectDir));
  if (!normalized) throw new ComposeError(`the directory name ${JSON.stringify(basename(projectDir))} gives no project name: give one (-p, name:)`, { file });
  return normalized;
}
