import type { Container } from '../container.js';
import type { WaitStrategy } from './wait-strategy.js';

/** Options of {@link Wait.forLogMessage}. */
export interface LogMessageOptions {
  /** How many matching lines to wait for. Default 1. */
  times?: number;
  /** Only lines of this stream. Default: both. */
  stream?: 'stdout' | 'stderr';
}

/**
 * Waits until the container's log has `times` lines matching `pattern` (a
 * substring, or a regular expression tested against each line), counting
 * from the container's first line. Follows the log file as the monitor
 * writes it (woken by inotify), so it resolves as soon as the line is there.
 */
export class LogMessageWait implements WaitStrategy {
  readonly description: string;
  private readonly test: (line: string) => boolean;
  private readonly times: number;
  private readonly stream: 'stdout' | 'stderr' | undefined;

  constructor(pattern: string | RegExp, options: LogMessageOptions = {}) {
    if (typeof pattern === 'string') {
      if (pattern === '') throw new TypeError('Wait.forLogMessage: the text must not be empty');
      this.test = (line) => line.includes(pattern);
    } else if (pattern instanceof RegExp) {
      const regex = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')); // no lastIndex state
      this.test = (line) => regex.test(line);
    } else {
      throw new TypeError('Wait.forLogMessage: expected a string or a RegExp');
    }
    this.times = options.times ?? 1;
    if (!Number.isInteger(this.times) || this.times < 1) throw new RangeError('Wait.forLogMessage: times must be an integer ≥ 1');
    if (options.stream !== undefined && options.stream !== 'stdout' && options.stream !== 'stderr') {
      throw new TypeError("Wait.forLogMessage: stream must be 'stdout' or 'stderr'");
    }
    this.stream = options.stream;
    this.description = `${this.times > 1 ? `${this.times} log lines` : 'a log line'} matching ${String(pattern)}${this.stream ? ` on ${this.stream}` : ''}`;
  }

  async waitUntilReady(container: Container, signal: AbortSignal): Promise<void> {
    let seen = 0;
    const lines = container.logs({ follow: true, signal, stdout: this.stream !== 'stderr', stderr: this.stream !== 'stdout' });
    for await (const { line } of lines) {
      if (this.test(line) && ++seen >= this.times) return;
    }
    signal.throwIfAborted();
    throw new Error(`the log ended after ${seen} of ${this.times} matching lines`);
  }
}
