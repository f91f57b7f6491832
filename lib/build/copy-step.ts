/**
 * COPY and ADD: sources from the context (wildcards, .dockerignore,
 * `--exclude`), from another stage or an image (`--from`), heredocs, and for
 * ADD local tar archives (extracted) and URLs (downloaded through undici,
 * `--checksum` verified). Docker's destination rules: a destination ending
 * in `/`, several sources, a wildcard, a directory source or an existing
 * directory make it a directory; a directory source's contents are copied.
 * The entries are extracted into the stage's filesystem through a container
 * (the same path checks as `copyTo`: nothing leaves the root), or, on an
 * empty filesystem (FROM scratch), form the layer directly.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { httpFetch } from '../image/http.js';
import { LayerView } from '../container/layer-view.js';
import { readLayersUserDatabase, resolveUser } from '../container/user-resolve.js';
import { BuildStepError } from '../errors.js';
import { decompress } from '../image/decompress.js';
import { layerFromTar } from '../image/image-import.js';
import { packLayer } from '../image/layer-pack.js';
import { containerPaths } from '../container/container-config.js';
import { chainKey } from './build-cache.js';
import { ContextPathError, type CopyEntry } from './build-context.js';
import type { BuildSession, StepHandle } from './build-session.js';
import { buildView, imageState, layerDirs, storeStep, type StageState } from './build-state.js';
import { stageLookup } from './config-step.js';
import { entriesTar, hashEntries, mergeTars, type Ownership, type TarPart } from './copy-tar.js';
import type { CopyInstruction } from './dockerfile-ast.js';
import { expandHeredoc, expandWord } from './dockerfile-words.js';
import { PathMatcher } from './dockerignore.js';
import { compileGlob, hasWildcards } from './path-glob.js';
import { cachedState } from './step-cache.js';

/** A step-level problem, as the user sees it. */
class CopyError extends Error {}

/** One source, ready to be merged: its tar part and its cache key part. */
interface Source {
  part: TarPart;
  key: unknown;
  /** What it is: a directory's contents, or one file. */
  directory: boolean;
  /** The name a single file gets in a destination directory. */
  baseName: string;
  wildcard: boolean;
}

