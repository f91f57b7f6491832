/**
 * `berth build`: the command line of `runtime.images.build()`, with progress
 * printed as BuildKit's plain output does (`#3 [build 2/4] RUN make`,
 * the step's output lines, `#3 DONE 1.2s` or `#3 CACHED`).
 */
import type { Readable } from 'node:stream';
import type { BuildOptions, BuildProgressEvent } from '../../types/build.js';
import { BerthError } from '../errors.js';
import type { Runtime } from '../runtime.js';

/** What the command needs from the CLI around it. */
export interface BuildCommandContext {
  openRuntime(): Promise<Runtime>;
  out(text: string): void;
  err(text: string): void;
  isTTY: boolean;
  /** Where `berth build -` reads the context's tar from (default: process.stdin). */
  stdin?: Readable;
}

const USAGE = `Usage: berth build [OPTIONS] DIR

Build an image from a Dockerfile; DIR is the build context (\`-\`: a tar of it on stdin,
plain, gzip or zstd, with the Dockerfile inside).

Options:
  -t, --tag NAME          tag the image (repeatable)
  -f, --file FILE         the Dockerfile (default DIR/Dockerfile)
      --build-arg K=V     set a build-time variable (repeatable)
      --target STAGE      build up to this stage
      --no-cache          run every step again
      --pull              always pull base images
      --network MODE      the network of RUN steps: none (default) or host
      --platform P        the platform to build for (the host's only)
      --label K=V         add a label to the image (repeatable)
      --secret id=ID,src=FILE  a secret for RUN --mount=type=secret (repeatable)
  -q, --quiet             print only the image id
`;

class UsageError extends Error {}

function keyValue(value: string, what: string): [string, string] {
  const equals = value.indexOf('=');
  if (equals <= 0) throw new UsageError(`${what} expects KEY=VALUE, got '${value}'`);
  return [value.slice(0, equals), value.slice(equals + 1)];
}

