import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Container, NotFoundError, type ContainerMount, type Image, type Runtime } from '../lib/index.js';
import { BUSYBOX, mountsUnder, temporaryRuntime, withDeadline, collectAll } from './helpers.js';

/** An image made by running `script` in a container of `base` and committing it. */
async function imageFrom(runtime: Runtime, base: string | Image, script: string, changes?: string[]): Promise<Image> {
  const container = await runtime.containers.create({ image: base, cmd: ['sh', '-c', script], attach: true });
  await container.start();
  const stderr: Buffer[] = [];
  container.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
  assert.equal((await withDeadline(container.wait(), 'the container to exit')).exitCode, 0, Buffer.concat(stderr).toString());
  const image = await runtime.images.commit(container, { changes });
  await container.remove();
  return image;
}

const volumeOf = (mount: ContainerMount | undefined) => {
  assert.equal(mount?.type, 'volume');
  return mount as Extract<ContainerMount, { type: 'volume' }>;
};

test('a volume written by one container is read by the next, and outlives both', async () => {
  await using runtime = await temporaryRuntime();
  const mounts = [{ type: 'volume' as const, source: 'notes', target: '/notes' }];
  const first = await Container.run(BUSYBOX, ['sh', '-c', 'echo first > /notes/a'], { runtime, mounts });
  assert.equal(first.exitCode, 0, first.stderr);
  const second = await Container.run(BUSYBOX, ['sh', '-c', 'cat /notes/a && echo second >> /notes/a'], { runtime, mounts });
  assert.equal(second.stdout, 'first\n');
  // both containers are gone (Container.run removes them), the volume is not
  assert.deepEqual(await runtime.containers.list({ all: true }), []);
  const volume = await runtime.volumes.get('notes');
  assert.equal(readFileSync(join(volume.mountpoint, 'a'), 'utf8'), 'first\nsecond\n');
  assert.equal((await volume.inspect()).initialized, true);

  const readonly = await Container.run(BUSYBOX, ['sh', '-c', 'cat /notes/a; echo x > /notes/b'], {
    runtime, mounts: [{ ...mounts[0]!, readonly: true }],
  });
  assert.equal(readonly.stdout, 'first\nsecond\n');
  assert.match(readonly.stderr, /Read-only file system/);
  assert.notEqual(readonly.exitCode, 0);
  // the volume was writable from the host all along, and the container's mounts never reached the host
  assert.deepEqual(readdirSync(volume.mountpoint), ['a']);
  assert.deepEqual(mountsUnder(runtime.root), []);
});

