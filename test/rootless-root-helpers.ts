import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';

/** The rootless test user (test setup makes it; the same values by hand otherwise). */
export const TEST_USER = { name: 'berth-rootless', uid: 2901, subStart: 200000, subCount: 65536 };

/**
 * Makes the test user when it is missing, with subordinate ids
 * 200000-265535, exactly as the suite's setup does; returns why not when it cannot.
 */
export function ensureTestUser(): string | undefined {
  if (spawnSync('id', ['-u', TEST_USER.name]).status === 0) return undefined;
  const range = `${TEST_USER.subStart}-${TEST_USER.subStart + TEST_USER.subCount - 1}`;
  for (const [command, args] of [
    // no automatic subordinate ranges (login.defs' SUB_UID_COUNT): exactly the one below
    ['useradd', ['-m', '-K', 'SUB_UID_COUNT=0', '-K', 'SUB_GID_COUNT=0', '-u', String(TEST_USER.uid), TEST_USER.name]],
    ['usermod', ['--add-subuids', range, '--add-subgids', range, TEST_USER.name]],
  ] as const) {
    const result = spawnSync(command, args, { encoding: 'utf8' });
    if (result.status !== 0) return `${command} failed: ${result.stderr || result.error?.message}`;
  }
  return undefined;
}

/** Why rootless tests cannot run here (no newuidmap, no setpriv, no test user), or undefined. */
export function rootlessUnavailable(): string | undefined {
  for (const tool of ['newuidmap', 'newgidmap', 'setpriv']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed (Debian: uidmap, util-linux)`;
  }
  return ensureTestUser();
}

/** A fresh directory owned by the test user (under /tmp, which it can reach). */
export function userDirectory(prefix: string): string {
  const dir = mkdtempSync(join('/tmp', prefix));
  chownSync(dir, TEST_USER.uid, TEST_USER.uid);
  return dir;
}

/** The answer of test/fixtures/rootless-agent.ts run as the test user. */
export interface AgentAnswer {
  ok: boolean;
  error?: { name: string; code?: string; message: string; path?: string };
  [key: string]: unknown;
}

/**
 * Runs one request of test/fixtures/rootless-agent.ts as the test user (with
 * its HOME and the given environment); with `cgroup`, in that cgroup (v2 directory).
 */
export function asTestUser(request: Record<string, unknown>, env: Record<string, string> = {}, cgroup?: string): AgentAnswer {
  // the checkout as the test user reaches it (test/run.mjs), else this one
  const checkout = process.env.BERTH_TEST_USER_CHECKOUT ?? join(import.meta.dirname, '..');
  const agent = join(checkout, 'test', 'fixtures', 'rootless-agent.ts');
  const command = ['setpriv', `--reuid=${TEST_USER.uid}`, `--regid=${TEST_USER.uid}`, '--init-groups', process.execPath, '--import', 'tsx', agent, JSON.stringify(request)];
  const [file, ...args] = cgroup ? ['sh', '-c', 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"', 'sh', cgroup, ...command] : command;
  const result = spawnSync(
    file!,
    args,
    {
      encoding: 'utf8',
      timeout: 120_000,
      cwd: checkout,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: `/home/${TEST_USER.name}`, ...env },
    },
  );
  assert.equal(result.status, 0, `the agent exited ${result.status}: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as AgentAnswer;
}
