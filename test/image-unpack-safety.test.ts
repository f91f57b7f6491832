import assert from 'node:assert/strict';
import { existsSync, openSync, readFileSync, readdirSync, statSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Container, ImageContentError } from '../lib/index.js';
import { parseImageConfig, parseManifestDocument } from '../lib/image/manifest.js';
import { temporaryRuntime } from './helpers.js';
import { assertLayerRefused, assertStoreEmpty, busyboxTar, pushImage, registryForThisFile, tarOf, treeOf, type TarEntry } from './image-helpers.js';

const registry = registryForThisFile();
const busybox = busyboxTar();


async function pushLayers(name: string, ...layers: TarEntry[][]): Promise<string> {
  await pushImage(registry.host, name, [{ layers: [busybox, ...(await Promise.all(layers.map((entries) => tarOf(entries))))] }]);
  return `${registry.host}/${name}`;
}


test("a layer with '../x' fails, naming the entry, and writes nothing outside", async () => {
  await using runtime = await temporaryRuntime();
  const ref = await pushLayers('dotdot:1', [{ name: 'ok', content: 'fine' }, { name: '../berth-escape-dotdot', content: 'escaped' }]);
  await assertLayerRefused(runtime, ref, '../berth-escape-dotdot');
  assert.ok(!treeOf(runtime.root).some((path) => path.includes('berth-escape')));
  const deep = await pushLayers('dotdot:2', [{ name: 'a/../../../../../../tmp/berth-escape-deep', content: 'escaped' }]);
  await assertLayerRefused(runtime, deep, 'a/../../../../../../tmp/berth-escape-deep');
  assert.ok(!existsSync('/tmp/berth-escape-deep'));
});

test("a layer with an absolute name '/etc/x' fails and writes nothing outside", async () => {
  await using runtime = await temporaryRuntime();
  const ref = await pushLayers('absolute:1', [{ name: '/etc/berth-escape-absolute', content: 'escaped' }]);
  await assertLayerRefused(runtime, ref, '/etc/berth-escape-absolute');
  assert.ok(!existsSync('/etc/berth-escape-absolute'));
});

test('a symlink followed by a write through it fails and writes nothing outside', async () => {
  await using runtime = await temporaryRuntime();
  const ref = await pushLayers('symlink:1', [
    { name: 'evil', type: 'symlink', linkname: '/etc' },
    { name: 'evil/berth-escape-symlink', content: 'escaped' },
  ]);
  await assertLayerRefused(runtime, ref, 'evil/berth-escape-symlink');
  assert.ok(!existsSync('/etc/berth-escape-symlink'));
  const relative = await pushLayers('symlink:2', [
    { name: 'up', type: 'symlink', linkname: '../../../../../../../../tmp' },
    { name: 'up/berth-escape-relative', content: 'escaped' },
  ]);
  await assertLayerRefused(runtime, relative, 'up/berth-escape-relative');
  assert.ok(!existsSync('/tmp/berth-escape-relative'));
  // a file replaced by a symlink, then written again: the write never follows it
  const replaced = await pushLayers('symlink:3', [
    { name: 'passwd-link', content: 'first' },
    { name: 'passwd-link', type: 'symlink', linkname: '/etc/passwd' },
    { name: 'passwd-link', content: 'pwned\n' },
  ]);
  const passwd = readFileSync('/etc/passwd', 'utf8');
  const image = await runtime.images.pull(replaced);
  assert.equal(readFileSync('/etc/passwd', 'utf8'), passwd);
  assert.equal(readFileSync(join(image.layerPaths[0]!, 'passwd-link'), 'utf8'), 'pwned\n');
});

test('a hardlink to /etc/passwd fails and changes nothing outside', async () => {
  await using runtime = await temporaryRuntime();
  const before = statSync('/etc/passwd');
  const ref = await pushLayers('hardlink:1', [
    { name: 'passwd', type: 'link', linkname: '/etc/passwd' },
    { name: 'passwd', content: 'root::0:0::/:/bin/sh\n' },
  ]);
  await assertLayerRefused(runtime, ref, 'passwd');
  const relative = await pushLayers('hardlink:2', [{ name: 'shadow', type: 'link', linkname: '../../../../../../etc/passwd' }]);
  await assertLayerRefused(runtime, relative, 'shadow');
  const notInLayer = await pushLayers('hardlink:3', [{ name: 'bin2', type: 'link', linkname: 'bin/busybox' }]);
  await assertLayerRefused(runtime, notInLayer, 'bin2'); // busybox is in another layer
  const after = statSync('/etc/passwd');
  assert.equal(after.nlink, before.nlink);
  assert.equal(after.mtimeMs, before.mtimeMs);
  // a hardlink inside the layer is fine
  const inside = await pushLayers('hardlink:4', [{ name: 'a', content: 'same' }, { name: 'b', type: 'link', linkname: 'a' }]);
  const image = await runtime.images.pull(inside);
  assert.equal(statSync(join(image.layerPaths[0]!, 'b')).ino, statSync(join(image.layerPaths[0]!, 'a')).ino);
});

