import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Container, ImageContentError, NotFoundError, type ImageProgress } from '../lib/index.js';
import { temporaryRuntime } from './helpers.js';
import { busyboxTar, pushImage, runImageDefault, skopeo, registryForThisFile, tarOf } from './image-helpers.js';

const registry = registryForThisFile();
const busybox = busyboxTar();

test('a multi-layer busybox image (gzip layers) is pulled and runs', async () => {
  await using runtime = await temporaryRuntime();
  const extra = await tarOf([
    { name: 'etc/', type: 'directory' },
    { name: 'etc/greeting', content: 'hello from layer 2\n' },
  ]);
  const third = await tarOf([{ name: 'srv/', type: 'directory' }, { name: 'srv/data', content: 'three\n' }]);
  await pushImage(registry.host, 'multi:1', [{ layers: [busybox, extra, third], config: { Env: ['PATH=/bin', 'FROM_IMAGE=yes'], WorkingDir: '/srv' } }]);

  const events: ImageProgress[] = [];
  const image = await runtime.images.pull(`${registry.host}/multi:1`, { onProgress: (event) => events.push(event) });
  assert.deepEqual(image.references, [`${registry.host}/multi:1`]);
  assert.equal(image.layerPaths.length, 3);
  const info = image.inspect();
  assert.equal(info.layers.length, 3);
  for (const layer of info.layers) {
    assert.equal(layer.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
    assert.ok(layer.size > 0 && layer.unpackedSize > 0, `layer ${layer.digest}: ${layer.size} bytes packed, ${layer.unpackedSize} unpacked`);
  }
  assert.equal(info.platform.architecture, 'amd64');
  assert.equal(info.history.length, 3);
  assert.match(info.repoDigests[0]!, new RegExp(`^${registry.host}/multi@sha256:[a-f0-9]{64}$`));
  assert.ok(info.size > 1_000_000, 'busybox is in there');
  for (const layer of info.layers) assert.ok(events.some((e) => e.digest === layer.digest && e.status === 'done' && e.current === layer.size));

  const result = await Container.run(`${registry.host}/multi:1`, ['busybox', 'sh', '-c', 'busybox echo ok; cat /etc/greeting data; pwd; echo $FROM_IMAGE'], { runtime });
  assert.equal(result.stderr, '');
  assert.equal(result.stdout, 'ok\nhello from layer 2\nthree\n/srv\nyes\n');
  assert.equal(result.exitCode, 0);
});

test('an index with amd64 and arm64 entries: the host platform is chosen, or the one asked for', async () => {
  await using runtime = await temporaryRuntime();
  const marker = (arch: string) => tarOf([{ name: 'arch', content: `${arch}\n` }]);
  await pushImage(registry.host, 'multiarch:1', [
    { layers: [busybox, await marker('arm64')], architecture: 'arm64', variant: 'v8' },
    { layers: [busybox, await marker('amd64')], architecture: 'amd64' },
  ]);
  const raw = JSON.parse(await skopeo('inspect', '--raw', `docker://${registry.host}/multiarch:1`)) as { manifests: unknown[] };
  assert.equal(raw.manifests.length, 2, 'the registry has an index of two');

  const result = await Container.run(`${registry.host}/multiarch:1`, ['busybox', 'echo', 'ok'], { runtime });
  assert.equal(result.stdout, 'ok\n');
  const chosen = await runtime.images.get(`${registry.host}/multiarch:1`);
  assert.equal(chosen.inspect().platform.architecture, 'amd64');
  assert.equal((await Container.run(chosen.id, ['cat', '/arch'], { runtime })).stdout, 'amd64\n');
  // the repo digest is the index's: pulling by it finds the same image
  const byDigest = await runtime.images.pull(chosen.repoDigests[0]!);
  assert.equal(byDigest.id, chosen.id);

  const arm = await runtime.images.pull(`${registry.host}/multiarch:1`, { platform: 'linux/arm64' });
  assert.notEqual(arm.id, chosen.id);
  assert.deepEqual(arm.inspect().platform, { os: 'linux', architecture: 'arm64', variant: 'v8' });
  // the tag moved to the arm64 image; layers shared by both are stored once
  assert.deepEqual((await runtime.images.get(chosen.id)).references, []);
  assert.equal(readdirSync(join(runtime.root, 'layers')).filter((n) => /^[a-f0-9]{64}$/.test(n)).length, 3);

  await assert.rejects(runtime.images.pull(`${registry.host}/multiarch:1`, { platform: 'linux/s390x' }), (error: unknown) => {
    assert.ok(error instanceof ImageContentError);
    assert.equal(error.code, 'ERR_PLATFORM_UNAVAILABLE');
    assert.match(error.message, /linux\/arm64\/v8, linux\/amd64/);
    return true;
  });
});

test('a file deleted in an upper layer and an opaque directory are absent in the container', async () => {
  await using runtime = await temporaryRuntime();
  const base = await tarOf([
    { name: 'data/', type: 'directory' },
    { name: 'data/keep', content: 'kept\n' },
    { name: 'data/gone', content: 'deleted later\n' },
    { name: 'data/gone-dir/', type: 'directory' },
    { name: 'data/gone-dir/file', content: 'x' },
    { name: 'opq/', type: 'directory' },
    { name: 'opq/old', content: 'hidden by the opaque dir\n' },
    { name: 'opq/sub/', type: 'directory' },
    { name: 'opq/sub/older', content: 'x' },
  ]);
  const upper = await tarOf([
    { name: 'data/', type: 'directory' },
    { name: 'data/.wh.gone', content: '' },
    { name: 'data/.wh.gone-dir', content: '' },
    { name: 'opq/', type: 'directory' },
    { name: 'opq/.wh..wh..opq', content: '' },
    { name: 'opq/new', content: 'new\n' },
  ]);
  await pushImage(registry.host, 'whiteouts:1', [{ layers: [busybox, base, upper] }]);
  const result = await Container.run(`${registry.host}/whiteouts:1`, ['sh', '-c', 'ls -A /data; echo --; ls -A /opq; echo --; cat /opq/new'], { runtime });
  assert.equal(result.stderr, '');
  assert.equal(result.stdout, 'keep\n--\nnew\n--\nnew\n');
});

test('Docker schema2 manifests, zstd and uncompressed layers are pulled too', async () => {
  await using runtime = await temporaryRuntime();
  const file = await tarOf([{ name: 'which', content: 'v2s2\n' }]);
  await pushImage(registry.host, 'schema2:1', [{ layers: [busybox, file] }], ['--format', 'v2s2']);
  const raw = JSON.parse(await skopeo('inspect', '--raw', `docker://${registry.host}/schema2:1`)) as { mediaType: string };
  assert.equal(raw.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  const docker = await runtime.images.pull(`${registry.host}/schema2:1`);
  assert.equal((await Container.run(docker.id, ['cat', '/which'], { runtime })).stdout, 'v2s2\n');

  const zfile = await tarOf([{ name: 'which', content: 'zstd\n' }]);
  await pushImage(registry.host, 'zstd:1', [{ layers: [busybox, zfile], compression: 'zstd' }]);
  const zstd = await runtime.images.pull(`${registry.host}/zstd:1`);
  assert.ok(zstd.inspect().layers.every((layer) => layer.mediaType.endsWith('+zstd')));
  assert.equal((await Container.run(zstd.id, ['cat', '/which'], { runtime })).stdout, 'zstd\n');
  // the same busybox layer, once, whatever its compression
  const busyboxDiff = docker.inspect().layers[0]!.diffId;
  assert.equal(zstd.inspect().layers[0]!.diffId, busyboxDiff);
  assert.equal(docker.layerPaths[1], zstd.layerPaths[1]);

  await pushImage(registry.host, 'plain:1', [{ layers: [busybox, await tarOf([{ name: 'which', content: 'plain\n' }])], compression: 'none' }]);
  const plain = await runtime.images.pull(`${registry.host}/plain:1`);
  assert.equal((await Container.run(plain.id, ['cat', '/which'], { runtime })).stdout, 'plain\n');
});

test('containers pull a missing image; pull: never refuses; unknown images are NotFoundError', async () => {
  await using runtime = await temporaryRuntime();
  await pushImage(registry.host, 'lazy:1', [{ layers: [busybox], config: { Cmd: ['echo', 'from the image Cmd'] } }]);
  await assert.rejects(runtime.containers.create({ image: `${registry.host}/lazy:1`, pull: 'never' }), NotFoundError);
  assert.equal(runtime.images.list().length, 0);
  assert.equal(await runImageDefault(runtime, `${registry.host}/lazy:1`), 'from the image Cmd\n');
  const image = await runtime.images.get(`${registry.host}/lazy:1`);
  await using again = await runtime.containers.create({ image, cmd: ['true'], pull: 'always' });
  assert.equal((await again.inspect()).image, `${registry.host}/lazy:1`);

  await assert.rejects(runtime.images.pull(`${registry.host}/no-such-image:1`), (error: unknown) => {
    assert.ok(error instanceof NotFoundError);
    assert.match(error.message, /no-such-image:1/);
    return true;
  });
  await assert.rejects(runtime.images.pull('Not A Reference'), TypeError);
  await assert.rejects(runtime.images.pull(`${registry.host}/lazy:1`, { concurrency: 0 }), RangeError);
});
