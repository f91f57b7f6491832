#!/usr/bin/env node
// npm's install step for berth. The package carries prebuilt binaries for
// linux-x64 (prebuilds/); when they fit this machine nothing is compiled.
// Otherwise (another architecture, an older C library, a checkout without
// prebuilds) the native part is compiled with cmake-js, which needs cmake,
// make and g++.
import { existsSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileAddon } from './compile-addon.mjs';
import { prebuildDir, whyNotFitting } from './prebuilds.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const dir = prebuildDir(root);
const problem = whyNotFitting(dir);
if (problem === undefined) process.exit(0);

if (existsSync(dir)) {
  console.error(`berth: the prebuilt binaries do not fit this machine (${problem}); compiling the native part instead.`);
  // the loader tries prebuilds/ first: leave it only what was compiled here
  rmSync(dir, { recursive: true, force: true });
} else {
  console.error(`berth: no prebuilt binaries for ${process.platform}-${process.arch}; compiling the native part (needs cmake, make and g++).`);
}
const status = compileAddon(root);
if (status !== 0) {
  console.error(
    `berth: compiling the native part failed (${status}). ` +
      'Install cmake, make and g++ (Debian: apt-get install cmake make g++), then run `npm rebuild berth`.',
  );
  process.exit(1);
}
