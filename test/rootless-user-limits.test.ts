// Resource limits as an unprivileged user: without a cgroup delegated to the
// user (the test phase's case: setpriv gives no systemd user session), a limit
// is refused with a typed error at create() and nothing is stored; a container
// without limits runs. With delegation (cgroup v2, the user's own cgroup
// writable), the limit applies. Runs as the test user.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Container } from '../lib/index.js';
import { BUSYBOX } from './helpers.js';
import { hasCgroupDelegation, rootlessRuntime } from './rootless-helpers.js';

test('a memory limit without cgroup delegation: ERR_ROOTLESS_UNSUPPORTED names the limit and what to do; without limits it runs', async (t) => {
  await using runtime = await rootlessRuntime();
  if (hasCgroupDelegation()) {
    t.diagnostic('this user has a delegated cgroup v2 subtree: the limit must apply');
    const { exitCode, stdout } = await Container.run(BUSYBOX, ['cat', '/sys/fs/cgroup/memory.max'], { runtime, memory: '64m' });
    assert.equal(exitCode, 0);
    assert.equal(stdout.trim(), String(64 * 1024 * 1024));
    return;
  }
  for (const limits of [{ memory: '64m' }, { cpus: 0.5 }, { pidsLimit: 50 }]) {
    await assert.rejects(runtime.containers.create({ image: BUSYBOX, cmd: ['true'], ...limits }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'ERR_ROOTLESS_UNSUPPORTED', `${JSON.stringify(limits)}: ${error.message}`);
      assert.match(error.message, /deleg/i, 'the message says what would make it work');
      return true;
    });
  }
  assert.deepEqual(await runtime.containers.list({ all: true }), [], 'nothing stored');
  const { exitCode, stdout } = await Container.run(BUSYBOX, ['echo', 'no limits'], { runtime });
  assert.equal(exitCode, 0);
  assert.equal(stdout, 'no limits\n');
});
