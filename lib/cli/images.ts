/** Images: `images`, `rmi`, `tag`, `history`, `save`, `load`, `import`, `commit`. */
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Image, ImageInspect } from '../index.js';
import { eachName, listFlag, stringFlag, UsageError, type CliCommand } from './command.js';
import { ago, humanSize } from './human.js';
import { truncate } from './table.js';

import { writeList } from './list-output.js';

const shortId = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

/** `docker.io/library/alpine:3` → `alpine:3`: Docker's familiar form of a reference. */
const familiar = (reference: string) => reference.replace(/^docker\.io\/(library\/)?/, '');

/** `docker.io/library/alpine:3` → ['alpine', '3']. */
function splitReference(reference: string): [string, string] {
  const name = familiar(reference);
  const at = name.lastIndexOf(':');
  return at > name.lastIndexOf('/') ? [name.slice(0, at), name.slice(at + 1)] : [name, '<none>'];
}

function imageRows(images: readonly Image[], noTrunc: boolean) {
  return images.flatMap((image) => {
    const info: ImageInspect = image.inspect();
    const base = {
      ID: noTrunc ? info.id : shortId(info.id),
      CreatedSince: info.created ? ago(info.created) : 'N/A',
      CreatedAt: info.created ?? '',
      Size: humanSize(info.size),
      Digest: info.digest,
    };
    const references = info.references.length ? info.references : ['<none>:<none>'];
    return references.map((reference) => {
      const [Repository, Tag] = reference === '<none>:<none>' ? ['<none>', '<none>'] : splitReference(reference);
      return { Repository, Tag, ...base };
    });
  });
}

const changeFlag = { type: 'string', short: 'c', multiple: true, description: 'Apply Dockerfile instruction to the created image' } as const;
const messageFlag = { type: 'string', short: 'm', description: 'Set commit message for imported image' } as const;

