import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Container, ContainerSetupError, NotFoundError, type ContainerCreateOptions, type Runtime } from '../lib/index.js';
import { BUSYBOX, mountsUnder, temporaryRuntime, withDeadline, collectAll } from './helpers.js';

/** A temporary host directory, removed on dispose. */
function hostDir(prefix: string): { path: string } & Disposable {
  const path = mkdtempSync(join(tmpdir(), `berth-${prefix}-`));
  return { path, [Symbol.dispose]: () => rmSync(path, { recursive: true, force: true }) };
}

const mountTable = () => readFileSync('/proc/self/mountinfo', 'utf8');

async function run(runtime: Runtime, script: string, options: Omit<ContainerCreateOptions, 'image' | 'cmd'>) {
  return Container.run(BUSYBOX, ['sh', '-c', script], { runtime, ...options });
}

/** Runs `script` in a container made from the directory `rootfs`; its exit code and output. */
async function runInRootfs(runtime: Runtime, rootfs: string, script: string, mounts: ContainerCreateOptions['mounts']) {
  await using container = await runtime.containers.create({ rootfs, cmd: ['/bin/sh', '-c', script], attach: true, mounts });
  await container.start();
  const collect = async (stream: AsyncIterable<Buffer> | null, what: string) => Buffer.concat(await collectAll(stream, what)).toString();
  const [stdout, stderr] = await Promise.all([collect(container.stdout, 'stdout to end'), collect(container.stderr, 'stderr to end')]);
  return { ...(await withDeadline(container.wait(), 'the container to exit')), stdout, stderr };
}

async function startFails(runtime: Runtime, options: ContainerCreateOptions): Promise<ContainerSetupError> {
  const container = await runtime.containers.create(options);
  const error = await container.start().then(() => assert.fail('start() should have failed'), (e: unknown) => e);
  assert.ok(error instanceof ContainerSetupError, String(error));
  assert.equal((await container.inspect()).state.status, 'created');
  await container.remove({ volumes: true });
  return error;
}

test('bind mounts: read-write, read-only (sub-mounts included), and a single file', async () => {
  await using runtime = await temporaryRuntime();
  using dir = hostDir('bind');
  using file = hostDir('file');
  writeFileSync(join(dir.path, 'from-host'), 'host\n');
  writeFileSync(join(file.path, 'config'), 'setting=1\n');
  mkdirSync(join(dir.path, 'sub'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'berth-test', join(dir.path, 'sub')]);
  try {
    const rw = await run(runtime, 'cat /mnt/from-host && echo back > /mnt/from-container && echo sub > /mnt/sub/x', {
      mounts: [{ type: 'bind', source: dir.path, target: '/mnt' }],
    });
    assert.equal(rw.stdout, 'host\n', rw.stderr);
    assert.equal(readFileSync(join(dir.path, 'from-container'), 'utf8'), 'back\n');
    assert.equal(readFileSync(join(dir.path, 'sub', 'x'), 'utf8'), 'sub\n'); // the sub-mount came along (rbind)

    const ro = await run(runtime, 'cat /mnt/sub/x; touch /mnt/new || echo refused; touch /mnt/sub/new || echo refused below', {
      mounts: [{ type: 'bind', source: dir.path, target: '/mnt', readonly: true }],
    });
    assert.equal(ro.stdout, 'sub\nrefused\nrefused below\n');
    assert.match(ro.stderr, /Read-only file system/);
    assert.deepEqual(readdirSync(dir.path).sort(), ['from-container', 'from-host', 'sub']);

    // a file onto a file, created in the container when missing
    const single = await run(runtime, 'cat /etc/app/config; echo changed > /etc/app/config || echo refused', {
      mounts: [{ type: 'bind', source: join(file.path, 'config'), target: '/etc/app/config', readonly: true }],
    });
    assert.equal(single.stdout, 'setting=1\nrefused\n');
    assert.equal(readFileSync(join(file.path, 'config'), 'utf8'), 'setting=1\n');
  } finally {
    execFileSync('umount', [join(dir.path, 'sub')]);
  }
  assert.deepEqual(mountsUnder(runtime.root), []);
});