test('device nodes are refused unless allowDevices is set', async () => {
  await using runtime = await temporaryRuntime();
  const ref = await pushLayers('device:1', [
    { name: 'dev/', type: 'directory' },
    { name: 'dev/mem', type: 'character-device', devmajor: 1, devminor: 1, mode: 0o600 },
  ]);
  await assertLayerRefused(runtime, ref, 'dev/mem', 'ERR_DEVICE_NOT_PERMITTED');
  const image = await runtime.images.pull(ref, { allowDevices: true });
  const stat = statSync(join(image.layerPaths[0]!, 'dev/mem'));
  assert.ok(stat.isCharacterDevice());
  assert.equal(stat.rdev, (1 << 8) | 1);
});

test('a registry that serves a tampered blob: a digest error, and no layer, image or temp file remains', async () => {
  await using runtime = await temporaryRuntime();
  const ref = await pushLayers('tampered:1', [{ name: 'data', content: 'x'.repeat(100_000) }]);
  const manifest = await runtime.images.pull(ref).then((image) => image.inspect());
  const target = manifest.layers[1]!.digest.slice('sha256:'.length);
  await (await runtime.images.get(ref)).remove();
  await runtime.images.prune({ dangling: false });
  assertStoreEmpty(runtime);
  // flip bytes in the middle of the stored blob: same size, other content
  const data = join(registry.storage, 'docker/registry/v2/blobs/sha256', target.slice(0, 2), target, 'data');
  const size = statSync(data).size;
  const fd = openSync(data, 'r+');
  writeSync(fd, Buffer.from('tampered!'), 0, 9, Math.floor(size / 2));
  closeSync(fd);

  await assert.rejects(runtime.images.pull(ref), (error: unknown) => {
    assert.ok(error instanceof ImageContentError, `expected an ImageContentError, got ${String(error)}`);
    assert.equal(error.code, 'ERR_DIGEST_MISMATCH');
    assert.match(error.message, new RegExp(`not sha256:${target}`));
    return true;
  });
  assertStoreEmpty(runtime);
  assert.deepEqual(readdirSync(runtime.root).filter((name) => name.startsWith('.tmp')), []);
  // the store still works
  assert.equal((await Container.run('localhost/busybox', ['echo', 'ok'], { runtime })).stdout, 'ok\n');
});

test('malformed manifests, configs and digests are typed errors', () => {
  const bad = (text: string) => () => parseManifestDocument(Buffer.from(text), undefined, 'the manifest');
  assert.throws(bad('not json'), { name: 'ImageContentError', code: 'ERR_MANIFEST_INVALID', message: /not valid JSON/ });
  assert.throws(bad('{"schemaVersion":1,"fsLayers":[]}'), { code: 'ERR_MANIFEST_INVALID', message: /schema 1/ });
  const layer = (digest: string) =>
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: 2 },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest, size: 1 }],
    });
  assert.throws(bad(layer('sha256:../../etc')), { code: 'ERR_MANIFEST_INVALID', message: /not a supported digest/ });
  assert.throws(bad(layer('md5:abc')), { code: 'ERR_MANIFEST_INVALID' });
  assert.doesNotThrow(bad(layer(`sha256:${'b'.repeat(64)}`)));
  assert.throws(
    bad(layer(`sha256:${'b'.repeat(64)}`).replace('image.layer.v1.tar+gzip', 'helm.chart.content.v1.tar+gzip')),
    /not a filesystem layer/,
  );
  assert.throws(() => parseImageConfig(Buffer.from('{"os":"linux","architecture":"amd64"}'), 'config'), { code: 'ERR_CONFIG_INVALID' });
  assert.throws(
    () => parseImageConfig(Buffer.from('{"os":"linux","architecture":"amd64","rootfs":{"diff_ids":[]},"config":{"Cmd":"sh"}}'), 'config'),
    /config.Cmd must be an array of strings/,
  );
});
