import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ADDON, HELPERS, isStaticElf, prebuildDir } from '../scripts/prebuilds.mjs';

interface Prepared {
  bin: string;
  project: string;
  tarball?: string;
  tarballBytes?: number;
  steps: { name: string; status: number | null; error?: string; output: string }[];
}

/** What test/package-prepare.mjs did before the run entered its private network namespace. */
function prepared(): Prepared {
  const dir = process.env.BERTH_TEST_PACKAGE_DIR;
  assert.ok(dir, 'BERTH_TEST_PACKAGE_DIR is not set: run this test with `node test/run.mjs package-install`, which packs and installs first');
  const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as Prepared;
  for (const step of result.steps) assert.equal(step.status, 0, `${step.name} failed (${step.error ?? ''}):\n${step.output.slice(-4000)}`);
  return result;
}

test('npm pack carries prebuilt linux-x64 binaries; npm install of the tarball, with no compiler on PATH, runs a container', async (t) => {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    console.log(`# skipped: the package carries prebuilt binaries for linux-x64 only, this is ${process.platform}-${process.arch}`);
    return t.skip(`no prebuilt binaries for ${process.platform}-${process.arch}`);
  }
  const { bin, project, tarball, tarballBytes } = prepared();
  console.log(`# tarball: ${tarball} (${tarballBytes} bytes)`);

  const listing = spawnSync('tar', ['-tzf', tarball!], { encoding: 'utf8' }).stdout.split('\n');
  for (const file of [ADDON, ...HELPERS]) assert.ok(listing.includes(`package/prebuilds/linux-x64/${file}`), `${file} is in the tarball`);
  assert.ok(!listing.some((name) => name.startsWith('package/addon/build/')), 'no build directory in the tarball');

  // the install ran without cmake, make or a compiler: nothing was compiled
  const path = { ...process.env, PATH: bin };
  for (const tool of ['cmake', 'make', 'g++', 'cc', 'gcc']) {
    assert.notEqual(spawnSync('sh', ['-c', `command -v ${tool}`], { env: path }).status, 0, `${tool} is not on the test's PATH`);
  }
  const installed = join(project, 'node_modules', 'berth');
  assert.equal(existsSync(join(installed, 'addon', 'build')), false, 'nothing was compiled at install');
  for (const helper of HELPERS) assert.ok(isStaticElf(join(prebuildDir(installed), helper)), `${helper} is statically linked`);

  const root = mkdtempSync(join(tmpdir(), 'berth-package-root-'));
  try {
    const script = `import { Container, Runtime } from 'berth';
      const runtime = await Runtime.open({ root: ${JSON.stringify(root)} });
      const { stdout } = await Container.run('localhost/busybox', ['echo', 'ok'], { runtime });
      process.stdout.write(stdout);`;
    const run = spawnSync('node', ['--input-type=module', '-e', script], { cwd: project, env: path, encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.stderr, '');
    assert.equal(run.stdout, 'ok\n');
    assert.equal(run.status, 0);
    // the package's bin: its split chunks are in the tarball, and it reaches the prebuilt native part
    const cli = spawnSync(join(project, 'node_modules', '.bin', 'berth'), ['run', '--rm', '--network', 'none', 'localhost/busybox', 'echo', 'from the bin'], {
      cwd: project, env: { ...path, BERTH_ROOT: root }, encoding: 'utf8', timeout: 60_000,
    });
    assert.equal(cli.stdout, 'from the bin\n', cli.stderr);
    assert.equal(cli.status, 0);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