test('a named volume mounted where the image has files starts with those files', async () => {
  await using runtime = await temporaryRuntime();
  const base = await imageFrom(runtime, BUSYBOX, [
    'mkdir -p /srv/seed/sub',
    'echo hi > /srv/seed/a && chown 1000:1000 /srv/seed/a && chmod 640 /srv/seed/a',
    'ln -s a /srv/seed/link && ln /srv/seed/a /srv/seed/hard && mkfifo /srv/seed/fifo && touch /srv/seed/empty',
    'echo deep > /srv/seed/sub/b && echo gone > /srv/seed/gone',
    'chown 1000:100 /srv/seed && chmod 750 /srv/seed && ln -s /srv/seed /srv/alias',
  ].join(' && '));
  // a second layer: a whiteout of `gone`, a new file in `sub`
  const image = await imageFrom(runtime, base, 'rm /srv/seed/gone && echo top > /srv/seed/sub/c');

  const run = await Container.run(image.id, ['sh', '-c', 'cat /srv/seed/a /srv/seed/sub/b /srv/seed/sub/c && ls /srv/seed'], {
    runtime, mounts: [{ type: 'volume', source: 'seeded', target: '/srv/seed' }],
  });
  assert.equal(run.stdout, 'hi\ndeep\ntop\na\nempty\nfifo\nhard\nlink\nsub\n', run.stderr);
  const data = (await runtime.volumes.get('seeded')).mountpoint;
  const stat = (name: string) => lstatSync(join(data, name));
  assert.deepEqual([stat('').uid, stat('').gid, stat('').mode & 0o7777], [1000, 100, 0o750]); // the directory's owner and mode too
  assert.deepEqual([stat('a').uid, stat('a').gid, stat('a').mode & 0o7777], [1000, 1000, 0o640]);
  assert.equal(readlinkSync(join(data, 'link')), 'a');
  assert.equal(stat('hard').ino, stat('a').ino);
  assert.ok(stat('fifo').isFIFO());
  assert.deepEqual(readdirSync(join(data, 'sub')).sort(), ['b', 'c']);

  // through a symlink in the image: the same content
  const alias = await Container.run(image.id, ['ls', '/srv/alias/'], { runtime, mounts: [{ type: 'volume', source: 'aliased', target: '/srv/alias' }] });
  assert.equal(alias.stdout, 'a\nempty\nfifo\nhard\nlink\nsub\n', alias.stderr);
  // and the mount went where the symlink points, inside the container
  const where = await Container.run(image.id, ['sh', '-c', 'touch /srv/alias/new && ls /srv/seed/new'], {
    runtime, mounts: [{ type: 'volume', source: 'aliased', target: '/srv/alias' }],
  });
  assert.equal(where.stdout, '/srv/seed/new\n', where.stderr);

  // noCopy: starts empty
  await Container.run(image.id, ['true'], { runtime, mounts: [{ type: 'volume', source: 'bare', target: '/srv/seed', noCopy: true }] });
  assert.deepEqual(readdirSync((await runtime.volumes.get('bare')).mountpoint), []);

  // only the first mount fills a volume: emptied later, it stays empty
  const seeded = await runtime.volumes.get('seeded');
  for (const entry of readdirSync(seeded.mountpoint)) rmSync(join(seeded.mountpoint, entry), { recursive: true });
  const refill = await Container.run(image.id, ['ls', '/srv/seed'], { runtime, mounts: [{ type: 'volume', source: 'seeded', target: '/srv/seed' }] });
  assert.equal(refill.stdout, '');
  // nor does a volume that had files already
  await runtime.volumes.create({ name: 'prefilled' });
  writeFileSync(join((await runtime.volumes.get('prefilled')).mountpoint, 'mine'), '');
  const prefilled = await Container.run(image.id, ['ls', '/srv/seed'], { runtime, mounts: [{ type: 'volume', source: 'prefilled', target: '/srv/seed' }] });
  assert.equal(prefilled.stdout, 'mine\n');
});

test("the image's Volumes get anonymous volumes, removed with the container only when asked", async () => {
  await using runtime = await temporaryRuntime();
  const image = await imageFrom(runtime, BUSYBOX, 'mkdir -p /var/lib/app && echo state > /var/lib/app/state', ['VOLUME ["/var/lib/app", "/cache"]']);
  assert.deepEqual(image.config.Volumes, { '/var/lib/app': {}, '/cache': {} });

  const first = await runtime.containers.create({ image, cmd: ['sh', '-c', 'cat /var/lib/app/state; echo more > /cache/x'], attach: true });
  const mounts = (await first.inspect()).mounts;
  assert.deepEqual(mounts.map((m) => [m.type, m.target]), [['volume', '/cache'], ['volume', '/var/lib/app']]);
  const [cache, app] = mounts.map(volumeOf);
  assert.ok(cache!.anonymous && app!.anonymous);
  assert.match(app!.name, /^[a-f0-9]{64}$/);
  await first.start();
  const out = await collectAll<Buffer>(first.stdout, 'stdout to end');
  assert.equal((await withDeadline(first.wait(), 'the first container to exit')).exitCode, 0);
  assert.equal(Buffer.concat(out).toString(), 'state\n');
  assert.equal(readFileSync(join(app!.source, 'state'), 'utf8'), 'state\n');
  await first.remove(); // without volumes: true they stay (docker rm)
  assert.equal((await runtime.volumes.get(app!.name)).anonymous, true);
  assert.equal(readFileSync(join(cache!.source, 'x'), 'utf8'), 'more\n');

  // a mount at one of them replaces its anonymous volume
  const second = await runtime.containers.create({ image, cmd: ['true'], mounts: [{ type: 'volume', source: 'appdata', target: '/var/lib/app' }] });
  const secondMounts = (await second.inspect()).mounts.map(volumeOf);
  assert.deepEqual(secondMounts.map((m) => [m.target, m.anonymous]), [['/cache', true], ['/var/lib/app', false]]);
  await second.remove({ volumes: true }); // docker rm -v: its anonymous volume goes, the named one stays
  await assert.rejects(runtime.volumes.get(secondMounts[0]!.name), NotFoundError);
  await runtime.volumes.get('appdata');

  // a throwaway run leaves no anonymous volume behind
  const before = (await runtime.volumes.list()).length;
  assert.equal((await Container.run(image.id, ['ls', '/var/lib/app'], { runtime })).stdout, 'state\n');
  assert.equal((await runtime.volumes.list()).length, before);
});

