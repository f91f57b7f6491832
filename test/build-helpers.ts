/** Build contexts made in a test, builds that record their progress, and running what they built. */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { BuildOptions, BuildProgressEvent, Image, Runtime } from '../lib/index.js';
import { Container } from '../lib/index.js';
import { withDeadline } from './helpers.js';

export type ContextFile = string | Buffer | { content: string | Buffer; mode: number } | { symlink: string } | { dir: true };

/** A context directory with `files` (paths relative to it); removed on dispose. */
export function makeContext(files: Record<string, ContextFile>): { dir: string; write(path: string, file: ContextFile): void } & Disposable {
  const dir = mkdtempSync(join(tmpdir(), 'berth-build-ctx-'));
  const write = (path: string, file: ContextFile) => {
    const at = join(dir, path);
    mkdirSync(dirname(at), { recursive: true });
    if (typeof file === 'string' || Buffer.isBuffer(file)) writeFileSync(at, file);
    else if ('symlink' in file) symlinkSync(file.symlink, at);
    else if ('dir' in file) mkdirSync(at, { recursive: true });
    else {
      writeFileSync(at, file.content);
      chmodSync(at, file.mode);
    }
  };
  for (const [path, file] of Object.entries(files)) write(path, file);
  return { dir, write, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

/** What a build reported. */
export interface BuildRecord {
  image: Image;
  events: BuildProgressEvent[];
  /** Instructions of the steps that ran (RUN/COPY/ADD), and of those that came from the cache. */
  ran: string[];
  cached: string[];
  output: string[];
}

/** Builds with a deadline, recording progress. */
export async function build(runtime: Runtime, options: BuildOptions): Promise<BuildRecord> {
  const events: BuildProgressEvent[] = [];
  const image = await withDeadline(runtime.images.build({ ...options, onProgress: (event) => events.push(event) }), 'the build', 120_000);
  const isStep = (event: BuildProgressEvent, type: string) => event.type === type && 'instruction' in event && !event.instruction.startsWith('FROM');
  return {
    image,
    events,
    ran: events.filter((e) => isStep(e, 'step-start')).map((e) => (e as { instruction: string }).instruction),
    cached: events.filter((e) => isStep(e, 'step-cached')).map((e) => (e as { instruction: string }).instruction),
    output: events.flatMap((e) => (e.type === 'output' ? [e.line] : [])),
  };
}

/** Runs `cmd` (or the image's own command) in a container of `image`; its exit code and output. */
export async function run(runtime: Runtime, image: string, cmd?: string[], options: { user?: string; entrypoint?: string[] } = {}): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return withDeadline(Container.run(image, cmd ?? [], { runtime, ...options }), `a container of ${image}`);
}