test('tmpfs mounts: size, mode, nosuid/nodev/noexec; volumes stay writable under readonlyRootfs', async () => {
  await using runtime = await temporaryRuntime();
  const result = await run(runtime, [
    'grep " /scratch " /proc/mounts',
    'df -k /scratch | tail -1 | awk "{print \\$2}"',
    'stat -c %a /scratch /private',
    'dd if=/dev/zero of=/scratch/big bs=1k count=3000 2>/dev/null || echo full',
    'touch /data/ok && echo volume-writable; touch /rootfile || echo root-readonly',
  ].join('; '), {
    readonlyRootfs: true,
    mounts: [
      { type: 'tmpfs', target: '/scratch', size: '2m' },
      { type: 'tmpfs', target: '/private', mode: 0o700 },
      { type: 'volume', target: '/data' },
    ],
  });
  const [line, total, modes, modes2, ...rest] = result.stdout.trim().split('\n');
  assert.match(line!, /^tmpfs \/scratch tmpfs rw,nosuid,nodev,noexec,relatime,size=2048k /);
  assert.equal(total, '2048');
  assert.deepEqual([modes, modes2], ['1777', '700']);
  assert.deepEqual(rest, ['full', 'volume-writable', 'root-readonly']);
});

test('mount targets are resolved inside the rootfs: image symlinks never lead a mount to the host', async () => {
  await using runtime = await temporaryRuntime();
  const layer = (await runtime.images.get(BUSYBOX)).layerPaths[0]!;
  using rootfs = hostDir('rootfs');
  using host = hostDir('host');
  execFileSync('cp', ['-a', `${layer}/.`, rootfs.path]);
  writeFileSync(join(host.path, 'marker'), 'host data\n');
  const fresh = `berth-escape-${randomBytes(4).toString('hex')}`;
  // the malicious image: links to its root, above its root, and to a host path
  symlinkSync('/', join(rootfs.path, 'to-root'));
  symlinkSync('../../..', join(rootfs.path, 'up'));
  symlinkSync(host.path, join(rootfs.path, 'to-host'));
  mkdirSync(join(rootfs.path, 'deep'));
  symlinkSync(`../../../../../../..${host.path}/marker`, join(rootfs.path, 'deep', 'file'));
  const volume = await runtime.volumes.create({ name: 'payload' });
  writeFileSync(join(volume.mountpoint, 'in-volume'), 'volume data\n');
  const before = mountTable();
  const payload = (target: string) => [{ type: 'volume' as const, source: 'payload', target }];

  // onto the container's own root: refused at step mounts, nothing mounted anywhere
  for (const target of ['/to-root', '/up']) {
    const error = await startFails(runtime, { rootfs: rootfs.path, cmd: ['/bin/true'], mounts: payload(target) });
    assert.equal(error.step, 'mounts');
    assert.equal(error.code, 'EBUSY');
    assert.equal(error.path, target);
  }

  // below them: the mount lands inside the rootfs (the missing directory is made in the container's upper dir)
  const below = await runInRootfs(runtime, rootfs.path, `ls /${fresh}; echo new > /up/${fresh}/written`, payload(`/up/${fresh}`));
  assert.deepEqual([below.exitCode, below.stdout], [0, 'in-volume\n'], below.stderr);
  assert.equal(readFileSync(join(volume.mountpoint, 'written'), 'utf8'), 'new\n');
  assert.ok(!existsSync(`/${fresh}`), 'nothing was made at the host root');
  assert.ok(!existsSync(join(rootfs.path, fresh)), 'nor in the image directory');

  // an absolute link to a host path: followed inside the rootfs, the host directory is untouched
  const toHost = await runInRootfs(runtime, rootfs.path, 'ls /to-host; echo x > /to-host/from-container; ls /deep', [
    ...payload('/to-host'), { type: 'tmpfs', target: '/deep/tmp-here' },
  ]);
  assert.equal(toHost.stdout, 'in-volume\nwritten\nfile\ntmp-here\n', toHost.stderr);
  assert.deepEqual(readdirSync(host.path), ['marker']);
  assert.equal(readFileSync(join(host.path, 'marker'), 'utf8'), 'host data\n');
  assert.ok(existsSync(join(volume.mountpoint, 'from-container')));

  // a file bind mount through a link to a host file: the file is made inside the rootfs
  using source = hostDir('source');
  writeFileSync(join(source.path, 'f'), 'mounted\n');
  const fileLink = await runInRootfs(runtime, rootfs.path, 'cat /deep/file', [{ type: 'bind', source: join(source.path, 'f'), target: '/deep/file' }]);
  assert.equal(fileLink.stdout, 'mounted\n', fileLink.stderr);
  assert.equal(readFileSync(join(host.path, 'marker'), 'utf8'), 'host data\n');

  assert.equal(mountTable(), before, 'no mount appeared in the host mount namespace');
  assert.deepEqual(mountsUnder(runtime.root), []);
});