const HEREDOC_SOURCE = /^<<-?(["']?)([A-Za-z_][A-Za-z0-9_.-]*)\1$/;

/** `--chown=user[:group]`: numeric ids; names from the stage's /etc/passwd and /etc/group. */
function chownIds(session: BuildSession, state: StageState, chown: string): { uid: number; gid: number } {
  const [user = '', group] = chown.split(':');
  const numeric = (text: string) => /^\d+$/.test(text);
  if (numeric(user) && (group === undefined || numeric(group))) return { uid: Number(user), gid: Number(group ?? user) };
  const database = readLayersUserDatabase(layerDirs(session.store, state), 'the build stage');
  try {
    const resolved = resolveUser(group === undefined ? user : `${user}:${group}`, database);
    return { uid: resolved.uid, gid: group === undefined ? resolved.uid : resolved.gid };
  } catch (error) {
    throw new CopyError(`--chown=${chown}: ${(error as Error).message.replace(/^container setup failed at step 'user': /, '')}`);
  }
}

function chmodMode(chmod: string): number {
  if (!/^[0-7]{3,4}$/.test(chmod)) throw new CopyError(`--chmod=${chmod} is not an octal mode (0755, 644)`);
  return parseInt(chmod, 8);
}

/**
 * Whether a context file is a tar archive ADD extracts: plain, gzip or zstd
 * whose (decompressed) start is a tar header. Anything else, a `.gz` of a
 * text file too, is copied as it is, as Docker does.
 */
async function isTarArchive(path: string): Promise<boolean> {
  let head = Buffer.alloc(0);
  try {
    // at most the first MiB of the file is read to find the first 512 bytes of content
    for await (const chunk of decompress(createReadStream(path, { start: 0, end: 1 << 20 }) as AsyncIterable<Buffer>)) {
      head = Buffer.concat([head, chunk]);
      if (head.length >= 512) break;
    }
  } catch {
    return false; // not what its first bytes said (a truncated gzip): a plain file
  }
  return head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar';
}

async function fileHash(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The sources of the context (and heredocs, and URLs for ADD). */
async function localSources(session: BuildSession, instruction: CopyInstruction, sources: string[], exclude: PathMatcher | undefined, ownership: Ownership, lookup: (n: string) => string | undefined, checksum: string | undefined): Promise<Source[]> {
  const result: Source[] = [];
  for (const source of sources) {
    const heredoc = HEREDOC_SOURCE.exec(source);
    if (heredoc) {
      const doc = instruction.heredocs.find((h) => h.name === heredoc[2]);
      if (!doc) throw new CopyError(`no heredoc ${source}`);
      const content = Buffer.from(doc.expand ? expandHeredoc(doc.content, lookup, session.escape) : doc.content);
      const entry: CopyEntry = { name: doc.name, type: 'file', mode: 0o644, mtime: new Date(0), content, size: content.length };
      result.push(entriesSource([entry], ownership, await hashEntries([entry], ownership), false, doc.name, false));
      continue;
    }
    if (/^https?:\/\//i.test(source)) {
      if (instruction.kind !== 'ADD') throw new CopyError(`COPY cannot fetch ${source}: use ADD for URLs`);
      result.push(await urlSource(session, source, ownership, checksum));
      continue;
    }
    let paths: string[];
    try {
      paths = session.context.sources(source).filter((path) => !exclude?.excludes(path));
    } catch (error) {
      if (error instanceof ContextPathError) throw new CopyError(error.message);
      throw error;
    }
    for (const path of paths) {
      const directory = session.context.isDirectory(path);
      const hostPath = join(session.context.dir, path);
      if (!directory && instruction.kind === 'ADD' && statSync(hostPath).isFile() && (await isTarArchive(hostPath))) {
        const key = { archive: await fileHash(hostPath), ownership };
        result.push({
          part: { open: async () => Readable.from(decompress(createReadStream(hostPath) as AsyncIterable<Buffer>)), rename: (name) => name, ownership },
          key,
          directory: true,
          baseName: posix.basename(path),
          wildcard: hasWildcards(source),
        });
        continue;
      }
      const entries = session.context.entries(path, directory ? '' : posix.basename(path), exclude);
      result.push(entriesSource(entries, ownership, await hashEntries(entries, ownership), directory, posix.basename(path), hasWildcards(source)));
    }
  }
  return result;
}

function entriesSource(entries: CopyEntry[], ownership: Ownership, hash: string, directory: boolean, baseName: string, wildcard: boolean): Source {
  return {
    part: { open: async () => entriesTar(entries, ownership), rename: (name) => name, ownership: {} },
    key: hash,
    directory,
    baseName,
    wildcard,
  };
}

/** ADD of a URL: downloaded once per build into the build's private directory, checked against `--checksum`. */
async function urlSource(session: BuildSession, url: string, ownership: Ownership, checksum: string | undefined): Promise<Source> {
  if (checksum !== undefined && !/^sha256:[a-f0-9]{64}$/.test(checksum)) throw new CopyError(`--checksum=${checksum}: expected sha256:<64 hex digits>`);
  const file = join(session.tempDir, `download-${createHash('sha256').update(url).digest('hex').slice(0, 16)}`);
  // the server is not trusted to answer, or to answer whole: a connection that fails is the step's error
  const failed = (error: unknown): Error => {
    if (session.signal?.aborted) return error as Error;
    const cause = (error as { cause?: { message?: string; code?: string } }).cause;
    return new CopyError(`downloading ${url}: ${cause?.message ?? (error as Error).message}${cause?.code ? ` (${cause.code})` : ''}`);
  };
  const response = await httpFetch(url, { signal: session.signal }).catch((error: unknown) => {
    throw failed(error);
  });
  if (!response.ok || !response.body) {
    await response.body?.cancel().catch(() => {});
    throw new CopyError(`downloading ${url}: HTTP ${response.status}`);
  }
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  await pipeline(Readable.fromWeb(response.body as never), hashing, createWriteStream(file, { mode: 0o600 })).catch((error: unknown) => {
    throw failed(error);
  });
  const digest = `sha256:${hash.digest('hex')}`;
  if (checksum !== undefined && digest !== checksum) throw new CopyError(`the content of ${url} has digest ${digest}, not ${checksum} as --checksum says`);
  const modified = Date.parse(response.headers.get('last-modified') ?? '');
  const name = posix.basename(new URL(url).pathname) || 'index.html';
  const entry: CopyEntry = { name, type: 'file', mode: 0o600, mtime: new Date(Number.isNaN(modified) ? 0 : modified), hostPath: file, size: statSync(file).size };
  return entriesSource([entry], ownership, await hashEntries([entry], ownership), false, name, false);
}

/** The sources of `--from=<stage|image>`, read through a container of that filesystem. */
async function fromSources(session: BuildSession, instruction: CopyInstruction, from: string, sources: string[], ownership: Ownership, cleanup: (() => Promise<void>)[]): Promise<Source[]> {
  const stage = session.stage(from, instruction.location);
  let source: StageState;
  if (stage) source = await stage;
  else {
    const image = await session.store.resolve(from, session.options.pull ?? 'missing');
    source = imageState(session.store, image.id);
  }
  const view = source.imageId ? LayerView.open(layerDirs(session.store, source), `--from=${from}`) : undefined;
  let container: Promise<import('../container/container.js').Container> | undefined;
  const open = (path: string) => async () => {
    container ??= session.runtime.containers.create({ image: buildView(session.store, source.imageId!), entrypoint: [], cmd: ['true'], removeOnOwnerExit: true });
    return (await container).copyFrom(path);
  };
  cleanup.push(async () => {
    if (container) await (await container).remove({ force: true }).catch(() => {});
  });
  try {
    return sources.map((path) => {
      const absolute = posix.resolve('/', path);
      if (hasWildcards(absolute)) return wildcardFromSource(absolute, view, from, source.key, ownership, open);
      const kind = view?.kind(absolute);
      if (kind === undefined) throw new CopyError(`${path} does not exist in --from=${from}`);
      const directory = kind === 'directory';
      return {
        part: { open: open(directory ? `${absolute.replace(/\/$/, '')}/.` : absolute), rename: (name: string) => name, ownership },
        key: { from: source.key, path: absolute, ownership },
        directory,
        baseName: posix.basename(absolute),
        wildcard: false,
      };
    });
  } finally {
    view?.close();
  }
}

/**
 * A wildcard source of `--from`: the directory above its first wildcard is
 * read, and only what matches is kept: a matching file under its own name, a
 * matching directory's contents.
 */
function wildcardFromSource(absolute: string, view: LayerView | undefined, from: string, key: string, ownership: Ownership, open: (path: string) => () => Promise<Readable>): Source {
  const parts = absolute.split('/').filter(Boolean);
  const first = parts.findIndex((part) => hasWildcards(part));
  const base = `/${parts.slice(0, first).join('/')}`;
  if (view?.kind(base) !== 'directory') throw new CopyError(`${absolute} matches nothing in --from=${from}`);
  const pattern = compileGlob(parts.slice(first).join('/'));
  const depth = parts.length - first;
  const rename = (name: string, directory: boolean) => {
    const components = name.split('/');
    if (components.length < depth || !pattern.test(components.slice(0, depth).join('/'))) return undefined;
    if (components.length > depth) return components.slice(depth).join('/');
    return directory ? undefined : components.at(-1);
  };
  return {
    part: { open: open(`${base === '/' ? '' : base}/.`), rename, ownership },
    key: { from: key, path: absolute, ownership },
    directory: false,
    baseName: '',
    wildcard: true,
  };
}

/** COPY/ADD: from the cache, or copied. */
export async function copyStep(session: BuildSession, state: StageState, instruction: CopyInstruction, step: StepHandle): Promise<StageState> {
  const cleanup: (() => Promise<void>)[] = [];
  try {
    return await copy(session, state, instruction, step, cleanup);
  } catch (error) {
    if (error instanceof CopyError) throw new BuildStepError(error.message, { instruction: step.info.instruction, location: instruction.location });
    throw error;
  } finally {
    for (const fn of cleanup) await fn();
  }
}

async function copy(session: BuildSession, state: StageState, instruction: CopyInstruction, step: StepHandle, cleanup: (() => Promise<void>)[]): Promise<StageState> {
  const lookup = stageLookup(state.config.config ?? {}, state.args);
  const word = (text: string) => expandWord(text, lookup, session.escape);
  if (instruction.parents) throw new CopyError('--parents is not supported yet');
  const ownership: Ownership = {
    ...(instruction.chown !== undefined ? chownIds(session, state, word(instruction.chown)) : {}),
    ...(instruction.chmod !== undefined ? { mode: chmodMode(word(instruction.chmod)) } : {}),
  };
  const exclude = instruction.exclude.length > 0 ? new PathMatcher(instruction.exclude.map(word)) : undefined;
  const sources = instruction.sources.map((source) => (HEREDOC_SOURCE.test(source) ? source : word(source)));
  const from = instruction.from === undefined ? undefined : word(instruction.from);
  const dest = word(instruction.destination);
  const workdir = state.config.config?.WorkingDir || '/';
  const destination = posix.resolve(workdir, dest);

  const parts = from === undefined
    ? await localSources(session, instruction, sources, exclude, ownership, lookup, instruction.checksum === undefined ? undefined : word(instruction.checksum))
    : await fromSources(session, instruction, from, sources, ownership, cleanup);
  if (parts.length === 0) throw new CopyError('no source files were specified (all excluded?)');

  let destinationIsDirectory = dest.endsWith('/') || dest === '.' || parts.length > 1 || parts.some((p) => p.wildcard || p.directory);
  if (!destinationIsDirectory && state.imageId) {
    const view = LayerView.open(layerDirs(session.store, state), 'the build stage');
    try {
      destinationIsDirectory = view.kind(destination) === 'directory';
    } finally {
      view.close();
    }
  }
  const targetDir = destinationIsDirectory ? destination : posix.dirname(destination);
  if (!destinationIsDirectory) {
    const [only] = parts;
    const name = posix.basename(destination);
    const original = only!.part.rename;
    only!.part.rename = (entry, directory) => (original(entry, directory) === only!.baseName ? name : undefined);
  }

  const key = chainKey(state.key, { copy: instruction.kind, destination, targetDir, directory: destinationIsDirectory, parts: parts.map((p) => p.key) });
  const cached = cachedState(session, state, key, step);
  if (cached) return cached;
  session.progress({ type: 'step-start', ...step.info });
  const createdBy = `${instruction.kind} ${sources.join(' ')} ${dest} # buildkit`;
  return storeStep(session, state, key, createdBy, (created) =>
    state.imageId
      ? throughContainer(session, state, parts, targetDir, created, step)
      : layerFromTar(session.store.content, emptyFilesystemTar(parts, targetDir), `the files of ${step.info.instruction}`, created, { maxLayerSize: Infinity }),
  );
}

/** On an empty filesystem the entries are the layer: named below `targetDir`, with its directories before them. */
function emptyFilesystemTar(parts: Source[], targetDir: string): Readable {
  const dirs = targetDir.split('/').filter((p) => p !== '');
  const leading = dirs.map((_, i) => ({ name: `${dirs.slice(0, i + 1).join('/')}/`, type: 'directory' as const, mode: 0o755, uid: 0, gid: 0, mtime: new Date(0) }));
  const prefix = dirs.length > 0 ? `${dirs.join('/')}/` : '';
  return mergeTars(
    parts.map(({ part }) => ({ ...part, rename: (name: string, directory: boolean) => {
      const renamed = part.rename(name, directory);
      return renamed === undefined ? undefined : `${prefix}${renamed}`;
    } })),
    leading,
  );
}

/** Extracts the entries into a container of the stage (nothing leaves its root), then takes its upper directory as the layer. */
async function throughContainer(session: BuildSession, state: StageState, parts: Source[], targetDir: string, created: string[], step: StepHandle) {
  const container = await session.runtime.containers.create({ image: buildView(session.store, state.imageId!), entrypoint: [], cmd: ['true'], removeOnOwnerExit: true });
  try {
    try {
      await container.copyTo(mergeTars(parts.map((p) => p.part)), targetDir);
    } catch (error) {
      throw new CopyError(`copying into ${targetDir}: ${(error as Error).message}`);
    }
    const upper = containerPaths(join(session.runtime.root, 'containers', container.id)).upper;
    return await layerFromTar(session.store.content, packLayer(upper), `the files of ${step.info.instruction}`, created, { maxLayerSize: Infinity });
  } finally {
    await container.remove({ force: true }).catch(() => {});
  }
}
