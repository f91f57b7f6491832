/** Several containers' logs as one stream of lines, each with its service. */
import type { LogsOptions } from '../../types/container.js';
import type { StackLogLine } from '../../types/stack.js';
import type { Container } from '../container/container.js';

/**
 * Without `follow`: every container's lines, sorted by time. With it: lines
 * as each container writes them (each container's in order), until all
 * have ended.
 */
export async function* mergedLogs(
  sources: () => Promise<{ service: string; container: Container }[]>,
  options: LogsOptions,
): AsyncGenerator<StackLogLine> {
  const list = await sources();
  if (!options.follow) {
    const all: StackLogLine[] = [];
    for (const { service, container } of list) for await (const entry of container.logs(options)) all.push({ service, ...entry });
    yield* all.sort((a, b) => a.time.getTime() - b.time.getTime());
    return;
  }
  const queue: StackLogLine[] = [];
  let wake: () => void = () => {};
  let running = list.length;
  let failure: unknown;
  for (const { service, container } of list) {
    void (async () => {
      try {
        for await (const entry of container.logs(options)) {
          queue.push({ service, ...entry });
          wake();
        }
      } catch (error) {
        failure ??= error;
      } finally {
        running--;
        wake();
      }
    })();
  }
  while (running > 0 || queue.length > 0) {
    if (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    if (failure) throw failure;
    while (queue.length > 0) yield queue.shift()!;
  }
}
