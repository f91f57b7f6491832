#!/usr/bin/env node
// Compiles berth's native part (addon/ → addon/build/) with cmake-js. cmake-js
// downloads Node's headers from nodejs.org unless npm's `nodedir` says where
// they are; the running Node's own headers (<prefix>/include/node, shipped by
// Debian's nodejs and by nodejs.org's tarballs) need no network, so they are
// used when present. Used by `npm run build:addon` and the install step.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Runs cmake-js in `root`; the exit status (or the spawn error's message). */
export function compileAddon(root) {
  const env = { ...process.env };
  const prefix = dirname(dirname(process.execPath));
  if (!env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) env.npm_config_nodedir = prefix;
  const result = spawnSync('cmake-js', ['compile', '-d', 'addon', '--out', 'addon/build'], { cwd: root, stdio: 'inherit', env });
  return result.status === 0 ? 0 : (result.error?.message ?? `exit ${result.status}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const status = compileAddon(dirname(dirname(fileURLToPath(import.meta.url))));
  if (status !== 0) {
    console.error(`compile-addon: cmake-js failed (${status})`);
    process.exit(1);
  }
}
