/** start, stop, restart, kill, pause, unpause, rm, wait: each on one or more containers, as Docker does them. */
import { constants } from 'node:os';
import type { Container, SignalName } from '../index.js';
import { eachName, intFlag, numberFlag, stringFlag, UsageError, type CliCommand, type FlagSpec, type ParsedArgs } from './command.js';
import type { CliContext } from './context.js';
import { CREATE_FLAGS } from './run-options.js';

/**
 * Runs `action` on each named container in turn; prints what `action`
 * returns (the name as given, by default). A failure is reported and the
 * next one still runs; the exit code is then 1, as Docker's.
 */
export async function eachContainer(
  parsed: ParsedArgs,
  ctx: CliContext,
  action: (container: Container, name: string) => Promise<string | void>,
): Promise<number> {
  const runtime = await ctx.runtime();
  return eachName(parsed.args, ctx, async (name) => action(await runtime.containers.get(name), name));
}

/** `SIGTERM`, `TERM`, `15` → `SIGTERM`. */
export function signalName(text: string): SignalName {
  const numbers = constants.signals as Record<string, number>;
  if (/^\d+$/.test(text)) {
    const found = Object.keys(numbers).find((name) => numbers[name] === Number(text));
    if (found) return found as SignalName;
  }
  const upper = text.toUpperCase();
  return (upper.startsWith('SIG') ? upper : `SIG${upper}`) as SignalName;
}

const TIME: FlagSpec = { type: 'string', short: 't', description: 'Seconds to wait before killing the container' };
const many = (usage: string, summary: string, flags: Record<string, FlagSpec>, action: (c: Container, parsed: ParsedArgs) => Promise<string | void>): CliCommand => ({
  usage,
  summary,
  flags,
  minArgs: 1,
  run: (parsed, ctx) => eachContainer(parsed, ctx, (container) => action(container, parsed)),
});

function stopOptions(parsed: ParsedArgs) {
  const timeout = intFlag(parsed, 'time', 0);
  const signal = stringFlag(parsed, 'signal');
  return { ...(timeout !== undefined ? { timeout } : {}), ...(signal ? { signal: signalName(signal) } : {}) };
}

export const commands: Record<string, CliCommand> = {
  start: {
    usage: 'berth start [OPTIONS] CONTAINER [CONTAINER...]',
    summary: 'Start one or more stopped containers',
    flags: { attach: { type: 'boolean', short: 'a', description: "Attach STDOUT/STDERR (from the container's log) until it exits; its exit code" } },
    minArgs: 1,
    async run(parsed, ctx) {
      if (!parsed.flags.attach) return eachContainer(parsed, ctx, (c) => c.start().then(() => undefined));
      if (parsed.args.length > 1) throw new UsageError('you cannot start and attach multiple containers at once', 'start');
      const container = await (await ctx.runtime()).containers.get(parsed.args[0]!);
      const since = new Date(Date.now() - 1); // what this start writes, not an earlier run's output
      await container.start();
      for await (const entry of container.logs({ follow: true, since })) (entry.stream === 'stderr' ? ctx.stderr : ctx.stdout).write(`${entry.line}\n`);
      return (await container.wait()).exitCode;
    },
  },
  stop: many(
    'berth stop [OPTIONS] CONTAINER [CONTAINER...]',
    'Stop one or more running containers',
    { time: TIME, signal: { type: 'string', short: 's', description: 'Signal to send to the container' } },
    async (c, parsed) => {
      await c.stop(stopOptions(parsed));
    },
  ),
  restart: many('berth restart [OPTIONS] CONTAINER [CONTAINER...]', 'Restart one or more containers', { time: TIME }, async (c, parsed) => {
    await c.stop(stopOptions(parsed));
    await c.start();
  }),
  kill: many(
    'berth kill [OPTIONS] CONTAINER [CONTAINER...]',
    'Kill one or more running containers',
    { signal: { type: 'string', short: 's', description: 'Signal to send to the container (default "KILL")' } },
    async (c, parsed) => {
      await c.kill(signalName(stringFlag(parsed, 'signal') ?? 'KILL'));
    },
  ),
  pause: many('berth pause CONTAINER [CONTAINER...]', 'Pause all processes within one or more containers', {}, (c) => c.pause()),
  unpause: many('berth unpause CONTAINER [CONTAINER...]', 'Unpause all processes within one or more containers', {}, (c) => c.unpause()),
  rm: many(
    'berth rm [OPTIONS] CONTAINER [CONTAINER...]',
    'Remove one or more containers',
    {
      force: { type: 'boolean', short: 'f', description: 'Force the removal of a running container (uses SIGKILL)' },
      volumes: { type: 'boolean', short: 'v', description: 'Remove anonymous volumes associated with the container' },
    },
    async (c, parsed) => {
      await c.remove({ force: parsed.flags.force === true, volumes: parsed.flags.volumes === true });
    },
  ),
  update: {
    usage: 'berth update [OPTIONS] CONTAINER [CONTAINER...]',
    summary: 'Update the resource limits of one or more containers',
    flags: {
      ...Object.fromEntries(['memory', 'memory-swap', 'cpus', 'cpu-shares', 'pids-limit'].map((name) => [name, CREATE_FLAGS[name]!])),
      'memory-reservation': { type: 'string', description: 'Memory soft limit' },
      'blkio-weight': { type: 'string', description: 'Block IO (relative weight), between 10 and 1000' },
    },
    minArgs: 1,
    run(parsed, ctx) {
      const f = (name: string) => stringFlag(parsed, name);
      const limits = Object.fromEntries(
        Object.entries({
          memory: f('memory'),
          memorySwap: f('memory-swap'),
          memoryReservation: f('memory-reservation'),
          cpus: numberFlag(parsed, 'cpus'),
          cpuShares: intFlag(parsed, 'cpu-shares', 2),
          pidsLimit: intFlag(parsed, 'pids-limit', -1),
          blkioWeight: intFlag(parsed, 'blkio-weight', 10),
        }).filter(([, value]) => value !== undefined),
      );
      if (Object.keys(limits).length === 0) throw new UsageError('give at least one limit to update', 'update');
      return eachContainer(parsed, ctx, (c) => c.update(limits));
    },
  },
  rename: {
    usage: 'berth rename CONTAINER NEW_NAME',
    summary: 'Rename a container',
    flags: {},
    minArgs: 2,
    maxArgs: 2,
    async run(parsed, ctx) {
      const [name, newName] = parsed.args as [string, string];
      const runtime = await ctx.runtime();
      await (await runtime.containers.get(name)).rename(newName);
      return 0;
    },
  },
  wait: {
    usage: 'berth wait CONTAINER [CONTAINER...]',
    summary: 'Block until one or more containers stop, then print their exit codes',
    flags: {},
    minArgs: 1,
    run: (parsed, ctx) => eachContainer(parsed, ctx, async (c) => String((await c.wait()).exitCode)),
  },
};
