import { close, closeSync, fsync, fsyncSync, open, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { PRIVATE_FILE_MODE } from './private-state.js';

/**
 * Replaces `path` atomically: write a temporary file, fsync it (unless
 * `durable` is false: state that only describes live processes need not
 * survive a power loss), rename it over. The file is private (0600).
 */
export function writeFileAtomic(path: string, content: string, durable = true): void {
  const temp = `${path}.${process.pid}.tmp`;
  const fd = openSync(temp, 'w', PRIVATE_FILE_MODE);
  try {
    writeSync(fd, content);
    if (durable) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}

/**
 * Flushes `path` to disk in the background (open, fsync, close on the thread
 * pool), not awaited: for a record whose loss in the moment after it was
 * written is acceptable (docs/architecture.md, "which writes are fsynced").
 * A file removed meanwhile, or an error, is ignored.
 */
export function syncSoon(path: string): void {
  open(path, 'r', (error, fd) => {
    if (error) return;
    fsync(fd, () => close(fd, () => {}));
  });
}

/** JSON form of `writeFileAtomic`. */
export function writeJsonAtomic(path: string, value: unknown, durable = true): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n', durable);
}

/**
 * Reads a JSON state file; `undefined` when it does not exist, or is empty or
 * cut short (what a power loss can leave of a file that was not fsynced).
 */
export function readJsonIfExists<T>(path: string): T | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
