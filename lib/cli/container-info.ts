/** `berth port`, `berth inspect`, `berth diff`. */
import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { Runtime } from '../index.js';
import { NotFoundError } from '../errors.js';
import { eachName, stringFlag, UsageError, type CliCommand } from './command.js';
import { safeText } from './table.js';
import { Template } from './template.js';

type Kind = 'container' | 'image' | 'volume' | 'network';

/** The inspect document of `name`: a container, else an image, a volume, a network (or only the `--type` given). */
async function inspectAny(runtime: Runtime, name: string, type: Kind | undefined): Promise<unknown> {
  const tries: [Kind, () => Promise<unknown>][] = [
    ['container', async () => (await runtime.containers.get(name)).inspect()],
    ['image', async () => (await runtime.images.get(name)).inspect()],
    ['volume', async () => (await runtime.volumes.get(name)).inspect()],
    ['network', async () => (await runtime.networks.get(name)).inspect()],
  ];
  for (const [kind, get] of tries) {
    if (type && kind !== type) continue;
    try {
      return await get();
    } catch (error) {
      if (!(error instanceof NotFoundError) && (error as { code?: string }).code !== 'ERR_NOT_FOUND' && !(error instanceof TypeError)) throw error;
    }
  }
  throw new NotFoundError(`No such object: ${name}`);
}

/** Whether `parts` names something in the layer directory, looked up one component at a time without following a symlink. */
function inLayer(layer: string, parts: readonly string[]): boolean {
  let path = layer;
  for (let i = 0; i < parts.length; i++) {
    path = join(path, parts[i]!);
    const stats = lstatSync(path, { throwIfNoEntry: false });
    if (!stats) return false;
    if (i < parts.length - 1 && !stats.isDirectory()) return false;
  }
  return true;
}

/** Files berth writes for the container (as Docker mounts them): not the container's changes. */
const MANAGED = new Set(['/etc/hosts', '/etc/hostname', '/etc/resolv.conf']);

/**
 * Docker's `diff`: what the container's upper directory holds. A whiteout (a
 * character device 0/0) is `D`; a name the image's layers also have is `C`;
 * anything else `A`. Nothing in the upper directory is followed: entries are
 * read with lstat, and only real directories are descended into.
 */
function changes(upper: string, layers: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (parts: string[]) => {
    const dir = join(upper, ...parts);
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return; // gone meanwhile
    }
    for (const name of names) {
      const child = [...parts, name];
      const stats: Stats | undefined = lstatSync(join(dir, name), { throwIfNoEntry: false });
      if (!stats) continue;
      const path = '/' + child.join('/');
      if (MANAGED.has(path)) continue;
      if (stats.isCharacterDevice() && stats.rdev === 0) out.push(`D ${path}`);
      else out.push(`${layers.some((layer) => inLayer(layer, child)) ? 'C' : 'A'} ${path}`);
      if (stats.isDirectory() && !stats.isSymbolicLink()) walk(child);
    }
  };
  walk([]);
  return out;
}

export const commands: Record<string, CliCommand> = {
  port: {
    usage: 'berth port CONTAINER [PRIVATE_PORT[/PROTO]]',
    summary: 'List port mappings or a specific mapping for the container',
    flags: {},
    minArgs: 1,
    maxArgs: 2,
    async run(parsed, ctx) {
      const info = await (await (await ctx.runtime()).containers.get(parsed.args[0]!)).inspect();
      const wanted = parsed.args[1];
      const [port, proto] = wanted ? (wanted.split('/') as [string, string?]) : [];
      const matches = info.ports.filter((p) => !wanted || (String(p.containerPort) === port && (!proto || p.proto === proto)));
      if (wanted && matches.length === 0) {
        ctx.stderr.write(`berth: no public port '${wanted}' published for ${parsed.args[0]}\n`);
        return 1;
      }
      for (const p of matches) ctx.stdout.write(wanted ? `${p.hostIp}:${p.hostPort}\n` : `${p.containerPort}/${p.proto} -> ${p.hostIp}:${p.hostPort}\n`);
      return 0;
    },
  },
  inspect: {
    usage: 'berth inspect [OPTIONS] NAME|ID [NAME|ID...]',
    summary: 'Return low-level information on containers, images, volumes or networks',
    flags: {
      format: { type: 'string', short: 'f', description: 'Format output using a custom template' },
      type: { type: 'string', description: 'Only this type: container, image, volume or network' },
    },
    minArgs: 1,
    async run(parsed, ctx) {
      const runtime = await ctx.runtime();
      const type = stringFlag(parsed, 'type') as Kind | undefined;
      if (type && !['container', 'image', 'volume', 'network'].includes(type)) throw new UsageError(`"${type}" is not a valid value for --type`, 'inspect');
      const format = stringFlag(parsed, 'format');
      const template = format ? new Template(format, ctx.isTTY) : undefined;
      const found: unknown[] = [];
      const code = await eachName(parsed.args, ctx, async (name) => {
        found.push(await inspectAny(runtime, name, type));
        return '';
      });
      if (template) ctx.stdout.write(found.map((item) => template.render(item) + '\n').join(''));
      else ctx.stdout.write(JSON.stringify(found, null, 4) + '\n');
      return code;
    },
  },
  diff: {
    usage: 'berth diff CONTAINER',
    summary: "Inspect changes to files or directories on a container's filesystem",
    flags: {},
    minArgs: 1,
    maxArgs: 1,
    async run(parsed, ctx) {
      const runtime = await ctx.runtime();
      const info = await (await runtime.containers.get(parsed.args[0]!)).inspect();
      const image = await runtime.images.get(info.image).catch(() => undefined);
      const layers = image ? image.inspect().layers.map((l) => l.path) : [];
      ctx.stdout.write(changes(join(info.path, 'upper'), layers).map((line) => safeText(line) + '\n').join(''));
      return 0;
    },
  },
};
