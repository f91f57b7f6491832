import { closeSync, openSync } from 'node:fs';
import { nativeAddon } from '../native/addon.js';

/**
 * Runs `fn` while holding flock(2) on `path` (created when missing). The lock
 * is released when `fn` settles, and by the kernel if this process dies.
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T> | T, exclusive = true): Promise<T> {
  const fd = openSync(path, 'a', 0o600);
  try {
    const addon = nativeAddon();
    if (!addon.tryLock(fd, exclusive)) await addon.lock(fd, exclusive);
    return await fn();
  } finally {
    closeSync(fd); // closing the last descriptor releases the lock
  }
}
