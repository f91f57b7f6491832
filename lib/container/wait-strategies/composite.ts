import type { Container } from '../container.js';
import type { WaitStrategy } from './wait-strategy.js';

function checkStrategies(strategies: WaitStrategy[], what: string): void {
  if (strategies.length === 0) throw new TypeError(`${what}: give at least one strategy`);
  for (const s of strategies) {
    if (typeof s !== 'object' || s === null || typeof s.waitUntilReady !== 'function') throw new TypeError(`${what}: expected wait strategies (from Wait.*)`);
  }
}

/** Runs every strategy with a signal of their own, aborted when the group is done. */
async function runAll<T>(strategies: WaitStrategy[], container: Container, signal: AbortSignal, combine: (all: Promise<void>[]) => Promise<T>): Promise<void> {
  const group = new AbortController();
  const forward = () => group.abort(signal.reason);
  signal.addEventListener('abort', forward, { once: true });
  try {
    await combine(strategies.map((s) => s.waitUntilReady(container, group.signal)));
  } finally {
    signal.removeEventListener('abort', forward);
    group.abort(new Error('the wait is over'));
  }
}

/** Ready when every strategy is (they run at the same time). */
export class AllOfWait implements WaitStrategy {
  readonly description: string;
  readonly acceptsExit: boolean;
  constructor(private readonly strategies: WaitStrategy[]) {
    checkStrategies(strategies, 'Wait.allOf');
    this.description = strategies.map((s) => s.description).join(' and ');
    this.acceptsExit = strategies.some((s) => s.acceptsExit);
  }
  waitUntilReady(container: Container, signal: AbortSignal): Promise<void> {
    return runAll(this.strategies, container, signal, (all) => Promise.all(all));
  }
}

/** Ready when the first strategy is; fails only when all fail. */
export class AnyOfWait implements WaitStrategy {
  readonly description: string;
  readonly acceptsExit: boolean;
  constructor(private readonly strategies: WaitStrategy[]) {
    checkStrategies(strategies, 'Wait.anyOf');
    this.description = strategies.map((s) => s.description).join(' or ');
    this.acceptsExit = strategies.some((s) => s.acceptsExit);
  }
  waitUntilReady(container: Container, signal: AbortSignal): Promise<void> {
    return runAll(this.strategies, container, signal, async (all) => {
      try {
        await Promise.any(all);
      } catch (error) {
        throw (error as AggregateError).errors?.[0] ?? error;
      }
    });
  }
}