test('a mount that cannot be made fails start at step mounts, naming the target', async () => {
  await using runtime = await temporaryRuntime();
  using dir = hostDir('gone');
  const dirOntoFile = await startFails(runtime, { image: BUSYBOX, cmd: ['true'], mounts: [{ type: 'volume', target: '/etc/passwd' }] });
  assert.deepEqual([dirOntoFile.step, dirOntoFile.code, dirOntoFile.path], ['mounts', 'ENOTDIR', '/etc/passwd']);
  assert.match(dirOntoFile.message, /mounts/);

  writeFileSync(join(dir.path, 'file'), '');
  const fileOntoDir = await startFails(runtime, { image: BUSYBOX, cmd: ['true'], mounts: [{ type: 'bind', source: join(dir.path, 'file'), target: '/etc' }] });
  assert.deepEqual([fileOntoDir.step, fileOntoDir.code, fileOntoDir.path], ['mounts', 'EISDIR', '/etc']);

  // a bind source that is gone by the time the container starts
  mkdirSync(join(dir.path, 'src'));
  const container = await runtime.containers.create({ image: BUSYBOX, cmd: ['true'], mounts: [{ type: 'bind', source: join(dir.path, 'src'), target: '/src' }] });
  rmSync(join(dir.path, 'src'), { recursive: true });
  const error = await container.start().then(() => assert.fail('start() should have failed'), (e: unknown) => e);
  assert.ok(error instanceof ContainerSetupError);
  assert.deepEqual([error.step, error.syscall, error.code, error.path], ['mounts', 'stat', 'ENOENT', join(dir.path, 'src')]);
});

test('bind propagation: rslave sees mounts made on the host afterwards, rprivate does not', async () => {
  await using runtime = await temporaryRuntime();
  using dir = hostDir('propagation');
  mkdirSync(join(dir.path, 'late'));
  execFileSync('mount', ['--bind', dir.path, dir.path]);
  execFileSync('mount', ['--make-shared', dir.path]);
  try {
    const start = async (propagation: 'rslave' | 'rprivate') => {
      const container = await runtime.containers.create({
        image: BUSYBOX, cmd: ['sleep', '60'], mounts: [{ type: 'bind', source: dir.path, target: '/shared', propagation }],
      });
      await container.start();
      return container;
    };
    await using slave = await start('rslave');
    await using isolated = await start('rprivate');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'berth-late', join(dir.path, 'late')]);
    writeFileSync(join(dir.path, 'late', 'arrived'), '');
    assert.equal((await slave.exec(['ls', '/shared/late'])).stdout, 'arrived\n');
    assert.equal((await isolated.exec(['ls', '/shared/late'])).stdout, '');
    execFileSync('umount', [join(dir.path, 'late')]);
  } finally {
    execFileSync('umount', ['-l', dir.path]);
  }
});

