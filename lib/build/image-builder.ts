/**
 * `runtime.images.build()`: a Dockerfile parsed, the stages the target needs
 * built (independent ones at once), each step from the cache or run, and
 * the result stored as an OCI image with its tags. Nothing is tagged unless
 * the whole build succeeds; a failed step leaves no layer, image or cache
 * entry of its own (the steps before it stay cached, as Docker's do).
 */
import { closeSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { isAbsolute, join, resolve } from 'node:path';
import type { BuildOptions, BuildStepInfo } from '../../types/build.js';
import { refuseUnknownOptions } from '../container/create-options.js';
import { extractTar } from '../container/container-tar.js';
import { openDirectory, UnsafePathError } from '../container/path-in-root.js';
import { decompress } from '../image/decompress.js';
import { BerthError, BuildStepError, DockerfileError, ImageContentError, type DockerfileLocation } from '../errors.js';
import type { Image } from '../image/image.js';
import { hostPlatform, formatPlatform, parsePlatform } from '../image/platform.js';
import { parseReference } from '../image/reference.js';
import type { Runtime } from '../runtime.js';
import { makePrivateDirectory } from '../state/private-state.js';
import { BuildCache, chainKey } from './build-cache.js';
import { BuildContext } from './build-context.js';
import type { BuildSession, StepHandle } from './build-session.js';
import { addConfigHistory, cloneState, imageState, scratchState, storeState, type StageState } from './build-state.js';
import { applyConfigInstruction, stageLookup } from './config-step.js';
import { copyStep } from './copy-step.js';
import type { ArgInstruction, Dockerfile, Instruction, Stage } from './dockerfile-ast.js';
import { parseDockerfile } from './dockerfile-parser.js';
import { expandWord, WordError, type Lookup } from './dockerfile-words.js';
import { DockerignoreError } from './dockerignore.js';
import { runStep } from './run-step.js';

const BUILD_OPTION_NAMES = [
  'context', 'dockerfile', 'dockerfileContent', 'tags', 'buildArgs', 'target', 'labels', 'noCache', 'pull', 'network', 'platform', 'secrets',
  'onProgress', 'signal',
] as const;
// a compile error here names an option of BuildOptions missing from the list
const listsEveryOption: Exclude<keyof BuildOptions, (typeof BUILD_OPTION_NAMES)[number]> extends never ? true : never = true;
void listsEveryOption;

/** Build args every build has without an ARG line before FROM (BuildKit's), and the proxy args. */
function predefinedArgs(): Map<string, string> {
  const platform = hostPlatform();
  const values: [string, string][] = [];
  for (const prefix of ['TARGET', 'BUILD']) {
    values.push([`${prefix}PLATFORM`, formatPlatform(platform)], [`${prefix}OS`, platform.os], [`${prefix}ARCH`, platform.architecture], [`${prefix}VARIANT`, platform.variant ?? '']);
  }
  return new Map(values);
}
const PROXY_ARGS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy'];

function checkOptions(options: BuildOptions): void {
  if (typeof options !== 'object' || options === null) throw new TypeError('build: options must be an object');
  refuseUnknownOptions(options, BUILD_OPTION_NAMES, 'build');
  const context: unknown = options.context;
  if (!(context instanceof Readable) && (typeof context !== 'string' || context === '')) throw new TypeError('build: context must be a directory path or a tar stream');
  for (const key of ['dockerfile', 'dockerfileContent', 'target'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'string') throw new TypeError(`build: ${key} must be a string`);
  }
  if (options.tags !== undefined && (!Array.isArray(options.tags) || !options.tags.every((t) => typeof t === 'string'))) throw new TypeError('build: tags must be an array of strings');
  for (const tag of options.tags ?? []) if (parseReference(tag).digest) throw new TypeError(`build: a tag cannot have a digest: ${tag}`);
  for (const key of ['buildArgs', 'labels'] as const) {
    const value = options[key];
    if (value !== undefined && (typeof value !== 'object' || value === null || !Object.values(value).every((v) => typeof v === 'string'))) {
      throw new TypeError(`build: ${key} must be an object of strings`);
    }
  }
  if (options.noCache !== undefined && typeof options.noCache !== 'boolean') throw new TypeError('build: noCache must be a boolean');
  if (options.pull !== undefined && !['missing', 'always', 'never'].includes(options.pull)) throw new TypeError('build: pull must be missing, always or never');
  if (options.network !== undefined && !['none', 'host'].includes(options.network)) throw new TypeError('build: network must be none or host');
  if (options.platform !== undefined) {
    if (typeof options.platform !== 'string') throw new TypeError('build: platform must be a string like linux/amd64');
    const wanted = formatPlatform(parsePlatform(options.platform));
    const host = formatPlatform(hostPlatform());
    if (wanted !== host) {
      throw new ImageContentError(`build: berth builds for this host's platform ${host} only (no emulation), not ${wanted}`, { code: 'ERR_PLATFORM_UNAVAILABLE' });
    }
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw new TypeError('build: onProgress must be a function');
}

/** The meta ARGs' values (ARG lines before the first FROM), build args taking precedence. */
function metaArgs(file: Dockerfile, buildArgs: Record<string, string>, escape: string): Map<string, string> {
  const values = predefinedArgs();
  const declared = new Map<string, string>();
  for (const instruction of file.metaArgs) {
    for (const arg of instruction.args) {
      const lookup: Lookup = (name) => declared.get(name) ?? values.get(name);
      const value = buildArgs[arg.name] ?? (arg.default === undefined ? undefined : expandOr(instruction, () => expandWord(arg.default!, lookup, escape)));
      if (value !== undefined) declared.set(arg.name, value);
      else declared.delete(arg.name);
    }
  }
  for (const [name, value] of declared) values.set(name, value);
  return values;
}

/** Runs a substitution; a WordError becomes a DockerfileError at the instruction. */
function expandOr<T>(instruction: { location: DockerfileLocation }, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof WordError) throw new DockerfileError(error.message, instruction.location);
    throw error;
  }
}

