import { closeSync, constants, openSync } from 'node:fs';
import { nativeAddon } from '../native/addon.js';

/**
 * Runs `fn` while holding flock(2) on `path` (created when missing). The lock
 * is released when `fn` settles, and by the kernel if this process dies.
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T> | T, exclusive = true): Promise<T> {
  return withLockOn(openSync(path, 'a', 0o600), fn, exclusive);
}

/**
 * Runs `fn` while holding flock(2) on the directory `dir` itself (which must
 * exist): a lock that costs no file of its own. Released as {@link withFileLock}'s.
 */
export async function withDirectoryLock<T>(dir: string, fn: () => Promise<T> | T, exclusive = true): Promise<T> {
  return withLockOn(openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY), fn, exclusive);
}

async function withLockOn<T>(fd: number, fn: () => Promise<T> | T, exclusive: boolean): Promise<T> {
  try {
    const addon = nativeAddon();
    if (!addon.tryLock(fd, exclusive)) await addon.lock(fd, exclusive);
    return await fn();
  } finally {
    closeSync(fd); // closing the last descriptor releases the lock
  }
}
