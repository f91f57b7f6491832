// A rootless runtime with a delegated cgroup v2 subtree (as systemd's
// user@.service delegation gives one): detected at open, reported by info(),
// and limits are accepted. Runs where /sys/fs/cgroup is cgroup v2 (the VM of
// test/cgroup-v2-vm.test.ts on a v1/hybrid host).
import assert from 'node:assert/strict';
import { chownSync, mkdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cgroupMode } from '../lib/cgroup/cgroup-driver.js';
import { cgroupMounts, ownCgroups } from '../lib/cgroup/cgroup-mode.js';
import { asTestUser, rootlessUnavailable, TEST_USER, userDirectory } from './rootless-root-helpers.js';

function skipReason(): string | undefined {
  if (cgroupMode() !== 'v2') return 'this host is not cgroup v2 (test/cgroup-v2-vm.test.ts runs this file in a cgroup v2 VM)';
  return rootlessUnavailable();
}

test('a delegated cgroup v2 subtree: info() reports it, and a rootless container may have limits', async (t) => {
  const reason = skipReason();
  if (reason) {
    console.log(`# skipped: ${reason}`);
    return t.skip(reason);
  }
  const mount = cgroupMounts().find((m) => m.type === 'cgroup2')!;
  const own = join(mount.mountPoint, ownCgroups().get('') ?? '/');
  // the subtree root has no processes of its own; the user's process lives in its leaf
  const delegated = join(own, `berth-rootless-${process.pid}`);
  const leaf = join(delegated, 'leaf');
  const work = userDirectory('berth-rootless-cg-');
  try {
    try {
      writeFileSync(join(own, 'cgroup.subtree_control'), '+memory +pids');
    } catch (error) {
      const why = `cannot enable memory and pids below ${own} (${(error as NodeJS.ErrnoException).code}: it has processes of its own)`;
      console.log(`# skipped: ${why}`);
      return t.skip(why);
    }
    mkdirSync(delegated);
    writeFileSync(join(delegated, 'cgroup.subtree_control'), '+memory +pids');
    mkdirSync(leaf);
    for (const dir of [delegated, leaf]) {
      for (const entry of ['', 'cgroup.procs', 'cgroup.subtree_control', 'cgroup.threads']) chownSync(join(dir, entry), TEST_USER.uid, TEST_USER.uid);
    }
    const rootfs = join(work, 'rootfs');
    mkdirSync(rootfs);
    chownSync(rootfs, TEST_USER.uid, TEST_USER.uid);
    const answer = asTestUser({ step: 'limits', root: join(work, 'root'), rootfs }, {}, leaf);
    assert.equal(answer.ok, true, JSON.stringify(answer.error));
    const cgroups = (answer.info as { cgroups: { delegated: boolean; path: string; controllers: string[] } }).cgroups;
    assert.equal(cgroups.delegated, true);
    assert.equal(cgroups.path, leaf);
    assert.ok(cgroups.controllers.includes('memory') && cgroups.controllers.includes('pids'), cgroups.controllers.join(' '));
    assert.match(String(answer.made), /^[0-9a-f]{64}$/);
  } finally {
    for (const dir of [leaf, delegated]) {
      try {
        rmdirSync(dir);
      } catch {
        // not made
      }
    }
    rmSync(work, { recursive: true, force: true });
  }
});
