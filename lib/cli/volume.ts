/** `berth volume create|ls|rm|prune|inspect`. */
import { eachName, keyValues, listFlag, stringFlag, type CliCommand } from './command.js';
import { commands as pruneCommands } from './prune.js';

import { writeInspect, writeList } from './list-output.js';

const labelFlag = { type: 'string', multiple: true, description: 'Set metadata for a volume' } as const;

export const commands: Record<string, CliCommand> = {
  'volume create': {
    usage: 'berth volume create [OPTIONS] [VOLUME]',
    summary: 'Create a volume',
    flags: { label: labelFlag, name: { type: 'string', description: 'Specify volume name' } },
    maxArgs: 1,
    async run(parsed, ctx) {
      const name = parsed.args[0] ?? stringFlag(parsed, 'name');
      const labels = keyValues(listFlag(parsed, 'label'), 'label');
      const volume = await (await ctx.runtime()).volumes.create({ ...(name ? { name } : {}), ...(Object.keys(labels).length ? { labels } : {}) });
      ctx.stdout.write(`${volume.name}\n`);
      return 0;
    },
  },
  'volume ls': {
    usage: 'berth volume ls [OPTIONS]',
    summary: 'List volumes',
    flags: {
      quiet: { type: 'boolean', short: 'q', description: 'Only display volume names' },
      filter: { type: 'string', short: 'f', multiple: true, description: 'Provide filter values (dangling=true|false, label=KEY[=VALUE])' },
      format: { type: 'string', description: 'Format output using a custom template' },
    },
    maxArgs: 0,
    async run(parsed, ctx) {
      const labels: string[] = [];
      let dangling: boolean | undefined;
      for (const filter of listFlag(parsed, 'filter')) {
        const [key, value = ''] = filter.split(/=(.*)/s) as [string, string?];
        if (key === 'label') labels.push(value);
        else if (key === 'dangling') dangling = value === 'true' || value === '1';
      }
      const volumes = await (await ctx.runtime()).volumes.list({ ...(labels.length ? { labels } : {}), ...(dangling !== undefined ? { dangling } : {}) });
      if (parsed.flags.quiet) {
        ctx.stdout.write(volumes.map((v) => v.name + '\n').join(''));
        return 0;
      }
      const rows = volumes.map((v) => ({ Driver: 'local', Name: v.name, Labels: Object.entries(v.labels).map(([k, x]) => `${k}=${x}`).join(','), CreatedAt: v.createdAt }));
      writeList(ctx, stringFlag(parsed, 'format'), rows, [['Driver', 'DRIVER'], ['Name', 'VOLUME NAME']], { Name: 'VOLUME NAME' });
      return 0;
    },
  },
  'volume rm': {
    usage: 'berth volume rm [OPTIONS] VOLUME [VOLUME...]',
    summary: 'Remove one or more volumes',
    flags: { force: { type: 'boolean', short: 'f', description: 'Do not fail on a volume that does not exist' } },
    minArgs: 1,
    async run(parsed, ctx) {
      const runtime = await ctx.runtime();
      return eachName(parsed.args, ctx, async (name) => {
        await runtime.volumes.remove(name, { force: parsed.flags.force === true });
      });
    },
  },
  'volume prune': pruneCommands['volume prune']!,
  'volume inspect': {
    usage: 'berth volume inspect [OPTIONS] VOLUME [VOLUME...]',
    summary: 'Display detailed information on one or more volumes',
    flags: { format: { type: 'string', short: 'f', description: 'Format output using a custom template' } },
    minArgs: 1,
    async run(parsed, ctx) {
      const runtime = await ctx.runtime();
      const infos = await Promise.all(parsed.args.map(async (name) => (await runtime.volumes.get(name)).inspect()));
      writeInspect(ctx, stringFlag(parsed, 'format'), infos);
      return 0;
    },
  },
};
