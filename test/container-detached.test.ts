import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runFixture } from './helpers-process.js';
import { processesMentioning, temporaryRuntime, waitUntil, withDeadline } from './helpers.js';

test('a container started by one process outlives it; another process finds it, stops it and gets its exit code', async () => {
  await using runtime = await temporaryRuntime();
  const a = runFixture('start-detached.ts', [runtime.root, 'outlives', 'sh', '-c', 'trap "exit 3" TERM; while :; do sleep 0.1; done']);
  assert.equal(a.status, 0, a.stderr);
  const started = JSON.parse(a.stdout) as { id: string; status: string; pid: number };
  assert.equal(started.status, 'running');

  // process A has exited; the container still runs
  const container = await runtime.containers.get('outlives');
  assert.equal((await container.inspect()).state.status, 'running');
  assert.ok(processesMentioning(runtime.root).length > 0, 'its monitor is running');
  process.kill(started.pid, 0);

  const b = runFixture('stop-by-name.ts', [runtime.root, 'outlives']);
  assert.equal(b.status, 0, b.stderr);
  const stopped = JSON.parse(b.stdout) as { before: string; status: unknown; after: { status: string; exitCode: number } };
  assert.equal(stopped.before, 'running');
  assert.deepEqual(stopped.status, { exitCode: 3, signal: null, oomKilled: false });
  assert.equal(stopped.after.status, 'exited');
  assert.equal(stopped.after.exitCode, 3);

  // and this process sees the same
  assert.deepEqual(await withDeadline(container.wait(), 'the container to exit'), { exitCode: 3, signal: null, oomKilled: false });
  // the monitor ends just after the exit it reported (letting go of the container's filesystem syncs it)
  await waitUntil(() => processesMentioning(runtime.root).length === 0, 'the monitor to end');
});