export const commands: Record<string, CliCommand> = {
  images: {
    usage: 'berth images [OPTIONS] [REPOSITORY[:TAG]]',
    summary: 'List images',
    flags: {
      all: { type: 'boolean', short: 'a', description: 'Show all images' },
      quiet: { type: 'boolean', short: 'q', description: 'Only show image IDs' },
      digests: { type: 'boolean', description: 'Show digests' },
      filter: { type: 'string', short: 'f', multiple: true, description: 'Filter output (dangling=true|false, reference=PATTERN)' },
      format: { type: 'string', description: 'Format output using a custom template' },
      'no-trunc': { type: 'boolean', description: "Don't truncate output" },
    },
    maxArgs: 1,
    async run(parsed, ctx) {
      const runtime = await ctx.runtime();
      // newest first, as Docker lists them
      let rows = imageRows(runtime.images.list(), parsed.flags['no-trunc'] === true).sort((a, b) => b.CreatedAt.localeCompare(a.CreatedAt));
      const filters = listFlag(parsed, 'filter');
      if (parsed.args[0]) filters.push(`reference=${parsed.args[0]}`);
      for (const filter of filters) {
        const [key, value = ''] = filter.split(/=(.*)/s) as [string, string?];
        if (key === 'dangling') rows = rows.filter((r) => (r.Repository === '<none>') === (value === 'true'));
        else if (key === 'reference') {
          const pattern = new RegExp(`^${value.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
          rows = rows.filter((r) => pattern.test(`${r.Repository}:${r.Tag}`) || pattern.test(r.Repository));
        } else throw new UsageError(`invalid filter '${key}': berth images filters by dangling and reference`, 'images');
      }
      if (parsed.flags.quiet) {
        ctx.stdout.write([...new Set(rows.map((r) => r.ID))].map((id) => id + '\n').join(''));
        return 0;
      }
      const digests = parsed.flags.digests === true;
      const columns = [['Repository', 'REPOSITORY'], ['Tag', 'TAG'], ...(digests ? [['Digest', 'DIGEST'] as const] : []), ['ID', 'IMAGE ID'], ['CreatedSince', 'CREATED'], ['Size', 'SIZE']] as const;
      writeList(ctx, stringFlag(parsed, 'format'), rows, columns, { ID: 'IMAGE ID', CreatedSince: 'CREATED' });
      return 0;
    },
  },
  rmi: {
    usage: 'berth rmi [OPTIONS] IMAGE [IMAGE...]',
    summary: 'Remove one or more images',
    flags: { force: { type: 'boolean', short: 'f', description: 'Force removal of the image' } },
    minArgs: 1,
    async run(parsed, ctx) {
      const runtime = await ctx.runtime();
      return eachName(parsed.args, ctx, async (name) => {
        const image = await runtime.images.get(name);
        const { id } = image;
        const references = [...image.references];
        await runtime.images.remove(name, { force: parsed.flags.force === true });
        const still = runtime.images.recordOf(id);
        for (const reference of references) if (!still?.references.includes(reference)) ctx.stdout.write(`Untagged: ${familiar(reference)}\n`);
        if (!still) ctx.stdout.write(`Deleted: ${id}\n`);
        return '';
      });
    },
  },
  tag: {
    usage: 'berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
    summary: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
    flags: {},
    minArgs: 2,
    maxArgs: 2,
    async run(parsed, ctx) {
      await (await (await ctx.runtime()).images.get(parsed.args[0]!)).tag(parsed.args[1]!);
      return 0;
    },
  },
  history: {
    usage: 'berth history [OPTIONS] IMAGE',
    summary: 'Show the history of an image',
    flags: {
      quiet: { type: 'boolean', short: 'q', description: 'Only show image IDs' },
      'no-trunc': { type: 'boolean', description: "Don't truncate output" },
      format: { type: 'string', description: 'Format output using a custom template' },
    },
    minArgs: 1,
    maxArgs: 1,
    async run(parsed, ctx) {
      const info = (await (await ctx.runtime()).images.get(parsed.args[0]!)).inspect();
      const noTrunc = parsed.flags['no-trunc'] === true;
      let layer = 0;
      const rows = info.history.map((step, index) => {
        const size = step.empty_layer ? 0 : (info.layers[layer++]?.unpackedSize ?? 0);
        return {
          ID: index === info.history.length - 1 ? (noTrunc ? info.id : shortId(info.id)) : '<missing>',
          CreatedSince: step.created ? ago(step.created) : 'N/A',
          CreatedAt: step.created ?? '',
          CreatedBy: noTrunc ? (step.created_by ?? '') : truncate(step.created_by ?? '', 45),
          Size: humanSize(size),
          Comment: step.comment ?? '',
        };
      }).reverse();
      if (parsed.flags.quiet) ctx.stdout.write(rows.map((r) => r.ID + '\n').join(''));
      else {
        const columns = [['ID', 'IMAGE'], ['CreatedSince', 'CREATED'], ['CreatedBy', 'CREATED BY'], ['Size', 'SIZE'], ['Comment', 'COMMENT']] as const;
        writeList(ctx, stringFlag(parsed, 'format'), rows, columns, { ID: 'IMAGE', CreatedSince: 'CREATED' });
      }
      return 0;
    },
  },
  save: {
    usage: 'berth save [OPTIONS] IMAGE [IMAGE...]',
    summary: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
    flags: { output: { type: 'string', short: 'o', description: 'Write to a file, instead of STDOUT' } },
    minArgs: 1,
    async run(parsed, ctx) {
      const runtime = await ctx.runtime();
      const images = await Promise.all(parsed.args.map((name) => runtime.images.get(name)));
      const output = stringFlag(parsed, 'output');
      if (!output && ctx.isTTY) throw new UsageError('cowardly refusing to save to a terminal. Use the -o flag or redirect', 'save');
      const tar = runtime.images.save(images);
      await (output ? pipeline(tar, createWriteStream(output)) : pipeline(tar, process.stdout, { end: false }));
      return 0;
    },
  },
  load: {
    usage: 'berth load [OPTIONS]',
    summary: 'Load an image from a tar archive or STDIN',
    flags: {
      input: { type: 'string', short: 'i', description: 'Read from tar archive file, instead of STDIN' },
      quiet: { type: 'boolean', short: 'q', description: 'Suppress the load output' },
    },
    maxArgs: 0,
    async run(parsed, ctx) {
      const input = stringFlag(parsed, 'input');
      const images = await (await ctx.runtime()).images.load(input ? createReadStream(input) : process.stdin);
      for (const image of images) {
        const names = image.references.length ? image.references.map((r) => `Loaded image: ${familiar(r)}`) : [`Loaded image ID: ${image.id}`];
        if (!parsed.flags.quiet) ctx.stdout.write(names.join('\n') + '\n');
      }
      return 0;
    },
  },
  import: {
    usage: 'berth import [OPTIONS] file|- [REPOSITORY[:TAG]]',
    summary: 'Import the contents from a tarball to create a filesystem image',
    flags: { change: changeFlag, message: messageFlag, platform: { type: 'string', description: 'Set platform if server is multi-platform capable' } },
    minArgs: 1,
    maxArgs: 2,
    async run(parsed, ctx) {
      const [file, ref] = parsed.args as [string, string?];
      const message = stringFlag(parsed, 'message');
      const platform = stringFlag(parsed, 'platform');
      const image = await (await ctx.runtime()).images.import(file === '-' ? process.stdin : createReadStream(file), {
        changes: listFlag(parsed, 'change'),
        ...(ref ? { ref } : {}),
        ...(message ? { message } : {}),
        ...(platform ? { platform } : {}),
      });
      ctx.stdout.write(`${image.id}\n`);
      return 0;
    },
  },
  commit: {
    usage: 'berth commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]',
    summary: "Create a new image from a container's changes",
    flags: {
      author: { type: 'string', short: 'a', description: 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")' },
      change: changeFlag,
      message: { type: 'string', short: 'm', description: 'Commit message' },
      pause: { type: 'string', short: 'p', description: 'Pause container during commit (default true)' },
    },
    minArgs: 1,
    maxArgs: 2,
    async run(parsed, ctx) {
      const [name, ref] = parsed.args as [string, string?];
      const container = await (await ctx.runtime()).containers.get(name);
      const author = stringFlag(parsed, 'author');
      const message = stringFlag(parsed, 'message');
      const image = await container.commit({
        changes: listFlag(parsed, 'change'),
        pause: stringFlag(parsed, 'pause') !== 'false',
        ...(ref ? { ref } : {}),
        ...(author ? { author } : {}),
        ...(message ? { message } : {}),
      });
      ctx.stdout.write(`${image.id}\n`);
      return 0;
    },
  },
};