/** The instruction with its words substituted, for progress and messages. */
function describe(instruction: Instruction): string {
  return instruction.original.replace(/\s+/g, ' ').slice(0, 200);
}

class Builder {
  private readonly stages = new Map<number, Promise<StageState>>();
  private readonly meta: Map<string, string>;
  private readonly used = new Set<string>();
  private stepIds = 0;
  readonly session: BuildSession;

  constructor(
    runtime: Runtime,
    private readonly file: Dockerfile,
    context: BuildContext,
    options: BuildOptions,
    signal: AbortSignal,
    tempDir: string,
  ) {
    this.meta = metaArgs(file, options.buildArgs ?? {}, file.escape);
    for (const instruction of file.metaArgs) for (const arg of instruction.args) this.used.add(arg.name);
    const stats = { run: 0, cached: 0 };
    this.session = {
      runtime,
      store: runtime.images,
      cache: new BuildCache(runtime.root),
      context,
      options,
      signal,
      escape: file.escape,
      tempDir,
      progress: (event) => options.onProgress?.(event),
      stage: (reference, from) => this.stageByReference(reference, from),
      stats,
    };
  }

  /** The stage a `--from` or FROM names (by name, or by index for --from), built once; undefined when it names no stage. */
  private stageByReference(reference: string, from: DockerfileLocation): Promise<StageState> | undefined {
    const lower = reference.toLowerCase();
    const stage = this.file.stages.find((s) => s.name === lower) ?? (/^\d+$/.test(reference) ? this.file.stages[Number(reference)] : undefined);
    if (!stage) return undefined;
    const current = this.file.stages.filter((s) => s.from.location.line <= from.line).at(-1);
    if (current && stage.index >= current.index) {
      throw new DockerfileError(`stage '${reference}' is not defined before this line: a stage can only use the stages above it`, from);
    }
    return this.build(stage);
  }

