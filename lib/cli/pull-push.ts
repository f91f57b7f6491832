/** `berth pull` and `berth push`, with Docker's per-layer progress. */
import type { Image, Runtime } from '../index.js';
import { UsageError, type CliCommand } from './command.js';
import type { CliContext } from './context.js';
import { LayerProgress, PULL_WORDS, PUSH_WORDS } from './progress.js';

/** Pulls with progress on stdout, as `docker pull` and `docker run` (image missing) show it. */
export async function pullWithProgress(runtime: Runtime, reference: string, ctx: CliContext, platform?: string): Promise<Image> {
  const { parseReference } = await import('../image/reference.js');
  const ref = parseReference(reference);
  if (!/[:@]/.test(reference.slice(reference.lastIndexOf('/') + 1))) ctx.stdout.write('Using default tag: latest\n');
  ctx.stdout.write(`${ref.tag ?? ref.digest}: Pulling from ${ref.path}\n`);
  const progress = new LayerProgress(ctx, PULL_WORDS);
  const image = await runtime.images.pull(reference, { onProgress: progress.update, ...(platform ? { platform } : {}) });
  progress.finish();
  ctx.stdout.write(`Digest: ${image.inspect().digest}\n`);
  ctx.stdout.write(`Status: ${progress.moved ? 'Downloaded newer image for' : 'Image is up to date for'} ${reference}\n`);
  return image;
}

export const commands: Record<string, CliCommand> = {
  pull: {
    usage: 'berth pull [OPTIONS] NAME[:TAG|@DIGEST]',
    summary: 'Download an image from a registry',
    flags: {
      platform: { type: 'string', description: 'Set platform if server is multi-platform capable' },
      quiet: { type: 'boolean', short: 'q', description: 'Suppress verbose output' },
    },
    minArgs: 1,
    maxArgs: 1,
    async run(parsed, ctx) {
      const runtime = await ctx.runtime();
      const platform = parsed.flags.platform as string | undefined;
      const reference = parsed.args[0]!;
      if (parsed.flags.quiet) {
        await runtime.images.pull(reference, platform ? { platform } : {});
      } else {
        await pullWithProgress(runtime, reference, ctx, platform);
      }
      const { parseReference } = await import('../image/reference.js');
      ctx.stdout.write(`${parseReference(reference).canonical}\n`);
      return 0;
    },
  },
  push: {
    usage: 'berth push [OPTIONS] NAME[:TAG]',
    summary: 'Upload an image to a registry',
    flags: { quiet: { type: 'boolean', short: 'q', description: 'Suppress verbose output' } },
    minArgs: 1,
    maxArgs: 1,
    async run(parsed, ctx) {
      const runtime = await ctx.runtime();
      const reference = parsed.args[0]!;
      if (reference.includes('@')) throw new UsageError('push: give a tag, not a digest', 'push');
      const image = await runtime.images.get(reference);
      const { parseReference } = await import('../image/reference.js');
      const ref = parseReference(reference);
      if (!parsed.flags.quiet) ctx.stdout.write(`The push refers to repository [${ref.domain}/${ref.path}]\n`);
      const progress = parsed.flags.quiet ? undefined : new LayerProgress(ctx, PUSH_WORDS);
      const result = await image.push(reference, progress ? { onProgress: progress.update } : {});
      progress?.finish();
      ctx.stdout.write(`${ref.tag}: digest: ${result.digest} size: ${result.size}\n`);
      return 0;
    },
  },
};
