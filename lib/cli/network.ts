/** `berth network create|ls|rm|inspect|connect|disconnect|prune`. */
import { eachName, keyValues, listFlag, stringFlag, type CliCommand } from './command.js';
import { commands as pruneCommands } from './prune.js';

import { writeInspect, writeList } from './list-output.js';

export const commands: Record<string, CliCommand> = {
  'network create': {
    usage: 'berth network create [OPTIONS] NETWORK',
    summary: 'Create a network',
    flags: {
      subnet: { type: 'string', description: 'Subnet in CIDR format that represents a network segment' },
      gateway: { type: 'string', description: 'IPv4 Gateway for the master subnet' },
      internal: { type: 'boolean', description: 'Restrict external access to the network' },
      label: { type: 'string', multiple: true, description: 'Set metadata on a network' },
      driver: { type: 'string', short: 'd', description: 'Driver to manage the Network (only "bridge")' },
    },
    minArgs: 1,
    maxArgs: 1,
    async run(parsed, ctx) {
      const driver = stringFlag(parsed, 'driver');
      if (driver && driver !== 'bridge') throw new TypeError(`network driver '${driver}': berth has bridge networks only`);
      const subnet = stringFlag(parsed, 'subnet');
      const gateway = stringFlag(parsed, 'gateway');
      const labels = keyValues(listFlag(parsed, 'label'), 'label');
      const network = await (await ctx.runtime()).networks.create({
        name: parsed.args[0]!,
        ...(subnet ? { subnet } : {}),
        ...(gateway ? { gateway } : {}),
        ...(parsed.flags.internal ? { internal: true } : {}),
        ...(Object.keys(labels).length ? { labels } : {}),
      });
      ctx.stdout.write(`${network.id}\n`);
      return 0;
    },
  },
  'network ls': {
    usage: 'berth network ls [OPTIONS]',
    summary: 'List networks',
    flags: {
      quiet: { type: 'boolean', short: 'q', description: 'Only display network IDs' },
      format: { type: 'string', description: 'Format output using a custom template' },
      'no-trunc': { type: 'boolean', description: 'Do not truncate the output' },
    },
    maxArgs: 0,
    async run(parsed, ctx) {
      const networks = await (await ctx.runtime()).networks.list();
      const noTrunc = parsed.flags['no-trunc'] === true;
      const rows = networks.map((n) => ({ ID: noTrunc ? n.id : n.id.slice(0, 12), Name: n.name, Driver: 'bridge', Scope: 'local', Subnet: n.subnet, Internal: n.internal }));
      if (parsed.flags.quiet) ctx.stdout.write(rows.map((r) => r.ID + '\n').join(''));
      else writeList(ctx, stringFlag(parsed, 'format'), rows, [['ID', 'NETWORK ID'], ['Name', 'NAME'], ['Driver', 'DRIVER'], ['Scope', 'SCOPE']], { ID: 'NETWORK ID' });
      return 0;
    },
  },
  'network rm': {
    usage: 'berth network rm NETWORK [NETWORK...]',
    summary: 'Remove one or more networks',
    flags: {},
    minArgs: 1,
    async run(parsed, ctx) {
      const runtime = await ctx.runtime();
      return eachName(parsed.args, ctx, async (name) => {
        await runtime.networks.remove(name);
      });
    },
  },
  'network inspect': {
    usage: 'berth network inspect [OPTIONS] NETWORK [NETWORK...]',
    summary: 'Display detailed information on one or more networks',
    flags: { format: { type: 'string', short: 'f', description: 'Format output using a custom template' } },
    minArgs: 1,
    async run(parsed, ctx) {
      const runtime = await ctx.runtime();
      const infos = await Promise.all(parsed.args.map(async (name) => (await runtime.networks.get(name)).inspect()));
      writeInspect(ctx, stringFlag(parsed, 'format'), infos);
      return 0;
    },
  },
  'network connect': {
    usage: 'berth network connect [OPTIONS] NETWORK CONTAINER',
    summary: 'Connect a container to a network',
    flags: {
      alias: { type: 'string', multiple: true, description: 'Add network-scoped alias for the container' },
      ip: { type: 'string', description: 'IPv4 address (e.g., "172.30.100.104")' },
    },
    minArgs: 2,
    maxArgs: 2,
    async run(parsed, ctx) {
      const aliases = listFlag(parsed, 'alias');
      const ip = stringFlag(parsed, 'ip');
      await (await ctx.runtime()).networks.connect(parsed.args[0]!, parsed.args[1]!, { ...(aliases.length ? { aliases } : {}), ...(ip ? { ip } : {}) });
      return 0;
    },
  },
  'network disconnect': {
    usage: 'berth network disconnect NETWORK CONTAINER',
    summary: 'Disconnect a container from a network',
    flags: {},
    minArgs: 2,
    maxArgs: 2,
    async run(parsed, ctx) {
      await (await ctx.runtime()).networks.disconnect(parsed.args[0]!, parsed.args[1]!);
      return 0;
    },
  },
  'network prune': pruneCommands['network prune']!,
};
