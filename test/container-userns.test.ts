// userns: 'auto' and explicit maps, as root. Written as the attacker: the
// container's root tries to write host files through a deliberately writable
// bind mount; the second wall (an unprivileged host id) must hold.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, symlinkSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Container, UsernsError, Wait, type ContainerCreateOptions, type IdMapping, type Runtime } from '../lib/index.js';
import { BUSYBOX, collectAll, mountsUnder, temporaryRuntime, waitUntil, withDeadline } from './helpers.js';
import { makeTar, tarEntries } from './helpers-tar.js';
import { assertExit, cliRoot } from './cli-helpers.js';

const AUTO_SIZE = 65536;

async function run(runtime: Runtime, script: string, options: Omit<ContainerCreateOptions, 'image' | 'cmd'> = {}, image = BUSYBOX) {
  return Container.run(image, ['sh', '-c', script], { runtime, ...options });
}

/** The host id a container's root stands for, from inspect. */
async function mappedRoot(container: Container): Promise<number> {
  const { userns } = (await container.inspect()).config;
  assert.ok(userns, 'inspect shows the user namespace');
  return userns.uidMap.find((range) => range.containerId === 0)!.hostId;
}

/** An image whose layer has /data/app owned by 1000:1000 (made by a container without a user namespace, committed). */
async function imageWithOwnedFile(runtime: Runtime): Promise<string> {
  const maker = await runtime.containers.create({ image: BUSYBOX, cmd: ['sh', '-c', 'mkdir /data && echo app > /data/app && chown 1000:1000 /data/app && chmod 600 /data/app'] });
  await maker.start();
  assert.equal((await withDeadline(maker.wait(), 'the image maker')).exitCode, 0);
  await runtime.images.commit(maker, { ref: 'localhost/userns-owned:1' });
  await maker.remove();
  return 'localhost/userns-owned:1';
}

test("userns 'auto': root inside is an unprivileged host id; image files keep their owners; exec, logs, copy, stop", async () => {
  await using runtime = await temporaryRuntime();
  const image = await imageWithOwnedFile(runtime);
  await using container = await runtime.containers.create({
    image, userns: 'auto', cmd: ['sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map; id; stat -c "%u:%g %n" /data/app /etc/passwd /; cat /data/app; echo logged; trap "exit 3" TERM; sleep 600 & wait'],
  });
  const host = await mappedRoot(container);
  assert.ok(host >= AUTO_SIZE, `the container's root is host id ${host}, not a user's or root`);
  const { userns } = (await container.inspect()).config;
  assert.deepEqual(userns, { mode: 'auto', uidMap: [{ containerId: 0, hostId: host, size: AUTO_SIZE }], gidMap: userns!.gidMap, layers: 'idmapped' });
  await container.start();

  // exec joins the user namespace: root there, the same maps
  const inside = await container.exec(['sh', '-c', 'id -u; cat /proc/self/uid_map; touch /made-by-exec; stat -c %u /made-by-exec']);
  assert.equal(inside.exitCode, 0, inside.stderr);
  assert.deepEqual(inside.stdout.split('\n').map((line) => line.trim().split(/\s+/).join(' ')), ['0', `0 ${host} ${AUTO_SIZE}`, '0', '']);

  const lines = (await withDeadline(collectAll(container.logs({ follow: false }), 'the logs'), 'the logs')).map((entry) => entry.line);
  assert.deepEqual(lines.slice(0, 2).map((line) => line.trim().split(/\s+/).join(' ')), [`0 ${host} ${AUTO_SIZE}`, `0 ${userns!.gidMap[0]!.hostId} ${AUTO_SIZE}`]);
  assert.equal(lines[2], 'uid=0(root) gid=0(root) groups=0(root)');
  assert.deepEqual(lines.slice(3, 6), ['1000:1000 /data/app', '0:0 /etc/passwd', '0:0 /'], 'layer files keep their owners (idmapped)');
  assert.deepEqual(lines.slice(6, 8), ['app', 'logged'], 'root reads the 0600 file of uid 1000 (CAP_DAC_OVERRIDE in its namespace)');

  // the upper layer holds the container's writes as mapped host ids
  const upper = join((await container.inspect()).path, 'upper');
  assert.equal(statSync(join(upper, 'made-by-exec')).uid, host);

  // copy speaks the container's ids both ways
  await container.copyTo(makeTar([{ name: 'copied', content: 'in\n', mode: 0o644, uid: 1000, gid: 1000 }]), '/srv');
  assert.equal((await container.exec(['stat', '-c', '%u:%g', '/srv/copied'])).stdout, '1000:1000\n');
  assert.equal(statSync(join(upper, 'srv', 'copied')).uid, host + 1000);
  const copiedOut = await tarEntries(await container.copyFrom('/data/app'));
  assert.deepEqual(copiedOut.map((entry) => [entry.name, entry.uid, entry.gid]), [['app', 1000, 1000]]);
  const made = await tarEntries(await container.copyFrom('/made-by-exec'));
  assert.deepEqual(made.map((entry) => [entry.uid, entry.gid]), [[0, 0]]);

  const stopped = await withDeadline(container.stop({ timeout: 30 }), 'stop');
  assert.equal(stopped?.exitCode, 3, 'SIGTERM reached its trap');
  assert.deepEqual(mountsUnder(runtime.root), []);

  // a commit stores the container's ids, not the host's
  await runtime.images.commit(container, { ref: 'localhost/userns-commit:1' });
  const committed = await run(runtime, 'stat -c "%u:%g %n" /made-by-exec /srv/copied /data/app', {}, 'localhost/userns-commit:1');
  assert.equal(committed.stdout, '0:0 /made-by-exec\n1000:1000 /srv/copied\n1000:1000 /data/app\n');
});

