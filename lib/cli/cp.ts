/** `berth cp` (either way, or a tar on stdin/stdout with `-`) and `berth export`. */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { stringFlag, UsageError, type CliCommand } from './command.js';
import type { CliContext } from './context.js';

/** `name:/path` → ['name', '/path']; a host path (no colon before the first slash) → undefined. */
function containerPath(arg: string): [string, string] | undefined {
  const colon = arg.indexOf(':');
  if (colon <= 0 || (arg.indexOf('/') >= 0 && arg.indexOf('/') < colon)) return undefined;
  return [arg.slice(0, colon), arg.slice(colon + 1)];
}

/** Writes a tar to `-o FILE`, or to stdout unless it is a terminal (as Docker refuses to). */
async function tarOut(tar: Readable, output: string | undefined, ctx: CliContext, command: string): Promise<void> {
  if (output) return pipeline(tar, createWriteStream(output));
  if (ctx.isTTY) {
    tar.destroy();
    throw new UsageError('cowardly refusing to save to a terminal. Use the -o flag or redirect', command);
  }
  return pipeline(tar, process.stdout, { end: false });
}

export const commands: Record<string, CliCommand> = {
  cp: {
    usage: 'berth cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n        berth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH',
    summary: 'Copy files/folders between a container and the local filesystem',
    flags: { archive: { type: 'boolean', short: 'a', description: 'Archive mode (copy all uid/gid information)' } },
    minArgs: 2,
    maxArgs: 2,
    async run(parsed, ctx) {
      const [from, to] = parsed.args as [string, string];
      const source = containerPath(from);
      const dest = containerPath(to);
      if (!source === !dest) throw new UsageError('copying between containers, or between two host paths, is not supported: one side must be CONTAINER:PATH', 'cp');
      const runtime = await ctx.runtime();
      if (source) {
        const tar = await (await runtime.containers.get(source[0])).copyFrom(source[1]);
        if (to === '-') return tarOut(tar, undefined, ctx, 'cp').then(() => 0);
        const { tarToHost } = await import('./tar-to-host.js');
        await tarToHost(tar, to, /\/\.$/.test(source[1]));
        return 0;
      }
      const container = await runtime.containers.get(dest![0]);
      // as `docker cp`, files keep their owners with -a; otherwise they belong to the container's root
      await container.copyTo(from === '-' ? process.stdin : from, dest![1], parsed.flags.archive ? {} : { uid: 0, gid: 0 });
      return 0;
    },
  },
  export: {
    usage: 'berth export [OPTIONS] CONTAINER',
    summary: "Export a container's filesystem as a tar archive",
    flags: { output: { type: 'string', short: 'o', description: 'Write to a file, instead of STDOUT' } },
    minArgs: 1,
    maxArgs: 1,
    async run(parsed, ctx) {
      const container = await (await ctx.runtime()).containers.get(parsed.args[0]!);
      await tarOut(await container.export(), stringFlag(parsed, 'output'), ctx, 'export');
      return 0;
    },
  },
};
