import { ContainerExitedError } from '../../errors.js';
import type { Container } from '../container.js';
import type { WaitStrategy } from './wait-strategy.js';
import { lastLogLines } from './last-log-lines.js';

/**
 * Waits for a one-shot container (a migration, a seed job) to exit with
 * `exitCode` (default 0); another exit code rejects with a
 * `ContainerExitedError` carrying the last log lines.
 */
export class ExitCodeWait implements WaitStrategy {
  readonly description: string;
  readonly acceptsExit = true;

  constructor(private readonly exitCode = 0) {
    if (!Number.isInteger(exitCode) || exitCode < 0 || exitCode > 255) throw new RangeError('Wait.forExit: exitCode must be an integer from 0 to 255');
    this.description = `an exit with code ${exitCode}`;
  }

  async waitUntilReady(container: Container, signal: AbortSignal): Promise<void> {
    const status = await container.wait({ signal });
    if (status.exitCode === this.exitCode) return;
    const logs = await lastLogLines(container);
    throw new ContainerExitedError(
      `container ${container.name} exited with code ${status.exitCode}, not ${this.exitCode}${formatLogs(logs)}`,
      { ...status, logs },
      { containerId: container.id },
    );
  }
}

/** The last log lines, indented, for an error message. */
export function formatLogs(lines: string[]): string {
  return lines.length === 0 ? ' (it wrote nothing)' : `; its last output:\n  ${lines.join('\n  ')}`;
}
