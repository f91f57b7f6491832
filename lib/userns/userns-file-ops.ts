/**
 * File changes that a rootless caller cannot make itself, made by
 * `berth-exec userns-files` from a user namespace with the rootless maps
 * (addon/userns_file_ops.cc): owners among the subordinate ids, file
 * capabilities, and removing trees that hold files of those ids (a
 * container's upper directory, a layer, a volume). Root in that namespace
 * acts on exactly the ids the maps hold, nothing else of the host's.
 *
 * The helper is started from its sealed copy, makes the namespace and says
 * `map` with its pid; Node maps it (map-user-namespace.ts), sends `mapped`,
 * and the helper applies the operations in order, each path opened below the
 * target directory without following any symlink. Ids here are the
 * container's view (0 = the caller).
 */
import { BerthError, errnoName } from '../errors.js';
import { ExecHelper, type HelperEvent } from '../container/exec-helper.js';
import type { IdMaps } from './id-map.js';
import { mapUserNamespace } from './map-user-namespace.js';
import type { IdMapTools } from './rootless-host.js';

/** One change below the target directory; `path` is relative to it. */
export type FileOp =
  | { op: 'chown'; path: string; uid: number; gid: number }
  | { op: 'chmod'; path: string; mode: number }
  | { op: 'setcap'; path: string; value: Buffer };

/** The namespace the helper runs in: the rootless maps and the tools that write them. */
export interface UsernsContext {
  maps: IdMaps;
  tools: IdMapTools | undefined;
}

function opText(op: FileOp): string {
  switch (op.op) {
    case 'chown':
      return `chown ${op.uid} ${op.gid} ${op.path}`;
    case 'chmod':
      return `chmod ${op.mode.toString(8)} ${op.path}`;
    case 'setcap':
      return `setcap ${op.value.toString('hex')} ${op.path}`;
  }
}

/**
 * Applies `ops` below `dir`, in order.
 * @throws BerthError naming the step, call, path and errno of the first failure.
 */
export async function applyFileOps(context: UsernsContext, dir: string, ops: readonly FileOp[]): Promise<void> {
  if (ops.length === 0) return;
  await runHelper(context, dir, ops.map(opText), `changing owners below ${dir}`);
}

/** `rm -rf dir` from the user namespace: files of subordinate ids included. A missing `dir` is not an error. */
export async function removeTreeInUserns(context: UsernsContext, dir: string): Promise<void> {
  await runHelper(context, dir, ['remove-tree'], `removing ${dir}`);
}

async function runHelper(context: UsernsContext, target: string, ops: readonly string[], what: string): Promise<void> {
  const helper = ExecHelper.start('userns-files', [['target', target], ...ops.map((op) => ['file-op', op] as const)]);
  let finished = false;
  try {
    await mapOwnNamespace(helper, context, what);
    const result = await helper.next();
    if (result?.event !== 'done') throw failure(what, result);
    finished = true;
  } finally {
    if (!finished) helper.child.kill('SIGKILL');
    helper.release();
    await helper.exited();
  }
}

/**
 * The first step of a berth-exec that makes a user namespace of its own
 * (addon/userns_own.h): waits for its `map` event, maps its namespace with
 * the rootless maps, and tells it `mapped`.
 * @throws BerthError when it failed before, or the mapping failed.
 */
export async function mapOwnNamespace(helper: ExecHelper, context: UsernsContext, what: string): Promise<void> {
  const event = await helper.next();
  if (event?.event !== 'map') throw failure(what, event);
  await mapUserNamespace(event.pid, context.maps, context.tools);
  helper.send([['mapped', '']]);
}

function failure(what: string, event: HelperEvent | undefined): BerthError {
  if (event?.event !== 'error') {
    return new BerthError(`${what}: berth-exec userns-files ended without answering`, { code: 'ERR_HELPER', step: 'userns' });
  }
  const code = errnoName(event.errno);
  const where = event.path ? ` \`${event.path}\`` : '';
  return new BerthError(`${what} failed at step '${event.step}': ${event.syscall}${where}: ${code}`, {
    code, errno: event.errno, syscall: event.syscall, step: event.step, path: event.path,
  });
}
