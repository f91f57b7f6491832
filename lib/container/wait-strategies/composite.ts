import type { Container } from '../container.js';
import type { WaitStrategy } from './wait-strategy.js';

function checkStrategies(strategies: WaitStrategy[], what: string): void {
  if (strategies.length === 0) throw new TypeError(`${what}: give at least one strategy`);
  for (const s of strategies) {
    if (typeof s !== 'object' || s === null || typeof s.waitUntilReady !== 'function') throw new TypeError(`${what}: expected wait strategies (from Wait.*)`);
  }
}

/** Runs every strategy with a signal of their own, aborted when the group is done. */
async function runAll(strategies: WaitStrategy[], container: Container, signal: AbortSignal, combine: (all: Promise<void>[]) => Promise<unknown>): Promise<void> {
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

/** Several strategies run at the same time; `combine` says when the group is done. */
class CompositeWait implements WaitStrategy {
  readonly description: string;
  readonly acceptsExit: boolean;
  constructor(
    private readonly strategies: WaitStrategy[],
    what: string,
    joiner: string,
    private readonly combine: (all: Promise<void>[]) => Promise<unknown>,
  ) {
    checkStrategies(strategies, what);
    this.description = strategies.map((s) => s.description).join(joiner);
    this.acceptsExit = strategies.some((s) => s.acceptsExit);
  }
  waitUntilReady(container: Container, signal: AbortSignal): Promise<void> {
    return runAll(this.strategies, container, signal, this.combine);
  }
}

/** Ready when every strategy is (they run at the same time). */
export class AllOfWait extends CompositeWait {
  constructor(strategies: WaitStrategy[]) {
    super(strategies, 'Wait.allOf', ' and ', (all) => Promise.all(all));
  }
}

/** Ready when the first strategy is; fails only when all fail (with the first failure). */
export class AnyOfWait extends CompositeWait {
  constructor(strategies: WaitStrategy[]) {
    super(strategies, 'Wait.anyOf', ' or ', async (all) => {
      try {
        await Promise.any(all);
      } catch (error) {
        throw (error as AggregateError).errors?.[0] ?? error;
      }
    });
  }
}
