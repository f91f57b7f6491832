import { AllOfWait, AnyOfWait } from './composite.js';
import { ExitCodeWait } from './exit-code.js';
import { HealthyWait } from './healthy.js';
import { HttpWait, type HttpWaitOptions } from './http-response.js';
import { ListeningPortWait, type ListeningPortOptions } from './listening-port.js';
import { LogMessageWait, type LogMessageOptions } from './log-message.js';
import { SuccessfulCommandWait, type CommandWaitOptions } from './successful-command.js';
import type { WaitStrategy } from './wait-strategy.js';

/**
 * Wait strategies for `start({ waitFor })`, the `waitFor` create option and
 * `container.waitFor()`.
 *
 * @example
 * ```ts
 * await container.start({ waitFor: Wait.forListeningPorts(6379), timeout: 10_000 });
 * await container.start({ waitFor: Wait.allOf(Wait.forLogMessage(/ready to accept/), Wait.forHttp('/health', 8080)) });
 * ```
 */
export const Wait = {
  /**
   * A listening socket on each port inside the container's network
   * namespace (read from the kernel's socket table, not through the
   * published port); no ports: every published port.
   */
  forListeningPorts(...ports: (number | string)[]): WaitStrategy {
    return new ListeningPortWait(ports);
  },
  /** As {@link Wait.forListeningPorts}, with options. */
  forListeningPortsWith(ports: (number | string)[], options: ListeningPortOptions): WaitStrategy {
    return new ListeningPortWait(ports, options);
  },
  /** `times` lines of output matching `pattern` (text or RegExp), on both streams or one. */
  forLogMessage(pattern: string | RegExp, options?: LogMessageOptions): WaitStrategy {
    return new LogMessageWait(pattern, options);
  },
  /** An HTTP answer on `path` of container port `port` (status 200 by default). */
  forHttp(path: string, port: number | string, options?: HttpWaitOptions): WaitStrategy {
    return new HttpWait(path, port, options);
  },
  /** A command run inside the container (as `exec`) that exits 0. */
  forSuccessfulCommand(cmd: string[], options?: CommandWaitOptions): WaitStrategy {
    return new SuccessfulCommandWait(cmd, options);
  },
  /** The healthcheck (the image's `HEALTHCHECK` or the `healthcheck` option) reporting healthy; unhealthy rejects. */
  forHealthy(): WaitStrategy {
    return new HealthyWait();
  },
  /** The container's exit with `exitCode` (default 0): for one-shot containers. */
  forExit(exitCode?: number): WaitStrategy {
    return new ExitCodeWait(exitCode);
  },
  /** Every strategy, at the same time. */
  allOf(...strategies: WaitStrategy[]): WaitStrategy {
    return new AllOfWait(strategies);
  },
  /** The first strategy to be satisfied. */
  anyOf(...strategies: WaitStrategy[]): WaitStrategy {
    return new AnyOfWait(strategies);
  },
};
