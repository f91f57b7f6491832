/**
 * Per-layer progress of a pull or push from the SDK's `onProgress`, as
 * Docker prints it: on a terminal, one line per layer redrawn in place
 * (`a1b2c3d4e5f6: Downloading [=====>     ]  1.2MB/2.3MB`); in a pipe, a
 * plain line each time a layer changes state (never a line per chunk).
 */
import type { ImageProgress } from '../index.js';
import type { CliContext } from './context.js';
import { humanSize } from './human.js';

/** What each state is called: a pull and a push name them differently. */
export type ProgressWords = Record<ImageProgress['status'], string>;

export const PULL_WORDS: ProgressWords = {
  waiting: 'Waiting',
  exists: 'Already exists',
  downloading: 'Downloading',
  uploading: 'Uploading',
  mounted: 'Mounted',
  done: 'Pull complete',
};

export const PUSH_WORDS: ProgressWords = {
  waiting: 'Waiting',
  exists: 'Layer already exists',
  downloading: 'Downloading',
  uploading: 'Pushing',
  mounted: 'Mounted from another repository',
  done: 'Pushed',
};

const BAR = 50;

function bar(current: number, total: number): string {
  const filled = total > 0 ? Math.min(BAR, Math.floor((current / total) * BAR)) : 0;
  const arrow = filled < BAR ? '>' : '';
  return `[${'='.repeat(filled)}${arrow}${' '.repeat(Math.max(0, BAR - filled - arrow.length))}] ${humanSize(current).padStart(7)}/${humanSize(total)}`;
}

export class LayerProgress {
  private readonly lines = new Map<string, string>();
  private readonly states = new Map<string, string>();
  private drawn = 0;
  private drawnAt = 0;
  private timer: NodeJS.Timeout | undefined;
  /** A layer moved bytes (not only `exists`): the pull got something new. */
  moved = false;

  constructor(
    private readonly ctx: CliContext,
    private readonly words: ProgressWords,
  ) {}

  /** The SDK's onProgress. */
  readonly update = (event: ImageProgress): void => {
    const id = event.digest.replace(/^sha256:/, '').slice(0, 12);
    const word = this.words[event.status];
    if (event.status === 'downloading' || event.status === 'uploading') this.moved = true;
    const moving = (event.status === 'downloading' || event.status === 'uploading') && event.current < event.total;
    this.lines.set(id, `${id}: ${word}${moving && this.ctx.isTTY ? ` ${bar(event.current, event.total)}` : ''}`);
    if (this.ctx.isTTY) {
      // at most ten frames a second: now when the last one is old enough, else when it will be
      const since = Date.now() - this.drawnAt;
      if (since >= 100) this.draw();
      else this.timer ??= setTimeout(() => this.draw(), 100 - since);
    } else if (this.states.get(id) !== word) {
      this.states.set(id, word);
      this.ctx.stdout.write(`${id}: ${word}\n`);
    }
  };

  /** Draws the last state of every layer (on a terminal). */
  finish(): void {
    if (this.ctx.isTTY) this.draw();
  }

  private draw(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    let text = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    for (const line of this.lines.values()) text += `\x1b[2K${line}\n`;
    this.drawn = this.lines.size;
    this.drawnAt = Date.now();
    this.ctx.stdout.write(text);
  }
}
