// start() resolves the container's user from its own /etc/passwd and
// /etc/group, read on the host before the container runs. A hostile image or
// container tries to make that read a host file (a symlink out of the
// image), or to freeze the Node process (a FIFO where the file was).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ContainerSetupError, type Container, type Runtime } from '../lib/index.js';
import { BUSYBOX, temporaryRuntime, withDeadline } from './helpers.js';

const DEADLINE_MS = 60_000;

/** A host directory with a passwd and group naming a user only the host file has. */
function hostOnlyFiles(): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-hostonly-'));
  writeFileSync(join(dir, 'passwd'), 'root:x:0:0:root:/host-root-home:/bin/sh\nhostonly:x:4242:4242::/hostonly-home:/bin/sh\n');
  writeFileSync(join(dir, 'group'), 'root:x:0:\nhostonly:x:4242:\nhostgroup:x:4343:root\n');
  return dir;
}

/** A rootfs directory: the built-in busybox image's files, changed by `edit`. */
async function rootfsFrom(runtime: Runtime, edit: (root: string) => void): Promise<string> {
  const image = await runtime.images.get(BUSYBOX);
  const root = mkdtempSync(join(tmpdir(), 'berth-rootfs-'));
  cpSync(image.layerPaths[0]!, root, { recursive: true, verbatimSymlinks: true });
  edit(root);
  return root;
}

/** Starts the container (created with `attach`) and gives its exit code and all its output. */
async function startAndCollect(container: Container): Promise<{ exitCode: number; stdout: string }> {
  await container.start();
  let stdout = '';
  container.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const ended = new Promise((resolve) => container.stdout!.once('end', resolve));
  const { exitCode } = await container.wait();
  await ended; // wait() can come before the last attached output is read
  return { exitCode, stdout };
}

/** Output and exit code of a run of a new container. */
async function run(runtime: Runtime, options: Parameters<Runtime['containers']['create']>[0]): Promise<{ exitCode: number; stdout: string }> {
  return startAndCollect(await runtime.containers.create({ ...options, attach: true }));
}

/** start() or exec in a separate Node process with a deadline: a blocked event loop shows as a timeout, not a hung test. */
function startOrExecElsewhere(root: string, id: string, action: 'start' | 'exec') {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'start-or-exec.ts'), root, id, action], {
    encoding: 'utf8', timeout: DEADLINE_MS,
  });
  assert.equal(result.error, undefined, `${action} did not finish within ${DEADLINE_MS} ms (the Node process froze?): ${result.stderr}`);
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as { ok?: true; error?: { name: string; code?: string; step?: string; message: string } };
}

test('an /etc/passwd or /etc that links to the host never names the user: only the container decides', async () => {
  await using runtime = await temporaryRuntime();
  const host = hostOnlyFiles();
  const linkedFile = await rootfsFrom(runtime, (root) => {
    for (const file of ['passwd', 'group']) {
      unlinkSync(join(root, 'etc', file));
      symlinkSync(join(host, file), join(root, 'etc', file)); // absolute: a host path
    }
  });
  const linkedDir = await rootfsFrom(runtime, (root) => {
    rmSync(join(root, 'etc'), { recursive: true });
    symlinkSync(host, join(root, 'etc'));
  });
  try {
    for (const rootfs of [linkedFile, linkedDir]) {
      const container = await runtime.containers.create({ rootfs, user: 'hostonly', cmd: ['id'] });
      await assert.rejects(container.start(), (error: ContainerSetupError) => {
        assert.ok(error instanceof ContainerSetupError);
        assert.equal(error.step, 'user');
        assert.match(error.message, /unable to find user hostonly/);
        return true;
      });
      // a group only the host file names is not found either
      const byGroup = await runtime.containers.create({ rootfs, user: '0:hostgroup', cmd: ['id'] });
      await assert.rejects(byGroup.start(), /unable to find group hostgroup/);
      // numeric ids still work; HOME and the groups are not the host file's
      const result = await run(runtime, { rootfs, user: '0', cmd: ['sh', '-c', 'echo "home=$HOME"; id -G'] });
      assert.equal(result.exitCode, 0);
      assert.equal(result.stdout, 'home=/\n0\n');
    }

    // the same through the container's writable layer: a link put there by copyTo, then a start
    const container = await runtime.containers.create({ image: BUSYBOX, user: 'hostonly', cmd: ['id'] });
    const staged = mkdtempSync(join(tmpdir(), 'berth-stage-'));
    mkdirSync(join(staged, 'etc'));
    symlinkSync(join(host, 'passwd'), join(staged, 'etc', 'passwd'));
    await container.copyTo(`${staged}/.`, '/');
    await assert.rejects(container.start(), /unable to find user hostonly/);
    rmSync(staged, { recursive: true });
  } finally {
    for (const dir of [host, linkedFile, linkedDir]) rmSync(dir, { recursive: true, force: true });
  }
});