test('the escape acceptance: through a writable bind mount, the container root writes only as its unprivileged host id', async () => {
  await using runtime = await temporaryRuntime();
  const dir = mkdtempSync(join(tmpdir(), 'berth-userns-bind-'));
  try {
    chmodSync(dir, 0o1777); // deliberately writable for everyone (sticky, as /tmp)
    writeFileSync(join(dir, 'victim'), 'host root owns this\n', { mode: 0o644 });
    writeFileSync(join(dir, 'secret'), 'host root only\n', { mode: 0o600 });
    const result = await run(runtime, [
      'echo created > /mnt/created',
      'echo pwned >> /mnt/victim 2>/dev/null || echo write-refused',
      'cat /mnt/secret 2>/dev/null || echo read-refused',
      'chmod 666 /mnt/victim 2>/dev/null || echo chmod-refused',
      'rm -f /mnt/victim 2>/dev/null; test -e /mnt/victim && echo rm-refused',
      'chown 0:0 /mnt/created && echo chown-own-file',
      'cp /bin/busybox /mnt/suid && chmod 4755 /mnt/suid',
      'stat -c %u /mnt/victim',
    ].join('; '), { userns: 'auto', mounts: [{ type: 'bind', source: dir, target: '/mnt' }] });
    assert.equal(result.stdout, 'write-refused\nread-refused\nchmod-refused\nrm-refused\nchown-own-file\n65534\n', result.stderr);
    const [range] = readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/);
    assert.equal(range, '0', 'this test runs as host root');
    const created = statSync(join(dir, 'created'));
    assert.ok(created.uid >= AUTO_SIZE && created.gid >= AUTO_SIZE, `created by the mapped id, not root: ${created.uid}:${created.gid}`);
    assert.equal(readFileSync(join(dir, 'victim'), 'utf8'), 'host root owns this\n');
    const suid = statSync(join(dir, 'suid'));
    assert.equal(suid.mode & 0o4000, 0o4000);
    assert.equal(suid.uid, created.uid, 'a setuid binary it makes is setuid to its own unprivileged id, never to host root');
    assert.equal(statSync(join(dir, 'victim')).mode & 0o7777, 0o644);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('named volumes are idmapped: files keep the ids the container sees, shared with a container without userns', async () => {
  await using runtime = await temporaryRuntime();
  const result = await run(runtime, 'echo data > /vol/by-root && echo app > /vol/by-app && chown 1000:1000 /vol/by-app && stat -c "%u %n" /vol/by-root /vol/by-app', {
    userns: 'auto', mounts: [{ type: 'volume', source: 'userns-data', target: '/vol' }],
  });
  assert.equal(result.exitCode, 0, result.stderr);
  assert.equal(result.stdout, '0 /vol/by-root\n1000 /vol/by-app\n');
  const data = (await runtime.volumes.get('userns-data')).mountpoint;
  assert.deepEqual([statSync(join(data, 'by-root')).uid, statSync(join(data, 'by-app')).uid], [0, 1000]);
  const plain = await run(runtime, 'stat -c "%u %n" /vol/by-root /vol/by-app', { mounts: [{ type: 'volume', source: 'userns-data', target: '/vol' }] });
  assert.equal(plain.stdout, '0 /vol/by-root\n1000 /vol/by-app\n');
  const readonly = await run(runtime, 'cat /vol/by-root; touch /vol/new 2>/dev/null || echo refused', {
    userns: 'auto', mounts: [{ type: 'volume', source: 'userns-data', target: '/vol', readonly: true }],
  });
  assert.equal(readonly.stdout, 'data\nrefused\n', readonly.stderr);
  await (await runtime.volumes.get('userns-data')).remove();
});

test('explicit maps; host network with a user namespace (the host /sys, read-only)', async () => {
  await using runtime = await temporaryRuntime();
  const uidMap: IdMapping[] = [{ containerId: 0, hostId: 300000, size: 1000 }, { containerId: 1000, hostId: 400000, size: 1 }];
  const gidMap: IdMapping[] = [{ containerId: 0, hostId: 500000, size: 65536 }];
  const result = await run(runtime, 'cat /proc/self/uid_map /proc/self/gid_map; id -u', { userns: { uidMap, gidMap } });
  assert.equal(result.exitCode, 0, result.stderr);
  assert.deepEqual(result.stdout.trim().split('\n').map((line) => line.trim().split(/\s+/).join(' ')), ['0 300000 1000', '1000 400000 1', '0 500000 65536', '0']);

  const host = await run(runtime, 'ls /sys/class/net | grep -qx lo && echo sys; touch /sys/x 2>/dev/null || echo sys-readonly; id -u', { userns: 'auto', network: 'host' });
  assert.equal(host.stdout, 'sys\nsys-readonly\n0\n', host.stderr);
});

test('bad maps are a typed error and leave nothing behind', async () => {
  await using runtime = await temporaryRuntime();
  const range = (containerId: number, hostId: number, size: number) => ({ containerId, hostId, size });
  const bad: [unknown, RegExp][] = [
    [{ uidMap: [range(0, 100000, 10), range(5, 200000, 10)], gidMap: [range(0, 100000, 10)] }, /overlap inside the container/],
    [{ uidMap: [range(0, 100000, 10), range(10, 100005, 10)], gidMap: [range(0, 100000, 10)] }, /overlap on the host/],
    [{ uidMap: [range(1, 100000, 10)], gidMap: [range(0, 100000, 10)] }, /must map container id 0/],
    [{ uidMap: [range(0, 100000, 0)], gidMap: [range(0, 100000, 10)] }, /size 0/],
    [{ uidMap: [range(0, 2 ** 32 - 2, 10)], gidMap: [range(0, 100000, 10)] }, /runs past the last id/],
    [{ uidMap: [], gidMap: [range(0, 100000, 10)] }, /empty/],
    [{ uidMap: [{ ...range(0, 100000, 10), hostID: 3 }], gidMap: [range(0, 100000, 10)] }, /unknown field 'hostID'/],
    [{ uidMap: [range(0, 100000, 10)] }, /gidMap must be an array/],
    ['private', /userns must be 'host', 'auto' or/],
  ];
  for (const [userns, message] of bad) {
    await assert.rejects(
      runtime.containers.create({ image: BUSYBOX, cmd: ['true'], userns: userns as ContainerCreateOptions['userns'] }),
      (error: unknown) => error instanceof UsernsError && error.code === 'ERR_USERNS' && message.test(error.message),
      `${JSON.stringify(userns)} is refused`,
    );
  }
  assert.deepEqual(await runtime.containers.list({ all: true }), []);
  assert.deepEqual(readdirSync(join(runtime.root, 'containers')), []);
});

test("two 'auto' containers get disjoint ranges; a removed container's range is free again", async () => {
  await using runtime = await temporaryRuntime();
  const create = () => runtime.containers.create({ image: BUSYBOX, cmd: ['true'], userns: 'auto' });
  const [a, b] = await Promise.all([create(), create()]);
  const [hostA, hostB] = [await mappedRoot(a!), await mappedRoot(b!)];
  assert.ok(Math.abs(hostA - hostB) >= AUTO_SIZE, `${hostA} and ${hostB} do not overlap`);
  await a!.remove();
  const c = await create();
  assert.equal(await mappedRoot(c), hostA, 'the first free block again');
  // both run at once, each as its own host id
  const outputs = await Promise.all([b!, c].map(async (container) => {
    const started = await runtime.containers.create({ image: BUSYBOX, cmd: ['cat', '/proc/self/uid_map'], userns: 'auto', attach: true });
    await started.start();
    const out = Buffer.concat(await collectAll(started.stdout, 'stdout')).toString();
    await withDeadline(started.wait(), 'exit');
    await started.remove();
    await container.remove();
    return out.trim().split(/\s+/)[1];
  }));
  assert.notEqual(outputs[0], outputs[1]);
});

test('a layer on a filesystem without idmapped mounts (ramfs): chown-ed copies instead, said by inspect', async (t) => {
  await using runtime = await temporaryRuntime();
  const dir = mkdtempSync(join(tmpdir(), 'berth-userns-ramfs-'));
  try {
    try {
      execFileSync('mount', ['-t', 'ramfs', 'berth-test', dir]);
    } catch {
      t.skip('cannot mount a ramfs here');
      return;
    }
    try {
      // a tiny rootfs: a static busybox and a file of uid 1000
      mkdirSync(join(dir, 'bin'));
      copyFileSync(execFileSync('sh', ['-c', 'command -v busybox']).toString().trim(), join(dir, 'bin', 'busybox'));
      chmodSync(join(dir, 'bin', 'busybox'), 0o755);
      for (const applet of ['sh', 'stat', 'id', 'touch']) symlinkSync('busybox', join(dir, 'bin', applet));
      writeFileSync(join(dir, 'owned'), 'app\n');
      chownSync(join(dir, 'owned'), 1000, 1000);
      chmodSync(dir, 0o755);
      await using container = await runtime.containers.create({
        rootfs: dir, cmd: ['/bin/sh', '-c', 'stat -c "%u:%g %n" /owned /bin/busybox; id -u; touch /new && stat -c %u /new'], userns: 'auto', attach: true,
      });
      for (let run = 0; run < 2; run++) { // the second start reuses the copies
        await container.start();
        const out = Buffer.concat(await collectAll(container.stdout, 'stdout')).toString();
        assert.equal((await withDeadline(container.wait(), 'exit')).exitCode, 0);
        assert.equal(out, '1000:1000 /owned\n0:0 /bin/busybox\n0\n0\n');
      }
      assert.equal((await container.inspect()).config.userns?.layers, 'chowned');
      assert.equal(statSync(join(dir, 'owned')).uid, 1000, 'the layer itself is untouched');
    } finally {
      execFileSync('umount', [dir]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('in a user namespace: a tty, a healthcheck, a non-root user, container: networking, a restart', async () => {
  await using runtime = await temporaryRuntime();
  await using server = await runtime.containers.create({
    image: BUSYBOX, userns: 'auto', user: '1000', tty: true, restart: 'on-failure:1',
    cmd: ['sh', '-c', 'tty; id -u; test -f /tmp/restarted || { touch /tmp/restarted; exit 1; }; echo restarted; exec sleep 600'],
    healthcheck: { test: ['CMD-SHELL', 'echo "uid=$(id -u) $(cat /proc/self/uid_map)"'], interval: 100, startInterval: 20, retries: 2 },
  });
  await server.start({ waitFor: Wait.forHealthy() });
  const health = (await server.inspect()).state.health!;
  const host = await mappedRoot(server);
  assert.equal(health.log.at(-1)!.output.trim().split(/\s+/).join(' '), `uid=1000 0 ${host} ${AUTO_SIZE}`, 'the healthcheck ran in the user namespace');
  await waitUntil(async () => (await server.inspect()).state.restartCount === 1, 'the restart');
  await waitUntil(async () => (await collectAll(server.logs(), 'logs')).some((entry) => entry.line.includes('restarted')), 'the restarted run');
  const lines = (await collectAll(server.logs(), 'logs')).map((entry) => entry.line.trim());
  assert.deepEqual(lines.slice(0, 2), ['/dev/pts/0', '1000']);

  const withTty = await server.exec(['sh', '-c', 'tty; id'], { tty: true });
  assert.match(withTty.stdout, /^\/dev\/pts\/\d+\r\nuid=1000\(app\) gid=1000\(app\)/);

  // another container, in a user namespace of its own, in the server's network namespace
  const neighbour = await run(runtime, 'cat /proc/self/uid_map; ls /sys/class/net', { userns: 'auto', network: `container:${server.id}` });
  assert.equal(neighbour.exitCode, 0, neighbour.stderr);
  const [range, ...interfaces] = neighbour.stdout.trim().split('\n');
  assert.notEqual(range!.trim().split(/\s+/)[1], String(host));
  assert.deepEqual(interfaces, ['lo']);
  await server.stop({ timeout: 1 });
});

test('in a user namespace: published ports, a bridge network with DNS, and the other create options', async () => {
  await using runtime = await temporaryRuntime();
  await runtime.networks.create({ name: 'userns-net' });
  await using server = await runtime.containers.create({
    image: BUSYBOX, userns: 'auto', ports: { '80/tcp': 0 }, network: 'userns-net', name: 'userns-server',
    cmd: ['sh', '-c', 'while true; do nc -l -p 80 -e cat; done'],
  });
  await server.start();
  const port = await server.port('80/tcp');
  const reply = await withDeadline(new Promise<string>((resolve, reject) => {
    const socket = connect(port!, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.on('end', () => resolve(received));
    socket.on('error', reject);
    socket.end('through the port\n');
  }), 'the echo');
  assert.equal(reply, 'through the port\n');
  const client = await run(runtime, 'echo by-name | nc -w 5 userns-server 80', { userns: 'auto', network: 'userns-net' });
  assert.equal(client.stdout, 'by-name\n', client.stderr);

  const options = await run(runtime, [
    'ulimit -n', 'touch /ro 2>/dev/null || echo readonly-root', 'echo t > /scratch/t && cat /scratch/t', 'cat /proc/1/comm',
    'ls -d /dev/mqueue /dev/shm', 'cat /proc/self/cgroup',
  ].join('; '), {
    userns: 'auto', ulimits: { nofile: { soft: 100, hard: 200 } }, readonlyRootfs: true, init: true,
    mounts: [{ type: 'tmpfs', target: '/scratch' }],
  });
  const lines = options.stdout.trim().split('\n');
  assert.deepEqual(lines.slice(0, 6), ['100', 'readonly-root', 't', 'docker-init', '/dev/mqueue', '/dev/shm'], options.stderr);
  assert.ok(lines.slice(6).every((line) => line.endsWith(':/')), `a cgroup namespace rooted at its cgroup: ${lines.slice(6).join(' ')}`);

  const privileged = await run(runtime, 'test -c /dev/null && echo > /dev/null && ls /dev | wc -l; id -u', { userns: 'auto', privileged: true });
  assert.equal(privileged.exitCode, 0, privileged.stderr);
  assert.ok(Number(privileged.stdout.split('\n')[0]) > 15, `the host's device nodes, bind-mounted: ${privileged.stdout}`);

  // raising a hard limit needs privilege the container's root does not have on the host: a clear step error
  const raised = await runtime.containers.create({ image: BUSYBOX, cmd: ['true'], userns: 'auto', ulimits: { nofile: { soft: 1 << 24, hard: 1 << 24 } } });
  await assert.rejects(raised.start(), /step 'rlimits': setrlimit: EPERM/);
  await raised.remove();
  await server.stop({ timeout: 1 });
});

test('snapshots of a container in a user namespace keep the ids it wrote', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({
    image: BUSYBOX, userns: 'auto', cmd: ['sh', '-c', 'test -f /seeded || { echo seed > /seeded; chown 1000 /seeded; }; echo after > /after; trap "exit 0" TERM; sleep 600 & wait'],
  });
  await container.start();
  const seeded = await container.snapshot();
  const owners = await container.exec(['stat', '-c', '%u %n', '/seeded', '/after', '/etc/passwd']);
  assert.equal(owners.stdout, '1000 /seeded\n0 /after\n0 /etc/passwd\n', 'the snapshot layer is not idmapped a second time');
  await container.exec(['rm', '/seeded']);
  await container.reset(seeded);
  assert.equal((await container.exec(['stat', '-c', '%u %n', '/seeded'])).stdout, '1000 /seeded\n');
  await container.stop({ timeout: 1 });
});

test("'auto' takes the ranges of user containers in /etc/subuid and /etc/subgid; when all are taken, a typed error", async () => {
  await using runtime = await temporaryRuntime();
  // this test runs in a mount namespace of its own (test/run.mjs): the host's files are not touched
  const dir = mkdtempSync(join(tmpdir(), 'berth-userns-subid-'));
  const files = { subuid: join(dir, 'subuid'), subgid: join(dir, 'subgid') };
  writeFileSync(files.subuid, 'someone:100000:65536\ncontainers:300000:131072\n');
  writeFileSync(files.subgid, 'containers:500000:65536\n');
  execFileSync('mount', ['--bind', files.subuid, '/etc/subuid']);
  execFileSync('mount', ['--bind', files.subgid, '/etc/subgid']);
  try {
    const first = await runtime.containers.create({ image: BUSYBOX, cmd: ['cat', '/proc/self/uid_map', '/proc/self/gid_map'], userns: 'auto', attach: true });
    assert.deepEqual((await first.inspect()).config.userns?.gidMap, [{ containerId: 0, hostId: 500000, size: AUTO_SIZE }]);
    await first.start();
    const out = Buffer.concat(await collectAll(first.stdout, 'stdout')).toString();
    assert.deepEqual(out.trim().split('\n').map((line) => line.trim().split(/\s+/).join(' ')), [`0 300000 ${AUTO_SIZE}`, `0 500000 ${AUTO_SIZE}`]);
    // the gid ranges hold one block: the second container has no gids left
    await assert.rejects(
      runtime.containers.create({ image: BUSYBOX, cmd: ['true'], userns: 'auto' }),
      (error: unknown) => error instanceof UsernsError && /every block of 65536 ids in the ranges of user 'containers' in \/etc\/subgid is taken/.test(error.message),
    );
    assert.equal((await runtime.containers.list({ all: true })).length, 1, 'nothing was left by the refused one');
    await withDeadline(first.wait(), 'the first container to exit');
    await first.remove();
    const again = await runtime.containers.create({ image: BUSYBOX, cmd: ['true'], userns: 'auto' });
    assert.equal(await mappedRoot(again), 300000, 'removing a container frees its range');
  } finally {
    execFileSync('umount', ['/etc/subuid']);
    execFileSync('umount', ['/etc/subgid']);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the command line: --userns auto, --uidmap/--gidmap, and their mistakes (125)', async () => {
  await using root = cliRoot();
  const auto = root.berth(['run', '--rm', '--userns', 'auto', BUSYBOX, 'sh', '-c', 'id -u; cat /proc/self/uid_map']);
  assertExit(auto, 0);
  const [uid, map] = auto.stdout.trim().split('\n');
  assert.equal(uid, '0');
  assert.ok(Number(map!.trim().split(/\s+/)[1]) >= AUTO_SIZE);
  const explicit = root.berth(['run', '--rm', '--uidmap', '0:310000:65536', BUSYBOX, 'cat', '/proc/self/uid_map', '/proc/self/gid_map']);
  assertExit(explicit, 0);
  assert.deepEqual(explicit.stdout.trim().split('\n').map((line) => line.trim().split(/\s+/).join(' ')), ['0 310000 65536', '0 310000 65536']);
  for (const [args, message] of [
    [['--userns', 'private'], /expected host or auto/],
    [['--uidmap', '0:1'], /expected container:host:size/],
    [['--userns', 'auto', '--uidmap', '0:310000:1'], /cannot be combined/],
  ] as const) {
    const bad = root.berth(['run', '--rm', ...args, BUSYBOX, 'true']);
    assertExit(bad, 125, args.join(' '));
    assert.match(bad.stderr, message);
  }
});