  /** The target stage. */
  target(target: string | undefined): Stage {
    if (target === undefined) return this.file.stages.at(-1)!;
    const stage = this.file.stages.find((s) => s.name === target.toLowerCase()) ?? (/^\d+$/.test(target) ? this.file.stages[Number(target)] : undefined);
    if (!stage) {
      const names = this.file.stages.flatMap((s) => (s.name ? [s.name] : []));
      throw new TypeError(`build: target stage '${target}' is not in the Dockerfile${names.length ? ` (its stages: ${names.join(', ')})` : ''}`);
    }
    return stage;
  }

  /** Starts the stages the target surely needs (FROM and --from naming stages literally), so independent ones build at once. */
  prefetch(target: Stage): void {
    const seen = new Set<number>();
    const visit = (stage: Stage) => {
      if (seen.has(stage.index)) return;
      seen.add(stage.index);
      const refs = [stage.from.image, ...stage.instructions.flatMap((i) => (i.kind === 'COPY' && i.from !== undefined ? [i.from] : []))];
      for (const ref of refs) {
        if (ref.includes('$')) continue;
        const dep = this.file.stages.find((s) => s.name === ref.toLowerCase()) ?? (/^\d+$/.test(ref) ? this.file.stages[Number(ref)] : undefined);
        if (dep && dep.index < stage.index) {
          visit(dep);
          this.build(dep).catch(() => {}); // its failure is reported where it is awaited
        }
      }
    };
    visit(target);
  }

  build(stage: Stage): Promise<StageState> {
    let promise = this.stages.get(stage.index);
    if (!promise) {
      promise = this.buildStage(stage);
      this.stages.set(stage.index, promise);
    }
    return promise;
  }

  private step(stage: Stage, index: number, instruction: Instruction): StepHandle {
    const info: BuildStepInfo = {
      id: ++this.stepIds,
      stage: stage.name ?? String(stage.index),
      index,
      total: stage.instructions.length,
      instruction: describe(instruction),
    };
    return { info, started: Date.now() };
  }

  private async base(stage: Stage): Promise<StageState> {
    const lookup: Lookup = (name) => this.meta.get(name);
    const reference = expandOr(stage.from, () => expandWord(stage.from.image, lookup, this.file.escape));
    if (reference === '') throw new DockerfileError(`FROM ${stage.from.image}: the image name is empty after substitution`, stage.from.location);
    if (reference.toLowerCase() === 'scratch') return scratchState();
    const fromStage = this.stageByReference(reference, stage.from.location);
    if (fromStage) return cloneState(await fromStage);
    const platform = stage.from.platform === undefined ? undefined : expandOr(stage.from, () => expandWord(stage.from.platform!, lookup, this.file.escape));
    let image: Image;
    try {
      image = await this.session.store.resolve(reference, this.session.options.pull ?? 'missing', platform || undefined);
    } catch (error) {
      if (error instanceof TypeError) throw new DockerfileError(`FROM ${reference}: ${error.message}`, stage.from.location);
      // not in the store (pull: 'never'), or the registry failed: the step says which line
      throw new BuildStepError(`the base image cannot be had: ${(error as Error).message}`, { instruction: `FROM ${reference}`, location: stage.from.location }, { cause: error, ...(error instanceof BerthError ? { code: error.code } : {}) });
    }
    return imageState(this.session.store, image.id);
  }