test('symlinks inside the image resolve inside it: relative and absolute targets', async () => {
  await using runtime = await temporaryRuntime();
  const passwd = 'root:x:0:0:root:/root:/bin/sh\nlinked:x:1234:1234::/home/linked:/bin/sh\n';
  const relative = await rootfsFrom(runtime, (root) => {
    mkdirSync(join(root, 'usr', 'share', 'base-passwd'), { recursive: true });
    writeFileSync(join(root, 'usr', 'share', 'base-passwd', 'passwd'), passwd);
    unlinkSync(join(root, 'etc', 'passwd'));
    symlinkSync('../usr/share/base-passwd/passwd', join(root, 'etc', 'passwd'));
  });
  // absolute, to a path the host does not have: found in the image
  const absolute = await rootfsFrom(runtime, (root) => {
    mkdirSync(join(root, 'berth-only'));
    writeFileSync(join(root, 'berth-only', 'passwd'), passwd);
    unlinkSync(join(root, 'etc', 'passwd'));
    symlinkSync('/../berth-only/./passwd', join(root, 'etc', 'passwd'));
  });
  try {
    for (const rootfs of [relative, absolute]) {
      const result = await run(runtime, { rootfs, user: 'linked', cmd: ['sh', '-c', 'echo "$(id -u) $HOME"'] });
      assert.equal(result.exitCode, 0);
      assert.equal(result.stdout, '1234 /home/linked\n');
    }
  } finally {
    for (const dir of [relative, absolute]) rmSync(dir, { recursive: true, force: true });
  }
});

test('an /etc/passwd deleted in the container is gone for the next start: numeric users only', async () => {
  await using runtime = await temporaryRuntime();
  // root: HOME comes from the image's passwd on the first run; the whiteout hides it on the second
  const container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sh', '-c', 'echo "home=$HOME"; rm -f /etc/passwd'], attach: true });
  for (const expected of ['home=/root\n', 'home=/\n']) {
    assert.deepEqual(await startAndCollect(container), { exitCode: 0, stdout: expected });
  }
  // a name: found before the deletion, not after
  const named = await runtime.containers.create({ image: BUSYBOX, user: 'app', cmd: ['sleep', '60'] });
  await named.start();
  assert.equal((await named.exec(['rm', '/etc/passwd'], { user: '0' })).exitCode, 0);
  await named.stop({ timeout: 1 });
  await assert.rejects(named.start(), (error: ContainerSetupError) => {
    assert.ok(error instanceof ContainerSetupError);
    assert.equal(error.step, 'user');
    assert.match(error.message, /unable to find user app/);
    return true;
  });
});

test('an /etc/group replaced by a FIFO fails start and exec fast with a typed error; the Node process never blocks', async () => {
  await using runtime = await temporaryRuntime();
  const container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sh', '-c', 'rm /etc/group && mkfifo /etc/group && sleep 60'] });
  await container.start();
  // exec reads it inside the running container
  const fifo = join((await container.inspect()).path, 'upper', 'etc', 'group');
  const deadline = Date.now() + DEADLINE_MS;
  while (!lstatSync(fifo, { throwIfNoEntry: false })?.isFIFO()) {
    assert.ok(Date.now() < deadline, 'the container did not make its FIFO');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const exec = startOrExecElsewhere(runtime.root, container.id, 'exec');
  assert.equal(exec.error?.name, 'ContainerSetupError');
  assert.equal(exec.error?.step, 'user');
  assert.match(exec.error!.message, /\/etc\/group.*not a regular file \(a FIFO\)/);

  // start reads it from the writable layer
  await container.stop({ timeout: 1 });
  const start = startOrExecElsewhere(runtime.root, container.id, 'start');
  assert.equal(start.error?.name, 'ContainerSetupError');
  assert.equal(start.error?.step, 'user');
  assert.equal(start.error?.code, 'ERR_NOT_REGULAR_FILE');
  assert.match(start.error!.message, /\/etc\/group.*not a regular file \(a FIFO\)/);
  assert.equal((await container.inspect()).state.status, 'exited'); // nothing started
});

test('a user added by one container is its own: another from the same image does not see it (the image database is shared, never its changes)', async () => {
  await using runtime = await temporaryRuntime();
  const added = await runtime.containers.create({ image: BUSYBOX, user: 'ghost', cmd: ['id', '-u'], attach: true });
  // first start: the image has no ghost (its database is read, and kept for later starts)
  await assert.rejects(added.start(), (error: unknown) => error instanceof ContainerSetupError && error.step === 'user');
  const files = mkdtempSync(join(tmpdir(), 'berth-ghost-'));
  try {
    writeFileSync(join(files, 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nghost:x:4242:4242::/home/ghost:/bin/sh\n');
    await added.copyTo(join(files, 'passwd'), '/etc/passwd');
  } finally {
    rmSync(files, { recursive: true, force: true });
  }
  await added.start();
  const output: Buffer[] = [];
  const ended = new Promise((resolve) => added.stdout!.on('data', (chunk: Buffer) => output.push(chunk)).once('end', resolve));
  assert.equal((await withDeadline(added.wait(), 'the container to exit')).exitCode, 0);
  await withDeadline(ended, 'its output to end');
  assert.equal(Buffer.concat(output).toString().trim(), '4242', 'its own /etc/passwd (upper) names ghost');

  const fresh = await runtime.containers.create({ image: BUSYBOX, user: 'ghost', cmd: ['id', '-u'] });
  await assert.rejects(fresh.start(), (error: unknown) => error instanceof ContainerSetupError && error.step === 'user',
    'a fresh container from the image has no ghost');
});
