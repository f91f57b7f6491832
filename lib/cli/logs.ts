/** `berth logs`: a container's output from its log, from any process, following until it exits with `-f`. */
import { once } from 'node:events';
import type { LogsOptions } from '../index.js';
import { stringFlag, UsageError, type CliCommand } from './command.js';
import type { CliWriter } from './context.js';

/** Writes, waiting for a full pipe to drain (a large log never piles up in memory). */
async function write(writer: CliWriter, text: string): Promise<void> {
  if (writer.write(text) === false && 'once' in writer) await once(writer as NodeJS.WritableStream, 'drain');
}

export const commands: Record<string, CliCommand> = {
  logs: {
    usage: 'berth logs [OPTIONS] CONTAINER',
    summary: 'Fetch the logs of a container',
    flags: {
      follow: { type: 'boolean', short: 'f', description: 'Follow log output (until the container exits)' },
      since: { type: 'string', description: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
      until: { type: 'string', description: 'Show logs before a timestamp or relative time' },
      tail: { type: 'string', short: 'n', description: 'Number of lines to show from the end of the logs (default "all")' },
      timestamps: { type: 'boolean', short: 't', description: 'Show timestamps' },
    },
    minArgs: 1,
    maxArgs: 1,
    async run(parsed, ctx) {
      const container = await (await ctx.runtime()).containers.get(parsed.args[0]!);
      const tail = stringFlag(parsed, 'tail');
      if (tail !== undefined && tail !== 'all' && !/^\d+$/.test(tail)) throw new UsageError(`invalid argument "${tail}" for "--tail" flag: a number or "all"`, 'logs');
      const since = stringFlag(parsed, 'since');
      const until = stringFlag(parsed, 'until');
      const options: LogsOptions = {
        follow: parsed.flags.follow === true,
        ...(tail !== undefined ? { tail: tail === 'all' ? 'all' : Number(tail) } : {}),
        ...(since !== undefined ? { since: /^\d+(\.\d+)?$/.test(since) ? Number(since) : since } : {}),
        ...(until !== undefined ? { until: /^\d+(\.\d+)?$/.test(until) ? Number(until) : until } : {}),
      };
      const stamps = parsed.flags.timestamps === true;
      for await (const entry of container.logs(options)) {
        const line = `${stamps ? `${entry.time.toISOString()} ` : ''}${entry.line}\n`;
        await write(entry.stream === 'stderr' ? ctx.stderr : ctx.stdout, line);
      }
      return 0;
    },
  },
};
