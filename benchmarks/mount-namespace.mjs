// Benchmarks run as root in a private mount namespace of their own, so the
// mounts they make (and hide) never reach the host's: this re-executes the
// calling script under `unshare --mount --propagation private` (with
// `{ net: true }` also `--net`, lo brought up inside) and exits with its
// status; inside (the environment variable `key` set), it returns. Afterwards
// the `berth/` cgroup parents the benchmark's containers left are removed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { removeBerthCgroupParents } from '../scripts/berth-cgroup-parents.mjs';

export function inPrivateMountNamespace(key, root, options = {}) {
  if (process.env[key]) {
    if (options.net) spawnSync('ip', ['link', 'set', 'lo', 'up'], { stdio: 'inherit' });
    return;
  }
  process.exit(runInPrivateMountNamespace(key, root, options));
}

/**
 * The part of {@link inPrivateMountNamespace} that runs the script again
 * inside the namespace: returns its exit status (1 when it died by a signal),
 * for a caller with work to do after it. Call it only outside (`key` unset).
 */
export function runInPrivateMountNamespace(key, root, { net = false } = {}) {
  if (process.getuid?.() !== 0) {
    console.error('the benchmark needs root (it creates namespaces, mounts and containers): run it as root');
    process.exit(1);
  }
  if (!existsSync(join(root, 'dist', 'index.js'))) {
    console.error('dist/ is missing: run `npm run build` first (`npm run bench` builds)');
    process.exit(1);
  }
  process.on('SIGINT', () => {}); // the benchmark inside gets it too, and cleans up
  const result = spawnSync('unshare', [...(net ? ['--net'] : []), '--mount', '--propagation', 'private', process.execPath, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, [key]: '1' },
  });
  if (result.error) {
    console.error(`cannot run unshare: ${result.error.message}`);
    process.exit(1);
  }
  // the `berth/` cgroup parents the benchmark's containers left (berth keeps them for the next container)
  removeBerthCgroupParents();
  return result.status ?? 1;
}
