import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { cgroupMode } from '../lib/cgroup/cgroup-driver.js';
import { withDeadline } from './helpers.js';

const repo = join(import.meta.dirname, '..');
/** The tests that exercise cgroups, run again on a pure cgroup v2 kernel. */
const V2_TESTS = ['container-limits', 'runtime-recovery', 'rootless-cgroup-v2'];

test('on a cgroup v2 host (a VM booted with cgroup_no_v1=all) the limit tests pass too', { timeout: 900_000 }, async (t) => {
  if (cgroupMode() === 'v2') {
    console.log('# skipped: this host is cgroup v2 itself, so the limit tests already ran on v2 in this run');
    return t.skip('this host is cgroup v2 itself: the limit tests already ran on v2');
  }
  if (spawnSync('sh', ['-c', 'command -v qemu-system-x86_64']).status !== 0) {
    console.log('# skipped: qemu-system-x86 is not installed, so cgroup v2 is not tested on this cgroup v1/hybrid host');
    return t.skip('qemu-system-x86 is not installed (apt-get install qemu-system-x86 cpio xz-utils)');
  }
  const vm = spawn('bash', [join(repo, 'test/vm/run-in-vm.sh'), '-t', '840', repo, 'node', 'test/run.mjs', ...V2_TESTS], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  vm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  vm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // run-in-vm.sh's own -t ends QEMU first; this deadline only catches the script hanging
  const status = await withDeadline(new Promise<number | null>((resolve) => vm.once('exit', resolve)), 'the VM run', 870_000);
  const summary = output.split('\n').filter((line) => /^(✔|✖|ℹ (pass|fail|skipped)|# cgroup mode)/.test(line));
  for (const line of summary) console.log(`# vm: ${line}`);
  assert.equal(status, 0, `the VM run failed:\n${output.slice(-4000)}`);
  assert.match(output, /# cgroup mode: v2/);
  assert.match(output, /ℹ fail 0/);
  assert.doesNotMatch(output, /ℹ pass 0\b/);
});
