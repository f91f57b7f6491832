import { ContainerExitedError, WaitTimeoutError } from '../../errors.js';
import type { Container } from '../container.js';
import { formatLogs } from './exit-code.js';
import { lastLogLines } from './last-log-lines.js';
import type { WaitStrategy } from './wait-strategy.js';
import { processStartTime } from '../container-state.js';

/** The default startup timeout: 60 s. */
export const DEFAULT_STARTUP_TIMEOUT = 60_000;

/** Options of a readiness wait. */
export interface WaitForOptions {
  /** Milliseconds before giving up with a `WaitTimeoutError`. Default: the `startupTimeout` create option, else 60 000. */
  timeout?: number;
  /** Gives up when it aborts (rejecting with its reason). */
  signal?: AbortSignal;
}

/** Checks a wait strategy given as an option. */
export function checkWaitStrategy(value: unknown, what: string): WaitStrategy | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || typeof (value as WaitStrategy).waitUntilReady !== 'function') {
    throw new TypeError(`${what} must be a wait strategy (from Wait.*)`);
  }
  return value as WaitStrategy;
}

/** Checks a timeout in milliseconds. */
export function checkTimeout(value: unknown, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || Number.isNaN(value)) throw new TypeError(`${what} must be a number of milliseconds`);
  if (value <= 0) throw new RangeError(`${what} must be positive`);
  return value;
}

/**
 * Waits until `strategy` is satisfied. Rejects at once with a
 * `ContainerExitedError` (exit status, OOM, last log lines) when the
 * container exits meanwhile, with a `WaitTimeoutError` after `timeout`, with
 * the signal's reason when `signal` aborts. Resolves with the milliseconds
 * it waited.
 */
export async function waitForReady(container: Container, strategy: WaitStrategy, timeout: number, signal?: AbortSignal): Promise<number> {
  const began = performance.now();
  const controller = new AbortController();
  const timeoutError = new WaitTimeoutError(
    `container ${container.name} was not ready after ${timeout} ms: waited for ${strategy.description}`,
    { containerId: container.id },
  );
  const timer = setTimeout(() => controller.abort(timeoutError), timeout);
  const forward = () => controller.abort(signal!.reason);
  signal?.addEventListener('abort', forward, { once: true });
  if (signal?.aborted) forward();
  const exited = strategy.acceptsExit ? undefined : container.wait({ signal: controller.signal });
  const aborted = new Promise<never>((_resolve, reject) => {
    const fail = () => reject(controller.signal.reason);
    if (controller.signal.aborted) fail();
    else controller.signal.addEventListener('abort', fail, { once: true });
  });
  aborted.catch(() => {});
  const exitFailure = async (): Promise<never> => {
    const status = await exited!;
    const logs = await lastLogLines(container);
    const how = status.oomKilled ? 'was OOM-killed' : `exited with code ${status.exitCode}`;
    throw new ContainerExitedError(
      `container ${container.name} ${how} while waiting for ${strategy.description}${formatLogs(logs)}`,
      { ...status, logs },
      { containerId: container.id },
    );
  };
  try {
    const ready = strategy.waitUntilReady(container, controller.signal);
    ready.catch(() => {});
    await Promise.race([ready, aborted, ...(exited ? [exitFailure()] : [])]);
    return performance.now() - began;
  } catch (error) {
    if (controller.signal.aborted || error instanceof ContainerExitedError || !exited) throw error;
    // a strategy that failed because the container went away (exec refused, the log ended): say so,
    // also when its process is gone but the monitor has not recorded the exit yet
    const state = (await container.inspect().catch(() => undefined))?.state;
    // awaited here: the `finally` below must not abort the exit's wait first
    if (!state || state.status === 'exited' || (state.pid !== null && processStartTime(state.pid) === undefined)) return await exitFailure();
    throw error;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', forward);
    if (!controller.signal.aborted) controller.abort(new Error('the wait is over'));
  }
}
