#!/usr/bin/env node
/**
 * The `berth` command: Docker's CLI names, flags, columns and exit codes over
 * the SDK. This file only routes: each command's file (and the SDK parts it
 * needs) is imported when that command runs, so `berth --version` loads
 * nothing else. Exit codes as Docker's: 125 berth failed (a bad flag
 * included), 126 the command cannot be invoked, 127 the command is not found,
 * else the command's own.
 */
import module from 'node:module';
import { helpText, parseCommandLine } from './args.js';
import { UsageError, type CliCommand } from './command.js';
import { processContext, type CliContext } from './context.js';

// Node 22+: compiled code cached on disk between runs (no effect on Node 20)
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

type CommandModule = { commands: Record<string, CliCommand> };

/** Command name → [its file, one-line summary]. Group commands (`volume`, `network`, `system`) list their subcommands in their file. */
const COMMANDS: Record<string, [() => Promise<CommandModule>, string]> = {
  run: [() => import('./run.js'), 'Create and run a new container from an image'],
  create: [() => import('./run.js'), 'Create a new container'],
  start: [() => import('./lifecycle.js'), 'Start one or more stopped containers'],
  stop: [() => import('./lifecycle.js'), 'Stop one or more running containers'],
  restart: [() => import('./lifecycle.js'), 'Restart one or more containers'],
  kill: [() => import('./lifecycle.js'), 'Kill one or more running containers'],
  pause: [() => import('./lifecycle.js'), 'Pause all processes within one or more containers'],
  unpause: [() => import('./lifecycle.js'), 'Unpause all processes within one or more containers'],
  rm: [() => import('./lifecycle.js'), 'Remove one or more containers'],
  wait: [() => import('./lifecycle.js'), 'Block until one or more containers stop, then print their exit codes'],
  update: [() => import('./lifecycle.js'), 'Update the resource limits of one or more containers'],
  rename: [() => import('./lifecycle.js'), 'Rename a container'],
  ps: [() => import('./ps.js'), 'List containers'],
  logs: [() => import('./logs.js'), 'Fetch the logs of a container'],
  exec: [() => import('./exec.js'), 'Execute a command in a running container'],
  attach: [() => import('./exec.js'), "Attach to a running container's output"],
  top: [() => import('./top.js'), 'Display the running processes of a container'],
  stats: [() => import('./stats.js'), 'Display a live stream of container resource usage statistics'],
  port: [() => import('./container-info.js'), 'List port mappings or a specific mapping for the container'],
  inspect: [() => import('./container-info.js'), 'Return low-level information on containers, images, volumes or networks'],
  diff: [() => import('./container-info.js'), "Inspect changes to files or directories on a container's filesystem"],
  cp: [() => import('./cp.js'), 'Copy files/folders between a container and the local filesystem'],
  export: [() => import('./cp.js'), "Export a container's filesystem as a tar archive"],
  commit: [() => import('./images.js'), "Create a new image from a container's changes"],
  images: [() => import('./images.js'), 'List images'],
  rmi: [() => import('./images.js'), 'Remove one or more images'],
  tag: [() => import('./images.js'), 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE'],
  history: [() => import('./images.js'), 'Show the history of an image'],
  save: [() => import('./images.js'), 'Save one or more images to a tar archive'],
  load: [() => import('./images.js'), 'Load an image from a tar archive or STDIN'],
  import: [() => import('./images.js'), 'Import the contents from a tarball to create a filesystem image'],
  pull: [() => import('./pull-push.js'), 'Download an image from a registry'],
  push: [() => import('./pull-push.js'), 'Upload an image to a registry'],
  login: [() => import('./login.js'), 'Log in to a registry'],
  logout: [() => import('./login.js'), 'Log out from a registry'],
  volume: [() => import('./volume.js'), 'Manage volumes'],
  network: [() => import('./network.js'), 'Manage networks'],
  system: [() => import('./system.js'), 'Manage berth'],
  container: [() => import('./prune.js'), 'Manage containers'],
  image: [() => import('./prune.js'), 'Manage images'],
  version: [() => import('./system.js'), 'Show the berth version information'],
  info: [() => import('./system.js'), 'Display system-wide information'],
};

/** Docker's management commands: `container ls` is `ps`, `image rm` is `rmi`, … (their `prune` is a command of its own). */
const MANAGEMENT: Record<string, Record<string, string[]>> = {
  container: {
    ...Object.fromEntries(
      ['run', 'create', 'start', 'stop', 'restart', 'kill', 'pause', 'unpause', 'rm', 'wait', 'rename', 'update', 'logs', 'exec', 'attach', 'top', 'stats', 'port', 'diff', 'cp', 'export', 'commit'].map((c) => [c, [c]]),
    ),
    ls: ['ps'],
    list: ['ps'],
    ps: ['ps'],
    remove: ['rm'],
    inspect: ['inspect', '--type', 'container'],
  },
  image: {
    ...Object.fromEntries(['pull', 'push', 'tag', 'history', 'save', 'load', 'import'].map((c) => [c, [c]])),
    ls: ['images'],
    list: ['images'],
    rm: ['rmi'],
    remove: ['rmi'],
    inspect: ['inspect', '--type', 'image'],
    build: ['build'],
  },
};

declare const __BERTH_VERSION__: string | undefined;
const VERSION = typeof __BERTH_VERSION__ === 'string' ? __BERTH_VERSION__ : '0.1.0';

function topHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const rows = Object.entries(COMMANDS).map(([name, [, summary]]) => `  ${name.padEnd(width)}   ${summary}`);
  return `\nUsage:  berth [OPTIONS] COMMAND\n\nA container engine you import, and its command line.\n\nOptions:\n  -v, --version   Print version information and quit\n      --help      Print usage\n\nCommands:\n${rows.join('\n')}\n  build${' '.repeat(width - 5)}   Build an image from a Dockerfile\n  compose${' '.repeat(width - 7)}   Define and run multi-container applications\n\nState root: $BERTH_ROOT (default /var/lib/berth; as a normal user ~/.local/share/berth, rootless).\nRun 'berth COMMAND --help' for more information on a command.\n`;
}

