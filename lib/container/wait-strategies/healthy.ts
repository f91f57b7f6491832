import { BerthError } from '../../errors.js';
import type { Container } from '../container.js';
import type { WaitStrategy } from './wait-strategy.js';

/**
 * Waits until the container's healthcheck (the image's `HEALTHCHECK` or the
 * `healthcheck` option) reports `healthy`; rejects when it reports
 * `unhealthy` (code `ERR_UNHEALTHY`, with the last check's output).
 */
export class HealthyWait implements WaitStrategy {
  readonly description = 'the healthcheck to pass';

  async waitUntilReady(container: Container, signal: AbortSignal): Promise<void> {
    for await (const health of container.healthChanges({ signal })) {
      if (health.status === 'healthy') return;
      if (health.status === 'unhealthy') {
        const last = health.log.at(-1);
        throw new BerthError(
          `container ${container.name} is unhealthy after ${health.failingStreak} failed checks; the last exited ${last?.exitCode ?? '?'}: ${last?.output.trim() || '(no output)'}`,
          { code: 'ERR_UNHEALTHY', containerId: container.id },
        );
      }
    }
    signal.throwIfAborted();
    throw new Error('the container stopped before its healthcheck passed');
  }
}