  private async buildStage(stage: Stage): Promise<StageState> {
    const step0 = this.step(stage, 0, stage.from);
    this.session.progress({ type: 'step-start', ...step0.info });
    let state = await this.base(stage);
    this.session.progress({ type: 'step-done', ...step0.info, durationMs: Date.now() - step0.started });
    state.args = new Map();
    const config = state.config.config ?? {};
    const triggers = config.OnBuild ?? [];
    state.config.config = { ...config };
    delete state.config.config.OnBuild;
    for (const trigger of triggers) {
      let parsed: Instruction;
      try {
        parsed = parseDockerfile(`FROM scratch\n${trigger}`, `ONBUILD trigger of ${stage.from.image}`).stages[0]!.instructions[0]!;
      } catch (error) {
        throw new DockerfileError(`the base image's ONBUILD trigger '${trigger}' cannot be read: ${(error as Error).message}`, stage.from.location);
      }
      state = await this.execute(stage, state, { ...parsed, location: stage.from.location }, 0, false);
    }
    let cmdSet = false;
    for (const [position, instruction] of stage.instructions.entries()) {
      this.session.signal.throwIfAborted();
      state = await this.execute(stage, state, instruction, position + 1, cmdSet);
      if (instruction.kind === 'CMD') cmdSet = true;
    }
    return state;
  }

  private async execute(stage: Stage, state: StageState, instruction: Instruction, index: number, cmdSet: boolean): Promise<StageState> {
    switch (instruction.kind) {
      case 'RUN':
      case 'COPY':
      case 'ADD': {
        const step = this.step(stage, index, instruction);
        const cachedBefore = this.session.stats.cached;
        const next = instruction.kind === 'RUN' ? await runStep(this.session, state, instruction, step) : await copyStep(this.session, state, instruction, step);
        if (this.session.stats.cached === cachedBefore) this.session.progress({ type: 'step-done', ...step.info, durationMs: Date.now() - step.started });
        return next;
      }
      case 'ARG':
        return this.arg(state, instruction);
      case 'FROM':
        throw new DockerfileError('FROM is not allowed here', instruction.location);
      default: {
        const next = cloneState(state);
        const config = { ...next.config.config };
        let createdBy: string;
        try {
          createdBy = applyConfigInstruction(config, instruction, stageLookup(config, next.args), this.file.escape, cmdSet);
        } catch (error) {
          if (error instanceof WordError || error instanceof Error) throw new DockerfileError(`${instruction.kind}: ${error.message}`, instruction.location);
          throw error;
        }
        if (instruction.kind === 'MAINTAINER') next.config.author = createdBy.slice('MAINTAINER '.length);
        next.config.config = config;
        addConfigHistory(next, createdBy);
        next.key = chainKey(state.key, { config: createdBy });
        return next;
      }
    }
  }

  /** ARG in a stage: a build arg, else the meta ARG of that name (for `ARG NAME` without default), else the default. */
  private arg(state: StageState, instruction: ArgInstruction): StageState {
    const next = cloneState(state);
    const buildArgs = this.session.options.buildArgs ?? {};
    const parts: string[] = [];
    for (const arg of instruction.args) {
      this.used.add(arg.name);
      const lookup = stageLookup(next.config.config ?? {}, next.args);
      const value = buildArgs[arg.name]
        ?? (arg.default === undefined ? this.meta.get(arg.name) : expandOr(instruction, () => expandWord(arg.default!, lookup, this.file.escape)));
      if (value === undefined) next.args.delete(arg.name);
      else next.args.set(arg.name, value);
      parts.push(value === undefined ? arg.name : `${arg.name}=${value}`);
    }
    next.key = chainKey(state.key, { arg: parts });
    return next;
  }

  /** Build args nothing declared (proxy args and predefined ones are fine). */
  unusedBuildArgs(): string[] {
    return Object.keys(this.session.options.buildArgs ?? {}).filter((name) => !this.used.has(name) && !PROXY_ARGS.includes(name) && !predefinedArgs().has(name));
  }
}

function readDockerfile(options: BuildOptions, contextDir: string): { text: string; name: string; path?: string } {
  const name = options.dockerfile ?? 'Dockerfile';
  if (options.dockerfileContent !== undefined) return { text: options.dockerfileContent, name };
  const path = isAbsolute(name) ? name : join(contextDir, name);
  try {
    return { text: readFileSync(path, 'utf8'), name, path };
  } catch (error) {
    throw new DockerfileError(`cannot read the Dockerfile: ${(error as Error).message}`, { file: name, line: 1, column: 1 }, { cause: error });
  }
}

