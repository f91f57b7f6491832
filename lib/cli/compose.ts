/**
 * `berth compose [-f FILE] [-p NAME] COMMAND`: stacks from a compose file,
 * with Docker Compose's commands, flags and output (`up [-d] [--wait]`,
 * `down [-v]`, `ps`, `logs [-f] [SERVICE…]`, `exec SERVICE CMD…`,
 * `restart [SERVICE…]`, `config`). A thin shell over `runtime.stacks`.
 */
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import type { Runtime } from '../runtime.js';
import { BerthError } from '../errors.js';
import type { StackContainer, StackLogLine } from '../../types/stack.js';

/**
 * What a CLI command gets from the `berth` entry point. (Kept here until
 * lib/cli/context.ts lands; the two are meant to be the same shape.)
 */
export interface CliContext {
  /** Opens the runtime ($BERTH_ROOT or /var/lib/berth). */
  openRuntime(): Promise<Runtime>;
  /** Writes to stdout. */
  out(text: string): void;
  /** Writes to stderr. */
  err(text: string): void;
  /** stdout is a terminal. */
  isTTY: boolean;
}

const USAGE = `Usage: berth compose [-f FILE] [-p NAME] COMMAND

Commands:
  up [-d] [--build] [--wait] [--wait-timeout S] [--remove-orphans] [SERVICE…]
                                build missing images (--build: all), create and start the stack (attached: follow its logs until Ctrl-C)
  down [-v] [-t SECONDS]        stop and remove containers (orphans too) and networks (-v: and named volumes)
  ps                            list the stack's containers
  logs [-f] [--tail N] [SERVICE…]  show output, merged and prefixed per service
  exec [-e K=V] [-u USER] [-w DIR] [-T] SERVICE CMD…  run a command in a service's container
  restart [SERVICE…]            restart containers
  config [--services]           print the resolved compose file (or the service names)

Options:
  -f, --file FILE               the compose file (default: compose.yaml, compose.yml, docker-compose.yaml, docker-compose.yml)
  -p, --project-name NAME       the project name (default: name:, $COMPOSE_PROJECT_NAME, the directory's name)
      --project-directory DIR   relative paths and .env are taken from here
`;

class UsageError extends Error {}

/** Global options, then the command and its arguments (the first word that is not an option starts the command). */
function splitGlobal(args: string[]): { file?: string; project?: string; projectDir?: string; command?: string; rest: string[]; help: boolean } {
  const out: ReturnType<typeof splitGlobal> = { rest: [], help: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = () => {
      const next = args[++i];
      if (next === undefined) throw new UsageError(`${arg} needs a value`);
      return next;
    };
    if (arg === '-f' || arg === '--file' || arg.startsWith('--file=')) {
      if (out.file !== undefined) throw new UsageError('-f given twice: berth reads one compose file (no merging)');
      out.file = arg.startsWith('--file=') ? arg.slice(7) : value();
    }
    else if (arg === '-p' || arg === '--project-name') out.project = value();
    else if (arg.startsWith('--project-name=')) out.project = arg.slice(15);
    else if (arg === '--project-directory') out.projectDir = value();
    else if (arg === '-h' || arg === '--help') out.help = true;
    else if (arg.startsWith('-')) throw new UsageError(`unknown flag: ${arg}`);
    else {
      out.command = arg;
      out.rest = args.slice(i + 1);
      break;
    }
  }
  return out;
}

function parse<T extends Record<string, { type: 'boolean' | 'string'; short?: string; multiple?: boolean }>>(args: string[], options: T, positionalsUntilFirst = false) {
  // exec: options end at the service name (the command's own flags follow)
  const cut = positionalsUntilFirst ? args.findIndex((a) => !a.startsWith('-')) : -1;
  const own = cut >= 0 ? args.slice(0, cut + 1) : args;
  try {
    const parsed = parseArgs({ args: own, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    return { values: parsed.values, positionals: [...parsed.positionals, ...(cut >= 0 ? args.slice(cut + 1) : [])] };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function portsText(container: StackContainer): string {
  return container.ports.map((p) => `${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.proto}`).join(', ');
}

function statusText(container: StackContainer): string {
  if (container.status === 'exited') return `exited (${container.exitCode})`;
  return container.health ? `${container.status} (${container.health})` : container.status;
}

/** Rows as columns, each as wide as its widest cell plus three spaces (Docker's tables). */
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]! + 3))).join('').trimEnd()).join('\n') + '\n';
}

/** `web-1  | line`, the prefix as wide as the widest service's. */
function logPrinter(ctx: CliContext, services: string[]): (line: StackLogLine) => void {
  const width = Math.max(0, ...services.map((s) => s.length + 2));
  return (line) => ctx.out(`${`${line.service}-1`.padEnd(width)}  | ${line.line}\n`);
}

