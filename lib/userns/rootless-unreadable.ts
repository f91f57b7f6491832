import { RootlessUnsupportedError } from '../errors.js';

/**
 * A file of a rootless container that the caller cannot read: Node reads the
 * container's files as the caller, outside the user namespace, and a file
 * private to one of the container's non-root users (a subordinate id on the
 * host) is not the caller's. `operation` is what could not be done with it.
 */
export function rootlessUnreadable(path: string, code: string | undefined, operation: string, cause?: unknown): RootlessUnsupportedError {
  return new RootlessUnsupportedError(
    `${path}: ${code ?? 'EACCES'}: a rootless runtime cannot read this file of the container (it belongs to one of the container's users and is private to it), ` +
      `so it cannot be ${operation}. Make it readable inside the container (chmod), or run berth as root.`,
    { path, cause },
  );
}
