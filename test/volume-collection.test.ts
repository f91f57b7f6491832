import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConflictError, NotFoundError, Volume } from '../lib/index.js';
import { BUSYBOX, temporaryRuntime } from './helpers.js';
import { jsonOutput, startFixture } from './helpers-process.js';

test('create, get, list, remove: a volume is a directory under the root', async () => {
  await using runtime = await temporaryRuntime();
  const volume = await runtime.volumes.create({ name: 'data', labels: { app: 'db', tier: 'back' } });
  assert.ok(volume instanceof Volume);
  assert.equal(volume.name, 'data');
  assert.equal(volume.mountpoint, join(runtime.root, 'volumes', 'data', '_data'));
  assert.ok(existsSync(volume.mountpoint));
  assert.ok(!Number.isNaN(Date.parse(volume.createdAt)));
  assert.deepEqual(volume.labels, { app: 'db', tier: 'back' });
  assert.equal(volume.anonymous, false);

  const again = await runtime.volumes.get('data');
  assert.equal(again.createdAt, volume.createdAt);
  // creating an existing name gives that volume back, as `docker volume create` does
  const same = await runtime.volumes.create({ name: 'data' });
  assert.equal(same.createdAt, volume.createdAt);
  assert.deepEqual(same.labels, { app: 'db', tier: 'back' });

  const generated = await runtime.volumes.create({ labels: { app: 'web' } });
  assert.match(generated.name, /^[a-f0-9]{64}$/);
  const names = (volumes: Volume[]) => volumes.map((v) => v.name).sort();
  assert.deepEqual(names(await runtime.volumes.list()), [generated.name, 'data'].sort());
  assert.deepEqual(names(await runtime.volumes.list({ labels: { app: 'db' } })), ['data']);
  assert.deepEqual(names(await runtime.volumes.list({ labels: ['app'] })), [generated.name, 'data'].sort());
  assert.deepEqual(names(await runtime.volumes.list({ labels: ['tier=back', 'app=db'] })), ['data']);
  assert.deepEqual(names(await runtime.volumes.list({ labels: ['nope'] })), []);

  const info = await volume.inspect();
  assert.deepEqual(info, {
    name: 'data', driver: 'local', mountpoint: volume.mountpoint, createdAt: volume.createdAt,
    labels: { app: 'db', tier: 'back' }, anonymous: false, initialized: false, usedBy: [],
  });

  writeFileSync(join(volume.mountpoint, 'file'), 'x');
  await volume.remove();
  assert.ok(!existsSync(join(runtime.root, 'volumes', 'data')));
  await assert.rejects(runtime.volumes.get('data'), NotFoundError);
  await assert.rejects(runtime.volumes.remove('data'), NotFoundError);
  await runtime.volumes.remove('data', { force: true }); // force: a missing volume is not an error
  await runtime.volumes.remove(generated);
  assert.deepEqual(readdirSync(join(runtime.root, 'volumes')), []);
});

test('volume options are checked before anything is made', async () => {
  await using runtime = await temporaryRuntime();
  await assert.rejects(runtime.volumes.create({ name: 'a' }), TypeError); // Docker: at least 2 characters
  await assert.rejects(runtime.volumes.create({ name: '../x' }), /volume name/);
  await assert.rejects(runtime.volumes.create({ name: '.hidden' }), TypeError);
  await assert.rejects(runtime.volumes.create({ name: 'x'.repeat(256) }), RangeError);
  await assert.rejects(runtime.volumes.create({ labels: { a: 1 as unknown as string } }), /labels.a must be a string/);
  await assert.rejects(runtime.volumes.get('no/such'), TypeError);
  await assert.rejects(runtime.volumes.list({ labels: 5 as unknown as string[] }), TypeError);
  await assert.rejects(runtime.volumes.remove('data', { force: 'yes' as unknown as boolean }), TypeError);
  assert.deepEqual(readdirSync(join(runtime.root, 'volumes')), []);
});

