import { setTimeout as sleep } from 'node:timers/promises';
import type { Container } from '../container.js';

/**
 * Something to wait for before a container counts as ready: a listening
 * port, a log line, an HTTP answer, a command that succeeds, … Made by the
 * {@link Wait} factory; implement it to wait for anything else.
 *
 * The wait ends when `waitUntilReady` resolves; it is abandoned (and `signal`
 * aborted) when the startup timeout passes, the caller aborts, or the
 * container exits — an implementation stops its work when `signal` aborts.
 */
export interface WaitStrategy {
  /** What is awaited, for error messages: `port 6379/tcp listening`. */
  readonly description: string;
  /**
   * True when the container's exit is what is awaited ({@link Wait.forExit}):
   * then an exit does not fail the wait.
   */
  readonly acceptsExit?: boolean;
  /** Resolves once the container is ready; rejects with `signal.reason` once `signal` aborts. */
  waitUntilReady(container: Container, signal: AbortSignal): Promise<void>;
}

/**
 * Calls `check` until it returns true, `intervalMs` apart; rejects with the
 * signal's reason once it aborts.
 */
export async function pollUntil(check: () => boolean | Promise<boolean>, intervalMs: number, signal: AbortSignal): Promise<void> {
  for (;;) {
    signal.throwIfAborted();
    if (await check()) return;
    await sleep(intervalMs, undefined, { signal });
  }
}

/** A positive number of milliseconds, or the default. */
export function checkInterval(value: unknown, what: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`${what} must be a number of milliseconds`);
  if (value < 1) throw new RangeError(`${what} must be at least 1 ms`);
  return value;
}
