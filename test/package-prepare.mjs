#!/usr/bin/env node
// The network part of test/package-install.test.ts, run by test/run.mjs before
// it enters the tests' private network namespace:
//
//   node test/package-prepare.mjs DIR
//
// packs this checkout (`npm pack`, whose prepack step puts the prebuilt
// binaries in the tarball), then installs the tarball into the empty project
// DIR/project the way a user would (`npm install ./berth-*.tgz`, its
// dependencies from the npm registry), with a PATH (DIR/bin) that holds only
// node, npm and sh: no cmake, make or compiler. The outcome goes to
// DIR/result.json for the test to check; this script itself fails only when
// it cannot run at all.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = dirname(dirname(fileURLToPath(import.meta.url)));
const dir = process.argv[2];
if (!dir) throw new Error('usage: node test/package-prepare.mjs DIR');

/** A PATH with only what a user's machine surely has: node, npm, a shell. */
const bin = join(dir, 'bin');
mkdirSync(bin);
const which = (name) => spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
symlinkSync(process.execPath, join(bin, 'node'));
symlinkSync(which('npm'), join(bin, 'npm'));
symlinkSync('/bin/sh', join(bin, 'sh'));

const result = { bin, project: join(dir, 'project'), steps: [] };
const step = (name, command, args, options) => {
  const run = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  result.steps.push({ name, status: run.status, error: run.error?.message, output: `${run.stdout ?? ''}${run.stderr ?? ''}` });
  return run.status === 0;
};

const packDir = join(dir, 'pack');
mkdirSync(packDir);
mkdirSync(result.project);
writeFileSync(join(result.project, 'package.json'), JSON.stringify({ name: 'berth-install-test', private: true, type: 'module' }));
if (step('npm pack', 'npm', ['pack', '--pack-destination', packDir], { cwd: repo })) {
  const tarball = readdirSync(packDir).find((name) => name.endsWith('.tgz'));
  result.tarball = join(packDir, tarball);
  result.tarballBytes = statSync(result.tarball).size;
  step('npm install', join(bin, 'npm'), ['install', '--no-audit', '--no-fund', result.tarball], {
    cwd: result.project,
    env: { ...process.env, PATH: bin },
  });
}
writeFileSync(join(dir, 'result.json'), JSON.stringify(result, null, 2));
