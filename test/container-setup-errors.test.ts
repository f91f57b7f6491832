import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Container, ContainerSetupError, type ContainerCreateOptions, type Runtime } from '../lib/index.js';
import { BUSYBOX, mountsUnder, processesMentioning, temporaryRuntime } from './helpers.js';

async function expectSetupError(options: ContainerCreateOptions, expected: Partial<ContainerSetupError>, prepare?: (runtime: Runtime) => Promise<unknown>) {
  await using runtime = await temporaryRuntime();
  await prepare?.(runtime);
  const container = await runtime.containers.create(options);
  const error = await container.start().then(
    () => assert.fail('start() should have failed'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ContainerSetupError, `expected ContainerSetupError, got ${String(error)}`);
  for (const [key, value] of Object.entries(expected)) assert.equal(error[key as keyof ContainerSetupError], value, key);
  assert.equal(error.containerId, container.id);
  assert.ok(error.message.includes(error.step!), error.message);
  // nothing of the attempt is left: the container is still 'created' and removable
  assert.equal((await container.inspect()).state.status, 'created');
  assert.deepEqual(mountsUnder(runtime.root), []);
  assert.deepEqual(processesMentioning(runtime.root), []);
  await container.remove();
  return error;
}

test('a command that does not exist fails at step exec with ENOENT', async () => {
  const error = await expectSetupError({ image: BUSYBOX, cmd: ['no-such-command'] }, {
    step: 'exec', code: 'ENOENT', syscall: 'execve', path: 'no-such-command',
  });
  assert.match(error.message, /not in the image/);
});

test('a command that is not executable fails at step exec with EACCES', async () => {
  await expectSetupError({ image: BUSYBOX, cmd: ['/etc/passwd'] }, { step: 'exec', code: 'EACCES', path: '/etc/passwd' });
});

test('a working directory that is a file fails at step cwd', async () => {
  await expectSetupError({ image: BUSYBOX, cmd: ['true'], workdir: '/etc/passwd/sub' }, { step: 'cwd', code: 'ENOTDIR' });
});

test('an unknown user fails at step user', async () => {
  await expectSetupError({ image: BUSYBOX, cmd: ['true'], user: 'nosuchuser' }, { step: 'user', code: 'ENOENT', path: '/etc/passwd' });
  await expectSetupError({ image: BUSYBOX, cmd: ['true'], user: 'app:nosuchgroup' }, { step: 'user', code: 'ENOENT', path: '/etc/group' });
});

test('a rootfs that does not exist fails at step rootfs', async () => {
  await expectSetupError({ rootfs: '/nonexistent/berth-rootfs', cmd: ['true'] }, {
    step: 'rootfs', code: 'ENOENT', path: '/nonexistent/berth-rootfs',
  });
});

test('invalid options throw TypeError/RangeError before anything is created', async () => {
  await using runtime = await temporaryRuntime();
  const cases: [unknown, typeof TypeError | typeof RangeError, RegExp][] = [
    [{}, TypeError, /either 'image' or 'rootfs'/],
    [{ image: 5 }, TypeError, /image must be a string/],
    [{ image: BUSYBOX, rootfs: '/x' }, TypeError, /not both/],
    [{ rootfs: 'relative/dir' }, TypeError, /absolute/],
    [{ image: 'Bad Reference!' }, TypeError, /not a valid image reference/],
    [{ image: BUSYBOX, cmd: 'ls -l' }, TypeError, /cmd must be an array of strings/],
    [{ image: BUSYBOX, cmd: [1] }, TypeError, /cmd must be an array of strings/],
    [{ image: BUSYBOX, memroy: '64m' }, TypeError, /^create: unknown option 'memroy' \(did you mean 'memory'\?\)$/],
    [{ image: BUSYBOX, Env: ['A=1'] }, TypeError, /unknown option 'Env' \(did you mean 'env'\?\)/],
    [{ image: BUSYBOX, autoremove: true }, TypeError, /unknown option 'autoremove' \(did you mean 'autoRemove'\?\)/],
    [{ image: BUSYBOX, env: { A: 1 } }, TypeError, /env.A must be a string/],
    [{ image: BUSYBOX, env: ['NOEQUALS'] }, TypeError, /KEY=value/],
    [{ image: BUSYBOX, workdir: 'relative' }, TypeError, /workdir must be an absolute path/],
    [{ image: BUSYBOX, user: 'a b' }, TypeError, /user must look like/],
    [{ image: BUSYBOX, hostname: '-bad-' }, TypeError, /not a valid host name/],
    [{ image: BUSYBOX, name: 'no/slash' }, TypeError, /name 'no\/slash'/],
    [{ image: BUSYBOX, capAdd: ['CAP_NOPE'] }, TypeError, /unknown capability 'CAP_NOPE'/],
    [{ image: BUSYBOX, ulimits: { nofile: { soft: 10, hard: 5 } } }, RangeError, /soft limit 10 is above hard limit 5/],
    [{ image: BUSYBOX, ulimits: { files: { soft: 1, hard: 1 } } }, TypeError, /unknown resource 'files'/],
    [{ image: BUSYBOX, stopTimeout: -1 }, RangeError, /stopTimeout must not be negative/],
    [{ image: BUSYBOX, stopSignal: 'SIGNOPE' }, TypeError, /unknown signal/],
    [{ image: BUSYBOX, log: { maxSize: 'lots' } }, TypeError, /log.maxSize must be a size/],
    [{ image: BUSYBOX, log: { maxFiles: 1 } }, RangeError, /log.maxFiles/],
    [{ image: BUSYBOX, tty: 'yes' }, TypeError, /tty must be a boolean/],
    [{ image: BUSYBOX, ttySize: { rows: 0, cols: 80 } }, RangeError, /ttySize.rows/],
  ];
  for (const [options, type, message] of cases) {
    await assert.rejects(runtime.containers.create(options as ContainerCreateOptions), (error: unknown) => {
      assert.ok(error instanceof type, `${JSON.stringify(options)}: expected ${type.name}, got ${String(error)}`);
      assert.match((error as Error).message, message);
      return true;
    });
  }
  assert.deepEqual(readdirSync(join(runtime.root, 'containers')), []);
  assert.deepEqual(readdirSync(join(runtime.root, 'names')), []);
});

test('plain JavaScript: unknown options of Container.run are refused too, naming the closest known one; nothing is created', async () => {
  await using runtime = await temporaryRuntime();
  const run = Container.run as (image: string, cmd: string[], options: object) => Promise<unknown>;
  await assert.rejects(run(BUSYBOX, ['true'], { runtime, kep: true }), {
    name: 'TypeError', message: "Container.run: unknown option 'kep' (did you mean 'keep'?)",
  });
  await assert.rejects(run(BUSYBOX, ['true'], { runtime, pidLimit: 5 }), { message: /unknown option 'pidLimit' \(did you mean 'pidsLimit'\?\)/ });
  await assert.rejects(run(BUSYBOX, 'echo hi' as unknown as string[], { runtime }), { name: 'TypeError', message: /cmd must be an array of strings/ });
  assert.deepEqual(readdirSync(join(runtime.root, 'containers')), []);
});

test('a taken name is a ConflictError; an unknown one a NotFoundError; starting twice an InvalidStateError', async () => {
  await using runtime = await temporaryRuntime();
  const first = await runtime.containers.create({ image: BUSYBOX, cmd: ['sleep', '30'], name: 'only-one' });
  await assert.rejects(runtime.containers.create({ image: BUSYBOX, cmd: ['true'], name: 'only-one' }), {
    name: 'ConflictError', code: 'ERR_CONFLICT',
  });
  await assert.rejects(runtime.containers.get('nobody-here'), { name: 'NotFoundError', code: 'ERR_NOT_FOUND' });
  await assert.rejects(runtime.images.get('localhost/not-there'), { name: 'NotFoundError' });
  await first.start();
  await assert.rejects(first.start(), { name: 'InvalidStateError' });
  assert.equal((await runtime.containers.get(first.id.slice(0, 10))).name, 'only-one');
});

test('a mount that fails in the container while the monitor attaches its network is reported as the mount', async () => {
  // the child mounts while the monitor places it in its cgroups and attaches the
  // bridge network (sync 1): its error wins over what its death makes fail there
  const source = mkdtempSync(join(tmpdir(), 'berth-setup-'));
  try {
    const error = await expectSetupError({
      image: BUSYBOX, cmd: ['true'], network: 'setup-errors', mounts: [{ type: 'bind', source, target: '/etc/passwd' }],
    }, { step: 'mounts' }, (runtime) => runtime.networks.create({ name: 'setup-errors' }));
    assert.match(error.message, /\/etc\/passwd/);
  } finally {
    rmSync(source, { recursive: true, force: true });
  }
});
