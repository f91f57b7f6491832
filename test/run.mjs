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
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter', 'spec', '--test-concurrency', '2', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: process.env,
});
process.exit(result.status ?? 1);
