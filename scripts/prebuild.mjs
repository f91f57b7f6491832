#!/usr/bin/env node
// `npm pack`'s prepack step (after `npm run build`): copies the built N-API
// module and the static helper executables from addon/build into
// prebuilds/<platform>-<arch>/, which the package carries, and checks them.
// `--clean` (postpack) removes prebuilds/ again, so a checkout always loads
// what `npm run build` last compiled.
import { chmodSync, copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADDON, HELPERS, prebuildDir, whyNotFitting } from './prebuilds.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

if (process.argv.includes('--clean')) {
  rmSync(join(root, 'prebuilds'), { recursive: true, force: true });
  process.exit(0);
}

const dir = prebuildDir(root);
rmSync(join(root, 'prebuilds'), { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
for (const file of [ADDON, ...HELPERS]) {
  copyFileSync(join(root, 'addon', 'build', file), join(dir, file));
  chmodSync(join(dir, file), 0o755);
}
const problem = whyNotFitting(dir);
if (problem) {
  console.error(`prebuild: ${problem}`);
  process.exit(1);
}
console.error(`prebuild: ${[ADDON, ...HELPERS].join(', ')} in ${dir}`);
