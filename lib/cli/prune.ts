/**
 * The prune commands: `container prune`, `image prune`, `network prune` and
 * `system prune` (all of them, volumes with `--volumes`), each asking first
 * unless `-f`, and printing what went and the space reclaimed, as Docker's.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Runtime } from '../index.js';
import { listFlag, type CliCommand, type FlagSpec, type ParsedArgs } from './command.js';
import type { CliContext } from './context.js';
import { humanSize } from './human.js';

/** Bytes of the files under `dir`, walked with lstat (nothing followed). */
export function dirSize(dir: string): number {
  let total = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const stats = lstatSync(join(dir, name), { throwIfNoEntry: false });
    if (!stats) continue;
    total += stats.isDirectory() ? dirSize(join(dir, name)) : stats.size;
  }
  return total;
}

/** Docker's prompt; true for `y`/`yes`. */
async function confirm(ctx: CliContext, warning: string): Promise<boolean> {
  ctx.stdout.write(`${warning}\nAre you sure you want to continue? [y/N] `);
  const lines = createInterface({ input: process.stdin });
  const answer = await lines[Symbol.asyncIterator]().next();
  lines.close();
  return /^y(es)?$/i.test(String(answer.value ?? '').trim());
}

/** `Deleted Containers:` and the names, when there are any. */
function listed(ctx: CliContext, title: string, names: readonly string[]): void {
  if (names.length) ctx.stdout.write(`Deleted ${title}:\n${names.join('\n')}\n\n`);
}

/** Removes stopped and created containers (their anonymous volumes stay, as Docker's); bytes of their writable layers. */
async function pruneContainers(runtime: Runtime, ctx: CliContext): Promise<number> {
  const removed: string[] = [];
  let bytes = 0;
  for (const container of await runtime.containers.list({ status: ['exited', 'created'] })) {
    const size = dirSize(join((await container.inspect()).path, 'upper'));
    await container.remove();
    removed.push(container.id);
    bytes += size;
  }
  listed(ctx, 'Containers', removed);
  return bytes;
}

/** Removes networks without containers (never the default one). */
async function pruneNetworks(runtime: Runtime, ctx: CliContext): Promise<void> {
  const { DEFAULT_NETWORK } = await import('../network/network-collection.js');
  const removed: string[] = [];
  for (const network of await runtime.networks.list()) {
    if (network.name === DEFAULT_NETWORK || (await network.containers()).length > 0) continue;
    await network.remove();
    removed.push(network.name);
  }
  listed(ctx, 'Networks', removed);
}

async function pruneImages(runtime: Runtime, ctx: CliContext, all: boolean): Promise<number> {
  const result = await runtime.images.prune({ dangling: !all });
  listed(ctx, 'Images', result.images.map((id) => `deleted: ${id}`));
  return result.reclaimedBytes;
}

/** Removes unused volumes (anonymous ones; named ones too with `all`). */
async function pruneVolumes(runtime: Runtime, ctx: CliContext, options: { all?: boolean; labels?: string[] } = {}): Promise<number> {
  const result = await runtime.volumes.prune({ all: options.all === true, ...(options.labels?.length ? { labels: options.labels } : {}) });
  listed(ctx, 'Volumes', result.volumes);
  return result.reclaimedBytes;
}

const force: FlagSpec = { type: 'boolean', short: 'f', description: 'Do not prompt for confirmation' };

/** A prune command: the warning, then the work; prints the space reclaimed when `work` counts it. */
function prune(usage: string, summary: string, flags: Record<string, FlagSpec>, warning: (all: boolean, volumes: boolean) => string, work: (runtime: Runtime, ctx: CliContext, all: boolean, volumes: boolean, parsed: ParsedArgs) => Promise<number | undefined>): CliCommand {
  return {
    usage,
    summary,
    flags: { ...flags, force },
    maxArgs: 0,
    async run(parsed, ctx) {
      const all = parsed.flags.all === true;
      const volumes = parsed.flags.volumes === true;
      if (!parsed.flags.force && !(await confirm(ctx, warning(all, volumes)))) return 0;
      const bytes = await work(await ctx.runtime(), ctx, all, volumes, parsed);
      if (bytes !== undefined) ctx.stdout.write(`Total reclaimed space: ${humanSize(bytes)}\n`);
      return 0;
    },
  };
}

const allImages = { all: { type: 'boolean', short: 'a', description: 'Remove all unused images, not just dangling ones' } } as const;

export const commands: Record<string, CliCommand> = {
  'container prune': prune('berth container prune [OPTIONS]', 'Remove all stopped containers', {}, () => 'WARNING! This will remove all stopped containers.', (runtime, ctx) => pruneContainers(runtime, ctx)),
  'image prune': prune(
    'berth image prune [OPTIONS]',
    'Remove unused images',
    allImages,
    (all) => (all ? 'WARNING! This will remove all images without at least one container associated to them.' : 'WARNING! This will remove all dangling images.'),
    (runtime, ctx, all) => pruneImages(runtime, ctx, all),
  ),
  'volume prune': prune(
    'berth volume prune [OPTIONS]',
    'Remove unused local volumes (anonymous ones; all unused ones with -a)',
    {
      all: { type: 'boolean', short: 'a', description: 'Remove all unused volumes, not just anonymous ones' },
      filter: { type: 'string', multiple: true, description: 'Provide filter values (label=KEY[=VALUE])' },
    },
    (all) => `WARNING! This will remove ${all ? 'all' : 'anonymous'} local volumes not used by at least one container.`,
    (runtime, ctx, all, _volumes, parsed) => {
      const labels = listFlag(parsed, 'filter').filter((f) => f.startsWith('label=')).map((f) => f.slice('label='.length));
      return pruneVolumes(runtime, ctx, { all, labels });
    },
  ),
  'network prune': prune('berth network prune [OPTIONS]', 'Remove all unused networks', {}, () => 'WARNING! This will remove all custom networks not used by at least one container.', async (runtime, ctx) => {
    await pruneNetworks(runtime, ctx);
    return undefined;
  }),
  'system prune': prune(
    'berth system prune [OPTIONS]',
    'Remove unused data: stopped containers, unused networks, dangling images (and anonymous volumes with --volumes)',
    { ...allImages, volumes: { type: 'boolean', description: 'Prune anonymous volumes' } },
    (all, volumes) =>
      `WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n${volumes ? '  - all anonymous volumes not used by at least one container\n' : ''}  - ${all ? 'all images without at least one container associated to them' : 'all dangling images'}`,
    async (runtime, ctx, all, volumes) => {
      let bytes = await pruneContainers(runtime, ctx);
      await pruneNetworks(runtime, ctx);
      if (volumes) bytes += await pruneVolumes(runtime, ctx);
      return bytes + (await pruneImages(runtime, ctx, all));
    },
  ),
};
