import type { Container } from '../container.js';

/** How many lines of output an exit error carries. */
export const EXIT_LOG_LINES = 20;

/** The container's last lines of output (empty when its log is gone, e.g. autoRemove). */
export async function lastLogLines(container: Container, count = EXIT_LOG_LINES): Promise<string[]> {
  const lines: string[] = [];
  try {
    for await (const { line } of container.logs({ tail: count })) lines.push(line);
  } catch {
    // removed meanwhile
  }
  return lines;
}