test('a volume in use by a container (in any state) cannot be removed, with or without force', async () => {
  await using runtime = await temporaryRuntime();
  const volume = await runtime.volumes.create({ name: 'shared' });
  const container = await runtime.containers.create({
    image: BUSYBOX, name: 'user-of-shared', cmd: ['sleep', '60'], mounts: [{ type: 'volume', source: 'shared', target: '/data' }],
  });
  assert.deepEqual((await volume.inspect()).usedBy, [container.id]);
  for (const force of [false, true]) {
    // created, not started: still in use, as in Docker
    const error = await volume.remove({ force }).catch((e: unknown) => e);
    assert.ok(error instanceof ConflictError, String(error));
    assert.match(error.message, /in use by container user-of-shared/);
  }
  await container.start();
  await assert.rejects(runtime.volumes.remove('shared'), ConflictError);
  assert.deepEqual((await runtime.volumes.list({ dangling: false })).map((v) => v.name), ['shared']);
  assert.deepEqual(await runtime.volumes.list({ dangling: true }), []);
  await container.stop({ timeout: 0 });
  await assert.rejects(runtime.volumes.remove('shared'), ConflictError);

  await container.remove();
  assert.deepEqual((await runtime.volumes.list({ dangling: true })).map((v) => v.name), ['shared']);
  await runtime.volumes.remove('shared');
  assert.deepEqual(await runtime.volumes.list(), []);
});

test('prune removes unused anonymous volumes; all: true unused named ones too', async () => {
  await using runtime = await temporaryRuntime();
  await runtime.volumes.create({ name: 'kept-named', labels: { env: 'test' } });
  await runtime.volumes.create({ name: 'used-named' });
  const user = await runtime.containers.create({
    image: BUSYBOX,
    cmd: ['true'],
    mounts: [{ type: 'volume', source: 'used-named', target: '/a' }, { type: 'volume', target: '/b' }],
  });
  const anonymousInUse = (await user.inspect()).mounts.find((m) => m.target === '/b');
  assert.ok(anonymousInUse?.type === 'volume' && anonymousInUse.anonymous);
  const orphan = await runtime.containers.create({ image: BUSYBOX, cmd: ['true'], mounts: [{ type: 'volume', target: '/c' }] });
  const orphanMount = (await orphan.inspect()).mounts[0]!;
  assert.equal(orphanMount.type, 'volume');
  writeFileSync(join(orphanMount.source, 'file'), 'x'.repeat(1000));
  await orphan.remove(); // without volumes: true the anonymous volume stays
  const orphanName = orphanMount.type === 'volume' ? orphanMount.name : '';
  assert.equal((await runtime.volumes.get(orphanName)).anonymous, true);

  const pruned = await runtime.volumes.prune();
  assert.deepEqual(pruned.volumes, [orphanName]);
  assert.ok(pruned.reclaimedBytes >= 1000);
  const left = async () => (await runtime.volumes.list()).map((v) => v.name).sort();
  assert.deepEqual(await left(), [anonymousInUse.name, 'kept-named', 'used-named'].sort());

  assert.deepEqual((await runtime.volumes.prune({ all: true, labels: { env: 'other' } })).volumes, []);
  assert.deepEqual((await runtime.volumes.prune({ all: true })).volumes, ['kept-named']);
  assert.deepEqual(await left(), [anonymousInUse.name, 'used-named'].sort());
  await user.remove({ volumes: true }); // the anonymous volume goes with it, the named one stays
  assert.deepEqual(await left(), ['used-named']);
});

test('two processes creating the same volumes at once end up with one of each', async () => {
  await using runtime = await temporaryRuntime();
  const run = () =>
    jsonOutput<[string, string][]>(startFixture('create-volumes.ts', [runtime.root, 'race', '25']), 'the create-volumes fixture');
  const [first, second] = await Promise.all([run(), run()]);
  // both processes got the same volume for each name: whichever made it first
  assert.deepEqual(first, second);
  const volumes = await runtime.volumes.list();
  assert.equal(volumes.length, 25);
  for (const volume of volumes) assert.ok(existsSync(volume.mountpoint));
  // nothing half-made is left behind
  assert.deepEqual(readdirSync(join(runtime.root, 'volumes')).filter((entry) => entry.startsWith('.')), []);
});