/** `berth build …`: lib/build/build-command.ts, loaded only for builds. */
async function build(args: string[], ctx: CliContext): Promise<number> {
  const { buildCommand } = await import('../build/build-command.js');
  const code = await buildCommand(args, {
    openRuntime: () => ctx.runtime(),
    out: (text) => void ctx.stdout.write(text),
    err: (text) => void ctx.stderr.write(text),
    isTTY: ctx.isTTY,
    stdin: process.stdin,
  });
  return code === 2 ? 125 : code; // a usage error is berth's failure, as for every command
}

/** `berth compose …`: its own file (dist/compose.js), loaded only for compose. */
async function compose(args: string[], ctx: CliContext): Promise<number> {
  const file = './compose.js'; // resolved at run time, beside dist/cli.js
  const module = (await import(file)) as typeof import('./compose.js');
  return module.composeCommand(args, {
    openRuntime: () => ctx.runtime(),
    out: (text) => void ctx.stdout.write(text),
    err: (text) => void ctx.stderr.write(text),
    isTTY: ctx.isTTY,
  });
}

/** Commands whose own failure is 125 (their command's code is theirs to give); the others fail with 1, as Docker's. */
const ENGINE_FAILURE_125 = new Set(['run', 'create', 'exec']);

/** The command being run, for the exit code of a failure. */
let current = '';

/** Runs one command line; the exit code. */
export async function main(argv: string[], ctx: CliContext = processContext()): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === 'help') {
    ctx.stdout.write(topHelp());
    return first === undefined ? 0 : 0;
  }
  if (first === '--version' || first === '-v') {
    ctx.stdout.write(`berth version ${VERSION}\n`);
    return 0;
  }
  current = first;
  if (first === 'compose') return compose(rest, ctx);
  if (first === 'build') return build(rest, ctx);
  const managed = rest[0] === undefined ? undefined : MANAGEMENT[first]?.[rest[0]];
  if (managed) return main([...managed, ...rest.slice(1)], ctx);
  const entry = COMMANDS[first];
  if (!entry) throw new UsageError(`'${first}' is not a berth command.\nSee 'berth --help'`);
  const { commands } = await entry[0]();
  let name = first;
  let args = rest;
  if (!commands[name]) {
    // a group: `volume ls`
    const sub = rest[0];
    const group: [string, { summary: string }][] = [
      ...Object.entries(MANAGEMENT[first] ?? {}).map(([sub, argv]): [string, { summary: string }] => [`${first} ${sub}`, { summary: `berth ${argv.join(' ')}` }]),
      ...Object.entries(commands).filter(([key]) => key.startsWith(`${first} `)),
    ];
    const aliases: Record<string, string> = { list: 'ls', remove: 'rm' };
    const full = sub && `${first} ${aliases[sub] ?? sub}`;
    if (!full || !commands[full]) {
      const width = Math.max(...group.map(([key]) => key.length));
      const text = `\nUsage:  berth ${first} COMMAND\n\n${entry[1]}\n\nCommands:\n${group.map(([key, c]) => `  ${key.slice(first.length + 1).padEnd(width - first.length)}  ${c.summary}`).join('\n')}\n\nRun 'berth ${first} COMMAND --help' for more information on a command.\n`;
      if (sub === undefined || sub === '--help') {
        ctx.stdout.write(text);
        return 0;
      }
      throw new UsageError(`'${sub}' is not a berth ${first} command.${text}`);
    }
    name = full;
    args = rest.slice(1);
  }
  const command = commands[name]!;
  const parsed = parseCommandLine(name, command, args);
  if (parsed === 'help') {
    ctx.stdout.write(helpText(command));
    return 0;
  }
  return command.run(parsed, ctx);
}

/** The exit code and message for an error, as Docker's CLI gives them. */
export function reportError(error: unknown, ctx: CliContext): number {
  if (error instanceof UsageError) {
    ctx.stderr.write(`berth: ${error.message}\n${error.command ? `See 'berth ${error.command} --help'.\n` : ''}`);
    return 125;
  }
  const e = error as { message?: string; step?: string; code?: string };
  if (e.code === 'EPIPE') return 0; // the reader went away (`berth export c | head`): nothing to say
  const step = e.step && !String(e.message).includes(`'${e.step}'`) ? ` [step ${e.step}]` : '';
  ctx.stderr.write(`berth: ${e.message ?? String(error)}${step}\n`);
  if (e.step === 'exec' && e.code === 'ENOENT') return 127;
  if (e.step === 'exec' && (e.code === 'EACCES' || e.code === 'ENOEXEC')) return 126;
  return ENGINE_FAILURE_125.has(current) || current === '' ? 125 : 1;
}

const ctx = processContext();
main(process.argv.slice(2), ctx).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.exitCode = reportError(error, ctx);
  },
);
