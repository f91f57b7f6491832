#!/usr/bin/env node
// Runs every test in test/ with node's test runner, inside a network and mount
// namespace of its own (unshare --net --mount), so nothing a test creates
// reaches the host's network or mount table. Tests print why they skip.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);

if (!process.env.BERTH_TEST_NAMESPACE) {
  if (process.getuid?.() !== 0) {
    console.error('berth tests need root (they create namespaces, mounts and containers): run them as root');
    process.exit(1);
  }
  const result = spawnSync('unshare', ['--net', '--mount', '--propagation', 'private', process.execPath, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, BERTH_TEST_NAMESPACE: '1' },
  });
  process.exit(result.status ?? 1);
}

spawnSync('ip', ['link', 'set', 'lo', 'up'], { stdio: 'inherit' });

function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'fixtures' ? [] : testFiles(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const filter = process.argv.slice(2);
const files = testFiles(here)
  .filter((file) => filter.length === 0 || filter.some((f) => file.includes(f)))
  .map((file) => relative(root, file))
  .sort();
// Tests that time CPU use must not share the machine with the VM (QEMU keeps
// both cores busy), so the VM's tests run on their own, after the rest.
const alone = (file) => file.includes('-vm.test.');
const phases = [files.filter((f) => !alone(f)), files.filter(alone)].filter((group) => group.length > 0);
const totals = { pass: 0, fail: 0, skipped: 0 };
let status = 0;
for (const group of phases) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter', 'spec', '--test-concurrency', '2', ...group], {
    cwd: root,
    stdio: ['inherit', 'pipe', 'inherit'],
    env: process.env,
    maxBuffer: 256 * 1024 * 1024,
  });
  const output = result.stdout.toString();
  process.stdout.write(output);
  for (const key of Object.keys(totals)) {
    const match = new RegExp(`^ℹ ${key} (\\d+)$`, 'm').exec(output);
    totals[key] += match ? Number(match[1]) : 0;
  }
  if (result.status !== 0) status = result.status ?? 1;
}
if (phases.length > 1) console.log(`${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped`);
process.exit(status);