/** The options of a `berth build` command line. */
export function parseBuildArgs(args: readonly string[]): { options: Omit<BuildOptions, 'onProgress' | 'signal'>; quiet: boolean } {
  const tags: string[] = [];
  const buildArgs: Record<string, string> = {};
  const labels: Record<string, string> = {};
  const secrets: Record<string, { file: string }> = {};
  let dockerfile: string | undefined;
  let target: string | undefined;
  let noCache = false;
  let pull = false;
  let network: 'none' | 'host' | undefined;
  let platform: string | undefined;
  let quiet = false;
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      const next = args[++i];
      if (next === undefined) throw new UsageError(`${flag} needs a value`);
      return next;
    };
    switch (flag) {
      case '-t':
      case '--tag':
        tags.push(value());
        break;
      case '-f':
      case '--file':
        dockerfile = value();
        break;
      case '--build-arg': {
        const given = value();
        // `--build-arg NAME` takes the value from the environment, as Docker does
        const [key, val] = given.includes('=') ? keyValue(given, '--build-arg') : [given, process.env[given]];
        if (val !== undefined) buildArgs[key] = val;
        break;
      }
      case '--label': {
        const [key, val] = keyValue(value(), '--label');
        labels[key] = val;
        break;
      }
      case '--secret': {
        const fields = Object.fromEntries(value().split(',').map((part) => keyValue(part, '--secret')));
        if (!fields.id || !(fields.src ?? fields.source)) throw new UsageError('--secret expects id=ID,src=FILE');
        secrets[fields.id] = { file: (fields.src ?? fields.source)! };
        break;
      }
      case '--target':
        target = value();
        break;
      case '--no-cache':
        noCache = true;
        break;
      case '--pull':
        pull = true;
        break;
      case '--network': {
        const mode = value();
        if (mode !== 'none' && mode !== 'host' && mode !== 'default') throw new UsageError(`--network takes none, host or default, got '${mode}'`);
        if (mode !== 'default') network = mode;
        break;
      }
      case '--platform':
        platform = value();
        break;
      case '-q':
      case '--quiet':
        quiet = true;
        break;
      default:
        if (arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown option ${flag}`);
        positional.push(arg);
    }
  }
  if (positional.length !== 1) throw new UsageError(positional.length === 0 ? 'the build context DIR is missing' : `one build context expected, got ${positional.join(' ')}`);
  return {
    options: {
      context: positional[0]!,
      ...(dockerfile !== undefined ? { dockerfile: dockerfile.startsWith('/') ? dockerfile : `${process.cwd()}/${dockerfile}` } : {}),
      ...(tags.length ? { tags } : {}),
      ...(Object.keys(buildArgs).length ? { buildArgs } : {}),
      ...(Object.keys(labels).length ? { labels } : {}),
      ...(Object.keys(secrets).length ? { secrets } : {}),
      ...(target !== undefined ? { target } : {}),
      ...(noCache ? { noCache } : {}),
      ...(pull ? { pull: 'always' as const } : {}),
      ...(network !== undefined ? { network } : {}),
      ...(platform !== undefined ? { platform } : {}),
    },
    quiet,
  };
}

/** BuildKit's plain progress lines for one event. */
export function progressLine(event: BuildProgressEvent, started: Map<number, number>): string | undefined {
  const seconds = (ms: number) => (ms / 1000).toFixed(1);
  switch (event.type) {
    case 'step-start': {
      started.set(event.id, Date.now());
      const position = event.index === 0 ? 'FROM' : `${event.index}/${event.total}`;
      return `#${event.id} [${event.stage} ${position}] ${event.instruction}\n`;
    }
    case 'step-cached':
      return `#${event.id} [${event.stage} ${event.index}/${event.total}] ${event.instruction}\n#${event.id} CACHED\n`;
    case 'step-done':
      return `#${event.id} DONE ${seconds(event.durationMs)}s\n`;
    case 'output': {
      const since = started.get(event.step);
      return `#${event.step} ${since === undefined ? '' : `${seconds(Date.now() - since)} `}${event.line}\n`;
    }
    case 'warning':
      return `WARNING: ${event.message}\n`;
    case 'done':
      return [
        `#${started.size + 1} writing image ${event.imageId} done`,
        ...event.tags.map((tag) => `#${started.size + 1} naming to ${tag} done`),
        `built in ${seconds(event.durationMs)}s: ${event.stepsRun} steps run, ${event.stepsCached} cached`,
      ].join('\n') + '\n';
  }
}

/**
 * Runs `berth build ARGS…`. Progress goes to `err` (as docker build's does),
 * the image id to `out`. Returns the exit code: 0 built, 1 the build failed,
 * 2 a usage error. Ctrl-C stops the build.
 */
export async function buildCommand(args: string[], ctx: BuildCommandContext): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) {
    ctx.out(USAGE);
    return 0;
  }
  let parsed;
  try {
    parsed = parseBuildArgs(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    ctx.err(`berth build: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  const controller = new AbortController();
  const interrupt = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', interrupt);
  const started = new Map<number, number>();
  try {
    const runtime = await ctx.openRuntime();
    const context = parsed.options.context === '-' ? (ctx.stdin ?? process.stdin) : parsed.options.context;
    const image = await runtime.images.build({
      ...parsed.options,
      context,
      signal: controller.signal,
      onProgress: (event) => {
        const line = parsed.quiet && event.type !== 'warning' ? undefined : progressLine(event, started);
        if (line) ctx.err(line);
      },
    });
    ctx.out(`${image.id}\n`);
    return 0;
  } catch (error) {
    if (error instanceof BerthError || error instanceof TypeError || controller.signal.aborted) {
      ctx.err(`ERROR: ${controller.signal.aborted ? 'the build was interrupted' : (error as Error).message}\n`);
      return 1;
    }
    throw error;
  } finally {
    process.removeListener('SIGINT', interrupt);
  }
}