test('volumesFrom: the volume and bind mounts of another container at the same targets, ro or rw', async () => {
  await using runtime = await temporaryRuntime();
  const hostDir = mkdtempSync(join(tmpdir(), 'berth-bind-'));
  try {
    writeFileSync(join(hostDir, 'from-host'), 'host\n');
    const source = await runtime.containers.create({
      image: BUSYBOX,
      name: 'data-holder',
      cmd: ['sh', '-c', 'echo from-a > /data/f'],
      mounts: [
        { type: 'volume', source: 'shared', target: '/data' },
        { type: 'bind', source: hostDir, target: '/host' },
        { type: 'tmpfs', target: '/scratch' },
        { type: 'volume', target: '/anon' },
      ],
    });
    await source.start();
    await withDeadline(source.wait(), 'the source container to exit');

    const reader = await Container.run(BUSYBOX, ['sh', '-c', 'cat /data/f /host/from-host; echo b > /data/g; grep -c " /scratch " /proc/mounts'], {
      runtime, volumesFrom: ['data-holder'], keep: true,
    });
    assert.equal(reader.stdout, 'from-a\nhost\n0\n', reader.stderr); // the tmpfs is not taken
    const readerContainer = await runtime.containers.get(reader.id);
    const sourceMounts = (await source.inspect()).mounts.filter((m) => m.type !== 'tmpfs');
    assert.deepEqual((await readerContainer.inspect()).mounts, sourceMounts);

    const readonly = await Container.run(BUSYBOX, ['sh', '-c', 'cat /data/g; touch /data/h || touch /host/h || echo refused'], {
      runtime, volumesFrom: [`${source.id.slice(0, 12)}:ro`],
    });
    assert.equal(readonly.stdout, 'b\nrefused\n');
    assert.match(readonly.stderr, /Read-only file system/);

    // a mount of its own at the same target wins
    const own = await Container.run(BUSYBOX, ['sh', '-c', 'grep " /data " /proc/mounts | cut -d" " -f3; touch /data/x && echo wrote'], {
      runtime, volumesFrom: ['data-holder:ro'], mounts: [{ type: 'tmpfs', target: '/data' }],
    });
    assert.equal(own.stdout, 'tmpfs\nwrote\n', own.stderr);

    await assert.rejects(runtime.containers.create({ image: BUSYBOX, cmd: ['true'], volumesFrom: ['no-such-container'] }), NotFoundError);
    await assert.rejects(runtime.containers.create({ image: BUSYBOX, cmd: ['true'], volumesFrom: ['data-holder:rx'] }), TypeError);

    // the anonymous volume is used by both: removing one container with volumes: true keeps it for the other
    const anonymous = volumeOf(sourceMounts.find((m) => m.target === '/anon')).name;
    await source.remove({ volumes: true });
    await runtime.volumes.get(anonymous);
    await readerContainer.remove({ volumes: true });
    await assert.rejects(runtime.volumes.get(anonymous), NotFoundError);
    await runtime.volumes.get('shared');
  } finally {
    rmSync(hostDir, { recursive: true, force: true });
  }
});
