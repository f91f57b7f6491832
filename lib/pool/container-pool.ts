import type { ContainerCreateOptions } from '../../types/container.js';
import { InvalidStateError } from '../errors.js';
import type { Container } from '../container/container.js';
import type { Runtime } from '../runtime.js';

/** Options of `runtime.pool()`: the containers' create options (no `name`), and the pool's own. */
export interface PoolOptions extends Omit<ContainerCreateOptions, 'name'> {
  /** How many started, ready containers to keep warm. */
  size: number;
  /**
   * What `release()` does with a container: `'reset'` (the default) kills its
   * processes, returns its filesystem to the image and starts it again for the
   * next `acquire()`; `'destroy'` removes it (and a new one is made).
   */
  onRelease?: 'reset' | 'destroy';
}

interface Waiter {
  resolve(container: Container): void;
  reject(error: unknown): void;
}

/**
 * A warm pool of started containers of one configuration, from
 * `runtime.pool()`. `acquire()` hands out a ready container at once when one
 * is warm; `release()` resets it in the background and puts it back. Each
 * container is its own: nothing is shared between acquirers. The pool's
 * containers are bound to this process (`removeOnOwnerExit`) unless the
 * options say otherwise.
 *
 * @example
 * ```ts
 * await using pool = runtime.pool({ image: 'localhost/busybox', cmd: ['httpd', '-f', '-p', '80'], init: true, size: 4,
 *   waitFor: Wait.forListeningPorts(80) });
 * const web = await pool.acquire();   // a started, ready container
 * // … the test …
 * void pool.release(web);             // reset and back into the pool
 * ```
 */
export class ContainerPool implements AsyncDisposable {
  private readonly idle: Container[] = [];
  private readonly waiting: Waiter[] = [];
  private readonly members = new Set<Container>();
  private readonly warmWaiters: (() => void)[] = [];
  private readonly discarding = new Set<Promise<void>>();
  private creating = 0;
  private resetting = 0;
  private closed = false;
  private failure: unknown;
  private readonly size: number;
  private readonly onRelease: 'reset' | 'destroy';
  private readonly createOptions: ContainerCreateOptions;

  /** @internal use `runtime.pool()` */
  constructor(
    private readonly runtime: Runtime,
    options: PoolOptions,
  ) {
    if (typeof options !== 'object' || options === null) throw new TypeError('pool: options must be an object');
    const { size, onRelease = 'reset', ...createOptions } = options;
    if (!Number.isInteger(size) || size < 1 || size > 1000) throw new RangeError('pool: size must be an integer from 1 to 1000');
    if (onRelease !== 'reset' && onRelease !== 'destroy') throw new TypeError("pool: onRelease must be 'reset' or 'destroy'");
    if ('name' in createOptions) throw new TypeError('pool: containers of a pool cannot be given a name');
    this.size = size;
    this.onRelease = onRelease;
    this.createOptions = { removeOnOwnerExit: true, ...createOptions };
    this.fill();
  }

  /** How many containers are warm (started, ready, not handed out). */
  get available(): number {
    return this.idle.length;
  }

  /**
   * A started, ready container for the caller alone: at once when one is
   * warm, else the next one ready. Give it back with {@link release} (or
   * remove it).
   * @throws the error that creating or starting the pool's containers failed with
   */
  acquire(): Promise<Container> {
    if (this.closed) return Promise.reject(new InvalidStateError('pool: it is closed'));
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const container = this.idle.pop();
    if (container) {
      this.fill();
      return Promise.resolve(container);
    }
    const wait = new Promise<Container>((resolve, reject) => this.waiting.push({ resolve, reject }));
    this.fill();
    return wait;
  }

  /**
   * Takes a container back: by default its processes are killed and its
   * filesystem returned to the image, and it is started again for the next
   * `acquire()`; with `destroy` (or `onRelease: 'destroy'`) it is removed.
   * Resolves when that is done; a container that cannot be reset is removed.
   */
  async release(container: Container, options: { destroy?: boolean } = {}): Promise<void> {
    if (!this.members.has(container)) throw new TypeError('pool.release: this container is not from this pool');
    if (this.idle.includes(container)) throw new InvalidStateError('pool.release: this container was released already');
    // destroyed on request, and the extras made for a burst of callers (the pool shrinks back to its size)
    if (options.destroy || this.onRelease === 'destroy' || this.closed || this.members.size > this.size) {
      await this.discard(container);
      this.fill();
      return;
    }
    this.resetting++;
    try {
      await container.reset('image');
      this.resetting--;
      this.offer(container);
    } catch {
      this.resetting--;
      await this.discard(container);
    }
    this.fill();
  }

  /** Resolves once `size` containers are warm: for a `before` hook, so the first tests do not wait. */
  warm(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.idle.length >= this.size) return Promise.resolve();
    return new Promise((resolve) => this.warmWaiters.push(resolve));
  }

  /** Removes every container of the pool, handed out or not; `acquire()` fails from now on. */
  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter.reject(new InvalidStateError('pool: it was closed'));
    for (const resolve of this.warmWaiters.splice(0)) resolve();
    this.idle.length = 0;
    await Promise.all([...[...this.members].map((container) => this.discard(container)), ...this.discarding]);
  }

  /** `await using`: closes the pool (its containers are removed). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Makes containers until the pool has `size` of them (warm or handed out),
   * and more while callers wait that no container on its way (being made or
   * reset) will serve; extras go again when released (see offer).
   */
  private fill(): void {
    const short = () =>
      this.members.size + this.creating < this.size || this.creating + this.resetting < this.waiting.length;
    while (!this.closed && this.failure === undefined && short()) {
      this.creating++;
      void this.makeOne();
    }
  }

  private async makeOne(): Promise<void> {
    let container: Container | undefined;
    try {
      container = await this.runtime.containers.create(this.createOptions);
      this.members.add(container);
      this.creating--;
      this.resetting++; // on its way, as a reset one is
      await container.start();
      this.resetting--;
      this.offer(container);
    } catch (error) {
      if (container) this.resetting--;
      else this.creating--;
      if (container) await this.discard(container);
      if (this.closed) return;
      // a configuration that does not start will not start next time either: fail the callers
      this.failure = error;
      for (const waiter of this.waiting.splice(0)) waiter.reject(error);
    }
  }

  private offer(container: Container): void {
    if (this.closed) {
      void this.discard(container);
      return;
    }
    const waiter = this.waiting.shift();
    if (waiter) return waiter.resolve(container);
    this.idle.push(container);
    if (this.idle.length >= this.size) for (const resolve of this.warmWaiters.splice(0)) resolve();
  }

  private discard(container: Container): Promise<void> {
    this.members.delete(container);
    const at = this.idle.indexOf(container);
    if (at >= 0) this.idle.splice(at, 1);
    const removal = container.remove({ force: true, volumes: true }).catch(() => {});
    this.discarding.add(removal);
    return removal.finally(() => this.discarding.delete(removal));
  }
}
