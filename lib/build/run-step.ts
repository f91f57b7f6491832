/**
 * RUN: the command runs in a berth container made from the stage's layers
 * (the same isolation and seccomp profile as any container; network `none`
 * unless `--network=host`), with the stage's ENV, ARGs, WORKDIR and USER.
 * What it changed (its upper directory) becomes the step's layer.
 */
import { closeSync, mkdirSync, readdirSync, rmdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { containerPaths } from '../container/container-config.js';
import type { Container } from '../container/container.js';
import { extractTar } from '../container/container-tar.js';
import { LayerView } from '../container/layer-view.js';
import { openDirectory } from '../container/path-in-root.js';
import { BuildStepError } from '../errors.js';
import { layerFromTar } from '../image/image-import.js';
import { packLayer } from '../image/layer-pack.js';
import { chainKey } from './build-cache.js';
import type { BuildSession, StepHandle } from './build-session.js';
import { buildView, imageState, layerDirs, storeStep, type StageState } from './build-state.js';
import { DEFAULT_SHELL, stageLookup } from './config-step.js';
import type { RunInstruction } from './dockerfile-ast.js';
import { expandWord } from './dockerfile-words.js';
import { parseRunMount, prepareMounts, type RunMount } from './run-mounts.js';
import { cachedState } from './step-cache.js';

/** How many of a failed RUN's last output lines its error carries. */
const OUTPUT_LINES = 30;

/** The script of a shell-form RUN: the command, then its heredocs' bodies, as a shell reads them. */
function shellScript(instruction: RunInstruction, text: string): string {
  const [only] = instruction.heredocs;
  if (instruction.heredocs.length === 1 && /^<<-?(["']?)[A-Za-z_][A-Za-z0-9_.-]*\1$/.test(text.trim())) return only!.content;
  return [text, ...instruction.heredocs.map((heredoc) => `${heredoc.content}${heredoc.name}`)].join('\n');
}

/** Where a `RUN <<EOF` script with a `#!` line is mounted to be executed (removed from the layer afterwards). */
const SCRIPT_DIR = '/.berth-heredoc';

/** The argv, the network and the parsed mounts of a RUN, variables substituted in its flags. */
function readRun(
  instruction: RunInstruction,
  state: StageState,
  escape: string,
  defaultNetwork: 'none' | 'host',
): { argv: string[]; network: string; mounts: RunMount[]; script?: { name: string; content: string } } {
  const lookup = stageLookup(state.config.config ?? {}, state.args);
  const given = instruction.network === undefined ? 'default' : expandWord(instruction.network, lookup, escape);
  const network = given === 'default' ? defaultNetwork : given;
  if (!['none', 'host', 'default'].includes(network)) throw new Error(`--network=${network}: use none, host or default`);
  if (instruction.security !== undefined && expandWord(instruction.security, lookup, escape) !== 'sandbox') {
    throw new Error('--security=insecure is not supported: RUN steps always run with the isolation and seccomp profile of any container');
  }
  const mounts = instruction.mounts.map((mount) => parseRunMount(expandWord(mount, lookup, escape)));
  const result = { network: network === 'host' ? 'host' : 'none', mounts };
  if ('exec' in instruction.command) {
    if (instruction.command.exec.length === 0) throw new Error('RUN [] has no command');
    return { ...result, argv: instruction.command.exec };
  }
  const script = shellScript(instruction, instruction.command.shell);
  const [only] = instruction.heredocs;
  if (only && script === only.content && script.startsWith('#!')) {
    // a script with its interpreter: executed as a file, as BuildKit does
    return { ...result, argv: [`${SCRIPT_DIR}/${only.name}`], script: { name: only.name, content: script } };
  }
  return { ...result, argv: [...(state.config.config?.Shell ?? DEFAULT_SHELL), script] };
}

/** The environment of the command: ENV, then the stage's ARGs that ENV does not set. */
function runEnv(state: StageState): string[] {
  const env = [...(state.config.config?.Env ?? [])];
  const names = new Set(env.map((entry) => entry.slice(0, entry.indexOf('='))));
  for (const [name, value] of state.args) if (!names.has(name)) env.push(`${name}=${value}`);
  return env;
}

/** Lines of a stream, each handed to `line`. */
async function lines(stream: Readable | null, line: (text: string) => void): Promise<void> {
  if (!stream) return;
  for await (const text of createInterface({ input: stream, crlfDelay: Infinity })) line(text);
}

/** Removes what mounting created in the upper directory: the targets that were not in the image, while empty. */
function removeMountStubs(upper: string, created: readonly string[]): void {
  for (const target of created) {
    let path = target;
    while (path !== '/' && path !== '.') {
      const at = join(upper, path);
      const stats = statSync(at, { throwIfNoEntry: false });
      try {
        if (stats?.isDirectory()) rmdirSync(at);
        else if (stats?.isFile() && stats.size === 0) unlinkSync(at);
        else break;
      } catch {
        break; // not empty: the command wrote there
      }
      path = posix.dirname(path);
    }
  }
}

/** Runs the container to its end; returns its exit code and last output lines. */
async function runContainer(session: BuildSession, container: Container, step: StepHandle): Promise<{ exitCode: number; output: string[] }> {
  const output: string[] = [];
  const collect = (stream: 'stdout' | 'stderr') => (line: string) => {
    output.push(line);
    if (output.length > OUTPUT_LINES) output.shift();
    session.progress({ type: 'output', step: step.info.id, stream, line });
  };
  const abort = () => void container.kill().catch(() => {});
  session.signal.addEventListener('abort', abort);
  try {
    await container.start();
    const [status] = await Promise.all([container.wait(), lines(container.stdout, collect('stdout')), lines(container.stderr, collect('stderr'))]);
    session.signal.throwIfAborted();
    return { exitCode: status.exitCode, output };
  } finally {
    session.signal.removeEventListener('abort', abort);
  }
}

/** The stages (or images) that `--mount=…,from=` names, by mount index. */
async function mountSources(session: BuildSession, mounts: readonly RunMount[], instruction: RunInstruction): Promise<Map<number, StageState>> {
  const result = new Map<number, StageState>();
  for (const [index, mount] of mounts.entries()) {
    const from = mount.fields.from;
    if (from === undefined || mount.type !== 'bind') continue;
    const stage = session.stage(from, instruction.location);
    result.set(index, stage ? await stage : imageState(session.store, (await session.store.resolve(from, session.options.pull ?? 'missing')).id));
  }
  return result;
}

/** A stage's `source` directory, copied out of its layers into `dir` (read through a container of it: nothing leaves its root). */
async function extractFrom(session: BuildSession, source: StageState, mount: RunMount, dir: string): Promise<string> {
  mkdirSync(dir, { mode: 0o700 });
  if (!source.imageId) return dir; // FROM scratch with nothing in it: an empty directory
  const container = await session.runtime.containers.create({ image: buildView(session.store, source.imageId), entrypoint: [], cmd: ['true'], removeOnOwnerExit: true });
  try {
    const path = posix.resolve('/', mount.fields.source ?? '/');
    const fd = openDirectory(dir, false);
    try {
      await extractTar(fd, dir, await container.copyFrom(`${path === '/' ? '' : path}/.`));
    } finally {
      closeSync(fd);
    }
    return dir;
  } finally {
    await container.remove({ force: true }).catch(() => {});
  }
}

/** RUN: from the cache, or run. */
export async function runStep(session: BuildSession, state: StageState, instruction: RunInstruction, step: StepHandle): Promise<StageState> {
  const failed = (message: string, extra: { exitCode?: number; output?: string[] } = {}, cause?: unknown) =>
    new BuildStepError(message, { instruction: step.info.instruction, location: instruction.location, ...extra }, cause === undefined ? {} : { cause });
  let run: ReturnType<typeof readRun>;
  try {
    run = readRun(instruction, state, session.escape, session.options.network ?? 'none');
  } catch (error) {
    throw failed((error as Error).message);
  }
  const args = [...state.args].sort(([a], [b]) => a.localeCompare(b));
  const fromStates = await mountSources(session, run.mounts, instruction);
  const key = chainKey(state.key, {
    run: run.argv,
    script: run.script,
    args,
    network: run.network,
    mounts: run.mounts,
    from: [...fromStates].map(([index, source]) => [index, source.key]),
  });
  const cached = cachedState(session, state, key, step);
  if (cached) return cached;
  session.progress({ type: 'step-start', ...step.info });
  if (!state.imageId) throw failed('the stage has no files yet (FROM scratch): RUN needs at least a shell; COPY one in first');

  const view = LayerView.open(layerDirs(session.store, state), 'the build stage');
  const workdir = state.config.config?.WorkingDir || '/';
  let missingTargets: string[];
  try {
    const targets = [...run.mounts.map((m) => posix.resolve(workdir, m.target)), ...(run.script ? [`${SCRIPT_DIR}/${run.script.name}`] : [])];
    missingTargets = targets.filter((target) => view.kind(target) === undefined);
  } finally {
    view.close();
  }
  const secretsDir = join(session.tempDir, `step-${step.info.id}`);
  mkdirSync(secretsDir, { mode: 0o700 });
  let container: Container | undefined;
  try {
    let mounts;
    try {
      const fromDirs = new Map<number, string>();
      for (const [index, source] of fromStates) fromDirs.set(index, await extractFrom(session, source, run.mounts[index]!, join(secretsDir, `from-${index}`)));
      mounts = prepareMounts(run.mounts, workdir, { cache: session.cache, context: session.context, secrets: session.options.secrets ?? {}, secretsDir, fromDirs });
    } catch (error) {
      throw failed((error as Error).message);
    }
    if (run.script) {
      const file = join(secretsDir, `script-${run.script.name}`);
      writeFileSync(file, run.script.content, { mode: 0o755 });
      mounts.mounts.push({ type: 'bind', source: file, target: `${SCRIPT_DIR}/${run.script.name}`, readonly: true });
    }
    container = await session.runtime.containers.create({
      image: buildView(session.store, state.imageId),
      entrypoint: [],
      cmd: run.argv,
      env: runEnv(state),
      workdir,
      ...(state.config.config?.User ? { user: state.config.config.User } : {}),
      network: run.network,
      mounts: mounts.mounts,
      attach: true,
      removeOnOwnerExit: true,
    });
    let result;
    try {
      result = await runContainer(session, container, step);
    } catch (error) {
      if (session.signal.aborted) throw error;
      throw failed(`the command could not be started: ${(error as Error).message}`, {}, error);
    }
    if (result.exitCode !== 0) {
      throw failed(`the command exited with code ${result.exitCode}${result.output.length ? `; its last output:\n${result.output.join('\n')}` : ''}`, result);
    }
    const upper = containerPaths(join(session.runtime.root, 'containers', container.id)).upper;
    removeMountStubs(upper, missingTargets);
    const changed = readdirSync(upper, { withFileTypes: true }).length > 0;
    // BuildKit's form: the ARGs in scope first (`|2 A=1 B=2`), as Docker records them
    const argsPart = args.length > 0 ? `|${args.length} ${args.map(([name, value]) => `${name}=${value}`).join(' ')} ` : '';
    const createdBy = `RUN ${argsPart}${run.argv.join(' ')} # buildkit`;
    return await storeStep(session, state, key, createdBy, async (created) =>
      changed ? layerFromTar(session.store.content, packLayer(upper, { idMaps: session.store.content.userns?.maps }), `the changes of ${step.info.instruction}`, created, { maxLayerSize: Infinity }) : undefined,
    );
  } finally {
    await container?.remove({ force: true }).catch(() => {});
    rmSync(secretsDir, { recursive: true, force: true });
  }
}