/** `$` written as `$$`, so that the printed file reads back to the same values. */
function escapeDollars(value: unknown): unknown {
  if (typeof value === 'string') return value.replaceAll('$', '$$$$');
  if (Array.isArray(value)) return value.map(escapeDollars);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, escapeDollars(v)]));
  return value;
}

/**
 * Runs `berth compose ARGS…`; resolves with the exit code (0, the exec'd
 * command's, 125 when berth failed or the arguments are wrong).
 */
export async function composeCommand(args: string[], ctx: CliContext): Promise<number> {
  try {
    return await run(args, ctx);
  } catch (error) {
    if (error instanceof UsageError) {
      ctx.err(`berth compose: ${error.message}\nSee 'berth compose --help'.\n`);
      return 125;
    }
    const step = error instanceof BerthError && error.step ? ` [step ${error.step}]` : '';
    ctx.err(`berth compose: ${error instanceof Error ? error.message : String(error)}${step}\n`);
    return 125;
  }
}

async function run(args: string[], ctx: CliContext): Promise<number> {
  const global = splitGlobal(args);
  if (global.help || !global.command || global.command === 'help') {
    (global.help || global.command === 'help' ? ctx.out : ctx.err)(USAGE);
    return global.help || global.command === 'help' ? 0 : 125;
  }
  const loadOptions = {
    ...(global.project ? { projectName: global.project } : {}),
    ...(global.projectDir ? { projectDir: global.projectDir } : {}),
    onWarning: (message: string) => ctx.err(`WARN: ${message}\n`),
  };
  const source = global.file ?? global.projectDir ?? '.';
  const { command, rest } = global;
  const runtime = await ctx.openRuntime();
  switch (command) {
    case 'config': {
      const { values } = parse(rest, { services: { type: 'boolean' } });
      if (values.help) return help(ctx, 'config [--services]');
      const spec = runtime.stacks.config(source, loadOptions);
      ctx.out(values.services ? Object.keys(spec.services).map((name) => `${name}\n`).join('') : stringify(escapeDollars(spec)));
      return 0;
    }
    case 'up': {
      const { values, positionals } = parse(rest, { detach: { type: 'boolean', short: 'd' }, wait: { type: 'boolean' }, 'wait-timeout': { type: 'string' }, 'remove-orphans': { type: 'boolean' }, build: { type: 'boolean' } });
      if (values.help) return help(ctx, 'up [-d] [--build] [--wait] [--wait-timeout SECONDS] [--remove-orphans] [SERVICE…]');
      const waitTimeout = values['wait-timeout'] === undefined ? undefined : Number(values['wait-timeout']);
      if (waitTimeout !== undefined && !(waitTimeout > 0)) throw new UsageError(`--wait-timeout: not a number of seconds: ${values['wait-timeout']}`);
      const { spec } = runtime.stacks.load(source, loadOptions);
      const containers = await runtime.stacks.up(source, {
        ...loadOptions,
        ...(positionals.length ? { services: positionals } : {}),
        ...(values.wait ? { wait: true } : {}),
        ...(waitTimeout === undefined ? {} : { timeout: waitTimeout * 1000 }),
        ...(values['remove-orphans'] ? { removeOrphans: true } : {}),
        ...(values.build ? { build: true } : {}),
        onProgress: (service, event) => {
          const subject = event === 'building' || event === 'built' ? `Service ${service}` : `Container ${spec.services[service]!.container_name}`;
          ctx.err(` ${subject}  ${event[0]!.toUpperCase()}${event.slice(1)}\n`);
        },
      });
      if (values.detach || values.wait) return 0;
      return attach(ctx, runtime, spec.name, containers.map((c) => c.service));
    }
    case 'down': {
      const { values } = parse(rest, { volumes: { type: 'boolean', short: 'v' }, timeout: { type: 'string', short: 't' }, 'remove-orphans': { type: 'boolean' } });
      if (values.help) return help(ctx, 'down [-v] [-t SECONDS]');
      const project = projectOf(runtime, source, loadOptions, global.project);
      const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
      if (timeout !== undefined && !(timeout >= 0)) throw new UsageError(`-t: not a number of seconds: ${values.timeout}`);
      const removed = await runtime.stacks.down(project, { volumes: values.volumes === true, ...(timeout === undefined ? {} : { timeout }) });
      for (const name of removed.containers) ctx.err(` Container ${name}  Removed\n`);
      for (const name of removed.volumes) ctx.err(` Volume ${name}  Removed\n`);
      for (const name of removed.networks) ctx.err(` Network ${name}  Removed\n`);
      return 0;
    }
    case 'ps': {
      const { values } = parse(rest, { quiet: { type: 'boolean', short: 'q' }, all: { type: 'boolean', short: 'a' } });
      if (values.help) return help(ctx, 'ps [-q]');
      const containers = await runtime.stacks.ps(projectOf(runtime, source, loadOptions, global.project));
      if (values.quiet) ctx.out(containers.map((c) => `${c.id}\n`).join(''));
      else ctx.out(table([['NAME', 'IMAGE', 'SERVICE', 'STATUS', 'PORTS'], ...containers.map((c) => [c.name, c.image, c.service, statusText(c), portsText(c)])]));
      return 0;
    }
    case 'logs': {
      const { values, positionals } = parse(rest, { follow: { type: 'boolean', short: 'f' }, tail: { type: 'string', short: 'n' }, timestamps: { type: 'boolean', short: 't' } });
      if (values.help) return help(ctx, 'logs [-f] [--tail N] [SERVICE…]');
      const tail = values.tail === undefined || values.tail === 'all' ? undefined : Number(values.tail);
      if (tail !== undefined && !(Number.isInteger(tail) && tail >= 0)) throw new UsageError(`--tail: not a number of lines: ${values.tail}`);
      const project = projectOf(runtime, source, loadOptions, global.project);
      const print = logPrinter(ctx, (await runtime.stacks.ps(project)).map((c) => c.service));
      for await (const line of runtime.stacks.logs(project, { services: positionals, ...(values.follow ? { follow: true } : {}), ...(tail === undefined ? {} : { tail }) })) {
        print(values.timestamps ? { ...line, line: `${line.time.toISOString()} ${line.line}` } : line);
      }
      return 0;
    }
    case 'exec': {
      const { values, positionals } = parse(rest, {
        env: { type: 'string', short: 'e', multiple: true }, user: { type: 'string', short: 'u' }, workdir: { type: 'string', short: 'w' },
        'no-TTY': { type: 'boolean', short: 'T' }, interactive: { type: 'boolean', short: 'i' }, tty: { type: 'boolean', short: 't' },
      }, true);
      if (values.help) return help(ctx, 'exec [-e K=V] [-u USER] [-w DIR] [-T] SERVICE CMD…');
      const [service, ...cmd] = positionals;
      if (!service || cmd.length === 0) throw new UsageError('exec needs a service and a command');
      const result = await runtime.stacks.exec(projectOf(runtime, source, loadOptions, global.project), service, cmd, {
        ...(values.env ? { env: values.env as string[] } : {}),
        ...(values.user ? { user: values.user as string } : {}),
        ...(values.workdir ? { workdir: values.workdir as string } : {}),
      });
      ctx.out(result.stdout);
      ctx.err(result.stderr);
      return result.exitCode;
    }
    case 'restart': {
      const { values, positionals } = parse(rest, { timeout: { type: 'string', short: 't' } });
      if (values.help) return help(ctx, 'restart [-t SECONDS] [SERVICE…]');
      const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
      await runtime.stacks.restart(projectOf(runtime, source, loadOptions, global.project), positionals, timeout === undefined ? {} : { timeout });
      for (const c of await runtime.stacks.ps(projectOf(runtime, source, loadOptions, global.project))) {
        if (positionals.length === 0 || positionals.includes(c.service)) ctx.err(` Container ${c.name}  Started\n`);
      }
      return 0;
    }
    default:
      throw new UsageError(`unknown command: ${command}`);
  }
}

