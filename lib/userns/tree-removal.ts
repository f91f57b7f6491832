/**
 * Removing a directory tree that may hold files of a rootless user's
 * subordinate ids (a layer, a container's upper directory, a volume's data):
 * the caller removes what it can; what it may not (EACCES, EPERM: a directory
 * owned by container uid 1000, say), berth-exec removes from a user namespace
 * with the rootless maps. As root, or without such files, it is `rm -rf`.
 */
import { rm, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { removeTreeInUserns, type UsernsContext } from './userns-file-ops.js';

const rmAsync = promisify(rm);
const DENIED = new Set(['EACCES', 'EPERM', 'ENOTEMPTY']);

function denied(error: unknown, userns: UsernsContext | undefined): boolean {
  return userns !== undefined && DENIED.has((error as NodeJS.ErrnoException).code ?? '');
}

/** `rm -rf path`, through the user namespace helper when rootless and the caller is denied. */
export async function removeTree(path: string, userns: UsernsContext | undefined): Promise<void> {
  try {
    await rmAsync(path, { recursive: true, force: true });
  } catch (error) {
    if (!denied(error, userns)) throw error;
    await removeTreeInUserns(userns!, path);
  }
}

/**
 * The same for synchronous callers (cleaning up leftovers while opening): what
 * the caller may not remove is removed in the background through the helper,
 * and a failure there leaves it for the next open.
 */
export function removeTreeSoon(path: string, userns: UsernsContext | undefined): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch (error) {
    if (!denied(error, userns)) throw error;
    removeTreeInUserns(userns!, path).catch(() => {});
  }
}