test('mount options are checked before anything is made', async () => {
  await using runtime = await temporaryRuntime();
  using dir = hostDir('opts');
  const cases: [unknown, typeof TypeError | typeof RangeError | typeof NotFoundError, RegExp][] = [
    [{ mounts: 'x' }, TypeError, /mounts must be an array/],
    [{ mounts: [{ type: 'nfs', target: '/x' }] }, TypeError, /type must be 'volume', 'bind' or 'tmpfs'/],
    [{ mounts: [{ type: 'bind', source: dir.path, target: '/x', readOnly: true }] }, TypeError, /'readOnly' is not an option of a bind mount/],
    [{ mounts: [{ type: 'volume', target: 'relative' }] }, TypeError, /target must be an absolute path/],
    [{ mounts: [{ type: 'volume', target: '/' }] }, TypeError, /cannot replace the container's root/],
    [{ mounts: [{ type: 'tmpfs', target: '/proc/sys' }] }, TypeError, /below \/proc/],
    [{ mounts: [{ type: 'tmpfs', target: '/data' }, { type: 'volume', target: '/data/' }] }, TypeError, /target of another mount/],
    [{ mounts: [{ type: 'volume', source: '../etc', target: '/x' }] }, TypeError, /volume name/],
    [{ mounts: [{ type: 'bind', source: 'relative', target: '/x' }] }, TypeError, /source must be an absolute path/],
    [{ mounts: [{ type: 'bind', source: join(dir.path, 'missing'), target: '/x' }] }, NotFoundError, /does not exist/],
    [{ mounts: [{ type: 'bind', source: dir.path, target: '/x', propagation: 'public' }] }, TypeError, /propagation must be one of/],
    [{ mounts: [{ type: 'tmpfs', target: '/x', size: 'lots' }] }, TypeError, /size must be a size/],
    [{ mounts: [{ type: 'tmpfs', target: '/x', size: 0 }] }, RangeError, /more than 0/],
    [{ mounts: [{ type: 'tmpfs', target: '/x', mode: 0o10000 }] }, RangeError, /mode must be between/],
    [{ mounts: [{ type: 'tmpfs', target: '/x', mode: '755' }] }, TypeError, /mode must be an integer/],
    [{ mounts: [{ type: 'volume', target: '/x', readonly: 'yes' }] }, TypeError, /readonly must be a boolean/],
    [{ volumesFrom: 'other' }, TypeError, /volumesFrom must be an array/],
  ];
  for (const [options, type, message] of cases) {
    await assert.rejects(runtime.containers.create({ image: BUSYBOX, cmd: ['true'], ...(options as object) }), (error: unknown) => {
      assert.ok(error instanceof type, `${JSON.stringify(options)}: ${String(error)}`);
      assert.match((error as Error).message, message);
      return true;
    });
  }
  assert.deepEqual(await runtime.containers.list({ all: true }), []);
  assert.deepEqual(await runtime.volumes.list(), []);
});

test('the user is looked up in what the mounts put at /etc: a host file over /etc/passwd, a directory over /etc, a tmpfs', async () => {
  await using runtime = await temporaryRuntime();
  using file = hostDir('passwd');
  using etc = hostDir('etc');
  writeFileSync(join(file.path, 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nalice:x:1234:2345:Alice:/home/alice:/bin/sh\n');
  writeFileSync(join(file.path, 'group'), 'root:x:0:\nteam:x:3456:alice\n');
  // an /etc/passwd given with -v, read-only, and a group file the same way
  const fileMounted = await run(runtime, 'id -u; id -g; id -G; echo $HOME', {
    user: 'alice',
    mounts: [
      { type: 'bind', source: join(file.path, 'passwd'), target: '/etc/passwd', readonly: true },
      { type: 'bind', source: join(file.path, 'group'), target: '/etc/group', readonly: true },
    ],
  });
  assert.equal(fileMounted.exitCode, 0, fileMounted.stderr);
  assert.equal(fileMounted.stdout, '1234\n2345\n2345 3456\n/home/alice\n');
  // a user:group pair where only the passwd is mounted: the group comes from the image
  const imageGroup = await run(runtime, 'id -u; id -g', {
    user: 'alice:daemon', mounts: [{ type: 'bind', source: join(file.path, 'passwd'), target: '/etc/passwd', readonly: true }],
  });
  assert.equal(imageGroup.stdout, '1234\n1\n', imageGroup.stderr);

  // a whole directory over /etc, its passwd a symlink to the host's: it resolves inside that directory, where it is missing
  writeFileSync(join(etc.path, 'passwd'), 'bob:x:4321:4321::/home/bob:/bin/sh\n');
  const dirMounted = await run(runtime, 'id -u; id -g', { user: 'bob', mounts: [{ type: 'bind', source: etc.path, target: '/etc', readonly: true }] });
  assert.equal(dirMounted.stdout, '4321\n4321\n', dirMounted.stderr);
  rmSync(join(etc.path, 'passwd'));
  symlinkSync('/etc/passwd', join(etc.path, 'passwd'));
  await assert.rejects(run(runtime, 'id -u', { user: 'root', mounts: [{ type: 'bind', source: etc.path, target: '/etc' }] }), {
    name: 'ContainerSetupError', step: 'user', message: /unable to find user root/,
  });
  // a tmpfs over /etc has no users: numeric ones only
  await assert.rejects(run(runtime, 'id -u', { user: 'daemon', mounts: [{ type: 'tmpfs', target: '/etc' }] }), { name: 'ContainerSetupError', step: 'user' });
  const numeric = await run(runtime, 'id -u', { user: '4242', mounts: [{ type: 'tmpfs', target: '/etc' }] });
  assert.equal(numeric.stdout, '4242\n');

  // a new named volume over /etc is filled from the image first, so the image's users are there
  const etcVolume = [{ type: 'volume' as const, source: 'etc-vol', target: '/etc' }];
  const fromVolume = await run(runtime, 'id -u; id -g', { user: 'daemon', mounts: etcVolume });
  assert.equal(fromVolume.stdout, '1\n1\n', fromVolume.stderr);
  // a container that makes the volume's passwd a FIFO: the next start fails at step user, and never blocks on it
  assert.equal((await run(runtime, 'rm /etc/passwd && mkfifo /etc/passwd', { mounts: etcVolume })).exitCode, 0);
  await assert.rejects(withDeadline(run(runtime, 'id -u', { user: 'daemon', mounts: etcVolume }), 'a start over a FIFO /etc/passwd to fail'), {
    name: 'ContainerSetupError', step: 'user', message: /not a regular file/,
  });
});