/**
 * Builds an image from a Dockerfile and a context directory.
 * @throws DockerfileError (file:line:column) for a Dockerfile that cannot be built as written;
 *   BuildStepError for a step that failed (a RUN's exit code and last output lines).
 */
export async function buildImage(runtime: Runtime, options: BuildOptions): Promise<Image> {
  checkOptions(options);
  const started = Date.now();
  options.signal?.throwIfAborted();
  makePrivateDirectory(join(runtime.root, 'build-cache'));
  const tempDir = mkdtempSync(join(runtime.root, 'build-cache', 'tmp-'));
  try {
    const contextDir = typeof options.context === 'string' ? resolve(options.context) : await extractContext(options.context, join(tempDir, 'context'));
    if (!statSync(contextDir, { throwIfNoEntry: false })?.isDirectory()) throw new TypeError(`build: the context ${contextDir} is not a directory`);
    return await buildFrom(runtime, options, contextDir, tempDir, started);
  } finally {
    rmSync(tempDir, { recursive: true, force: true });
  }
}

/**
 * A context given as a tar stream (plain, gzip or zstd), extracted into the
 * build's private directory: entries cannot leave it (`..`, writes through
 * symlinks are refused), devices and FIFOs are skipped.
 */
async function extractContext(source: Readable, dir: string): Promise<string> {
  mkdirSync(dir, { mode: 0o700 });
  const fd = openDirectory(dir, false);
  try {
    await extractTar(fd, 'the build context', Readable.from(decompress(source)));
  } catch (error) {
    if (error instanceof UnsafePathError) throw new DockerfileError(`the build context's tar: ${error.message}`, { file: 'context', line: 1, column: 1 }, { cause: error });
    throw error;
  } finally {
    closeSync(fd);
  }
  return dir;
}

async function buildFrom(runtime: Runtime, options: BuildOptions, contextDir: string, tempDir: string, started: number): Promise<Image> {
  const dockerfile = readDockerfile(options, contextDir);
  const file = parseDockerfile(dockerfile.text, dockerfile.name);
  let context: BuildContext;
  try {
    context = BuildContext.open(contextDir, dockerfile.path);
  } catch (error) {
    if (error instanceof DockerignoreError) throw new DockerfileError(`.dockerignore: ${error.message}`, { file: '.dockerignore', line: error.line, column: 1 });
    throw error;
  }
  for (const warning of file.warnings) options.onProgress?.({ type: 'warning', message: warning });

  const controller = new AbortController();
  const forward = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', forward);
  const builder = new Builder(runtime, file, context, options, controller.signal, tempDir);
  try {
    const target = builder.target(options.target);
    builder.prefetch(target);
    const state = await builder.build(target).catch((error: unknown) => {
      controller.abort(error);
      throw error;
    });
    const unused = builder.unusedBuildArgs();
    if (unused.length > 0) options.onProgress?.({ type: 'warning', message: `build args not consumed by any ARG: ${unused.join(', ')}` });
    const final = cloneState(state);
    if (options.labels) final.config.config = { ...final.config.config, Labels: { ...final.config.config?.Labels, ...options.labels } };
    const tags = (options.tags ?? []).map((tag) => parseReference(tag).canonical);
    const image = await runtime.images.adding(async () => storeState(runtime.images, final, tags, false));
    options.onProgress?.({
      type: 'done',
      imageId: image.id,
      tags,
      durationMs: Date.now() - started,
      stepsRun: builder.session.stats.run,
      stepsCached: builder.session.stats.cached,
    });
    return image;
  } finally {
    options.signal?.removeEventListener('abort', forward);
  }
}
