// Images as an unprivileged user: pull from a local registry (started by the
// user, as test/image-helpers.ts starts one), layers unpacked in the user
// namespace's view (a file of uid 1000 in the layer is 200999 on the host, 1000
// in the container), push of a committed image. Runs as the test user (test/rootless-phase.mjs).
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { test } from 'node:test';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { Container } from '../lib/index.js';
import { makeTar, tarEntries } from './helpers-tar.js';
import { busyboxTar, pushImage, registryForThisFile, skopeo } from './image-helpers.js';
import { hostIdOf, rootlessRuntime, userTemporaryDir } from './rootless-helpers.js';

const registry = registryForThisFile();

/** A layer with a directory and a file of uid 1000, a setuid-root file and a file of a high id (60000). */
async function ownersLayer(): Promise<Buffer> {
  return buffer(makeTar([
    { name: 'home/app/', type: 'directory', mode: 0o750, uid: 1000, gid: 1000 },
    { name: 'home/app/data.txt', mode: 0o640, uid: 1000, gid: 1000, content: 'app data\n' },
    { name: 'usr/bin/suid', mode: 0o4755, uid: 0, gid: 0, content: '#!/bin/sh\n' },
    { name: 'srv/high.txt', mode: 0o644, uid: 60000, gid: 60000, content: 'high\n' },
  ]));
}

test('pull from a local registry: the image runs, owners are the image\'s inside and mapped on the host', async () => {
  await using runtime = await rootlessRuntime();
  await pushImage(registry.host, 'owners:1', [{ layers: [busyboxTar(), await ownersLayer()] }]);
  const image = await runtime.images.pull(`${registry.host}/owners:1`);
  const { exitCode, stdout } = await Container.run(image.id, ['sh', '-c', 'stat -c "%n %u:%g %a" /home/app /home/app/data.txt /usr/bin/suid /srv/high.txt /bin/busybox; cat /home/app/data.txt'], { runtime });
  assert.equal(exitCode, 0);
  assert.equal(stdout, [
    '/home/app 1000:1000 750', '/home/app/data.txt 1000:1000 640', '/usr/bin/suid 0:0 4755', '/srv/high.txt 60000:60000 644', '/bin/busybox 0:0 755', 'app data', '',
  ].join('\n'));
  const layer = image.layerPaths[0]!; // the owners layer: top first
  const hostOwners = (path: string) => {
    const stat = statSync(join(layer, path));
    return [stat.uid, stat.gid];
  };
  assert.deepEqual(hostOwners('home/app'), [hostIdOf(1000), hostIdOf(1000)]); // data.txt inside is private to 1000 (0750 dir)
  assert.deepEqual(hostOwners('usr/bin/suid'), [hostIdOf(0), hostIdOf(0)]);
  assert.deepEqual(hostOwners('srv/high.txt'), [hostIdOf(60000), hostIdOf(60000)]);
});

test('push: a committed image reaches the registry with its files owned by the container\'s ids, not the host\'s', async () => {
  await using runtime = await rootlessRuntime();
  await using container = await runtime.containers.create({ image: 'localhost/busybox', cmd: ['sh', '-c', 'echo pushed > /pushed; chown 1000:1000 /pushed'] });
  await container.start();
  assert.equal((await container.wait()).exitCode, 0);
  const image = await runtime.images.commit(container, { ref: 'localhost/pushed:1' });
  await image.push(`${registry.host}/pushed:1`);
  // fetched back with skopeo: the top layer's entry says 1000, as it did in the container
  using dir = userTemporaryDir('berth-pushed-');
  await skopeo('copy', `docker://${registry.host}/pushed:1`, `dir:${dir.path}`);
  const manifest = JSON.parse(readFileSync(join(dir.path, 'manifest.json'), 'utf8')) as { layers: { digest: string }[] };
  const top = manifest.layers[manifest.layers.length - 1]!.digest.slice('sha256:'.length);
  const blob = readFileSync(join(dir.path, top));
  const entries = await tarEntries(Readable.from([blob[0] === 0x1f && blob[1] === 0x8b ? gunzipSync(blob) : blob]));
  const pushed = entries.find((e) => e.name.replace(/^\.?\//, '') === 'pushed');
  assert.ok(pushed, `the layer has /pushed: ${entries.map((e) => e.name).join(', ')}`);
  assert.deepEqual([pushed.uid, pushed.gid, pushed.data.toString()], [1000, 1000, 'pushed\n']);
});
