import type { Container } from '../container.js';
import { checkInterval, pollUntil, type WaitStrategy } from './wait-strategy.js';

/** Options of {@link Wait.forSuccessfulCommand}. */
export interface CommandWaitOptions {
  /** Milliseconds between runs. Default 20. */
  interval?: number;
}

/** Waits until a command run inside the container (as `exec`) exits 0. */
export class SuccessfulCommandWait implements WaitStrategy {
  readonly description: string;
  private readonly interval: number;

  constructor(private readonly cmd: string[], options: CommandWaitOptions = {}) {
    if (!Array.isArray(cmd) || cmd.length === 0 || !cmd.every((arg) => typeof arg === 'string')) {
      throw new TypeError('Wait.forSuccessfulCommand: expected a non-empty array of strings');
    }
    this.interval = checkInterval(options.interval, 'Wait.forSuccessfulCommand: interval', 20);
    this.description = `the command ${JSON.stringify(cmd)} to succeed`;
  }

  async waitUntilReady(container: Container, signal: AbortSignal): Promise<void> {
    await pollUntil(async () => {
      // only the exit code counts: the output is read and dropped, never kept (a command may write without end)
      const command = await container.execStream(this.cmd);
      command.stdout.resume();
      command.stderr?.resume();
      return (await command.wait()).exitCode === 0;
    }, this.interval, signal);
  }
}