function help(ctx: CliContext, synopsis: string): number {
  ctx.out(`Usage: berth compose [-f FILE] [-p NAME] ${synopsis}\n`);
  return 0;
}

/** The project: `-p`, else the compose file's (read, nothing created). */
function projectOf(runtime: Runtime, source: string, options: Parameters<Runtime['stacks']['load']>[1], given: string | undefined): string {
  return given ?? runtime.stacks.load(source, options).spec.name;
}

/** `up` without `-d`: the logs, followed, until every container exits or Ctrl-C (which stops them). */
async function attach(ctx: CliContext, runtime: Runtime, project: string, services: string[]): Promise<number> {
  const abort = new AbortController();
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    ctx.err('Gracefully stopping... (press Ctrl+C again to force)\n');
    abort.abort();
  };
  process.once('SIGINT', onSignal);
  try {
    const print = logPrinter(ctx, services);
    for await (const line of runtime.stacks.logs(project, { follow: true, signal: abort.signal })) print(line);
  } finally {
    process.removeListener('SIGINT', onSignal);
  }
  if (interrupted) {
    for (const c of await runtime.stacks.ps(project)) {
      await (await runtime.containers.get(c.id)).stop();
      ctx.err(` Container ${c.name}  Stopped\n`);
    }
  }
  return 0;
}
