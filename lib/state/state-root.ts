import { mkdirSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname } from 'node:path';
import { BerthError } from '../errors.js';

/** Why a path cannot hold the state root, in words a user can act on. */
function reason(code: string | undefined, path: string): string {
  switch (code) {
    case 'ENOTDIR':
    case 'EEXIST':
      return `${path} is not a directory`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied on ${path} (as root, berth's default root is /var/lib/berth; as a normal user, a root the user may write: ~/.local/share/berth by default)`;
    case 'EROFS':
      return `${path} is on a read-only file system`;
    case 'ENOSPC':
      return `no space left for ${path}`;
    default:
      return `${code ?? 'error'} on ${path}`;
  }
}

function stateRootError(root: string, path: string, code: string | undefined, syscall: string | undefined, cause?: NodeJS.ErrnoException): BerthError {
  return new BerthError(`cannot use ${root} as berth's state root: ${reason(code, path)}. Give Runtime.open() a directory berth may create and write.`, {
    code: code ?? 'ERR_STATE_ROOT',
    errno: code === undefined ? undefined : (constants.errno as Record<string, number | undefined>)[code],
    syscall,
    path,
    cause,
  });
}

/** The same, from a failed fs call. */
function fromFsError(root: string, path: string, error: unknown): BerthError {
  const e = error as NodeJS.ErrnoException;
  return stateRootError(root, path, e.code, e.syscall, e);
}

/**
 * Creates the state root `root` (absolute) and its missing parents with
 * `mode` (the parents with `parentMode`), like `mkdir -p`, one directory at a time (Node's recursive mkdir
 * spins forever below some /proc paths). Every failure, a file in the way
 * included, is a BerthError naming the root and the path that failed.
 */
export function createStateRoot(root: string, mode: number, parentMode = mode): void {
  const missing: string[] = [];
  for (let dir = root; ; dir = dirname(dir)) {
    let stat;
    try {
      stat = statSync(dir, { throwIfNoEntry: false });
    } catch (error) {
      // a file further up: the walk goes on and names it
      if ((error as NodeJS.ErrnoException).code !== 'ENOTDIR') throw fromFsError(root, dir, error);
    }
    if (stat?.isDirectory()) break;
    if (stat) throw stateRootError(root, dir, 'ENOTDIR', 'mkdir');
    missing.unshift(dir);
    if (dirname(dir) === dir) break;
  }
  for (const dir of missing) {
    try {
      mkdirSync(dir, { mode: dir === root ? mode : parentMode });
    } catch (error) {
      // another process made it in the meantime
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' && statSync(dir).isDirectory()) continue;
      throw fromFsError(root, dir, error);
    }
  }
}
