import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { ConflictError, Container, NotFoundError, type ImageProgress } from '../lib/index.js';
import { BUSYBOX, temporaryRuntime, withDeadline } from './helpers.js';
import { busyboxTar, pushImage, runImageDefault, skopeo, registryForThisFile, tarOf, temporaryDir } from './image-helpers.js';

const registry = registryForThisFile();
const busybox = busyboxTar();

const layerDirs = (root: string) => readdirSync(join(root, 'layers')).filter((name) => /^[a-f0-9]{64}$/.test(name));

test('tag, get by id, untag; removing an image a container uses is refused; prune removes only what is unused', async () => {
  await using runtime = await temporaryRuntime();
  const v1 = await tarOf([{ name: 'version', content: '1\n' }]);
  const v2 = await tarOf([{ name: 'version', content: '2\n' }]);
  await pushImage(registry.host, 'store/app:1', [{ layers: [busybox, v1] }]);
  const first = await runtime.images.pull(`${registry.host}/store/app:1`);
  await first.tag('local/app:stable');
  assert.deepEqual(first.references, [`${registry.host}/store/app:1`, 'docker.io/local/app:stable']);
  assert.equal((await runtime.images.get('local/app:stable')).id, first.id);
  assert.equal((await runtime.images.get(first.id.slice(7, 19))).id, first.id, 'a 12-digit id prefix');
  assert.equal((await runtime.images.get(first.id)).id, first.id);
  await assert.rejects(first.tag('bad ref'), TypeError);

  // several references: removing by one of them untags it
  await runtime.images.remove('local/app:stable');
  assert.deepEqual((await runtime.images.get(first.id)).references, [`${registry.host}/store/app:1`]);

  // a container (not even started) keeps its image
  const container = await runtime.containers.create({ image: first.id, cmd: ['true'] });
  await assert.rejects(first.remove(), (error: unknown) => {
    assert.ok(error instanceof ConflictError);
    assert.match(error.message, new RegExp(`used by container ${container.name}`));
    return true;
  });

  // the tag moves to a new image: the first becomes dangling, but is in use
  await pushImage(registry.host, 'store/app:1', [{ layers: [busybox, v2] }]);
  const second = await runtime.images.pull(`${registry.host}/store/app:1`);
  assert.notEqual(second.id, first.id);
  assert.deepEqual((await runtime.images.get(first.id)).references, []);
  await pushImage(registry.host, 'store/other:1', [{ layers: [busybox, await tarOf([{ name: 'other', content: 'x' }])] }]);
  const other = await runtime.images.pull(`${registry.host}/store/other:1`);
  await other.untag(`${registry.host}/store/other:1`); // dangling and unused
  assert.equal(layerDirs(runtime.root).length, 4);

  const pruned = await runtime.images.prune();
  assert.deepEqual(pruned.images, [other.id]);
  assert.equal(pruned.layers.length, 1, "only the other image's own layer");
  assert.ok(pruned.reclaimedBytes > 0);
  await assert.rejects(runtime.images.get(other.id), NotFoundError);
  assert.ok(await runtime.images.get(first.id), 'the dangling image a container uses stays');

  const all = await runtime.images.prune({ dangling: false });
  assert.deepEqual(all.images, [second.id]);
  assert.deepEqual(runtime.images.list().map((image) => image.id), [first.id]);
  assert.equal(layerDirs(runtime.root).length, 2, "the container's image keeps its layers");

  await container.remove();
  await first.remove();
  assert.deepEqual(runtime.images.list(), []);
  assert.deepEqual(layerDirs(runtime.root), []);
  assert.deepEqual(readdirSync(join(runtime.root, 'blobs/sha256')), []);
});

test('save then load round-trips the image id (docker and OCI formats); skopeo accepts the archives', async () => {
  await using runtime = await temporaryRuntime();
  using dir = temporaryDir();
  await pushImage(registry.host, 'store/saved:1', [{ layers: [busybox, await tarOf([{ name: 'saved', content: 'yes\n' }])], config: { Cmd: ['cat', '/saved'] } }]);
  const image = await runtime.images.pull(`${registry.host}/store/saved:1`);
  const dockerArchive = join(dir.path, 'docker.tar');
  const ociArchive = join(dir.path, 'oci.tar');
  await pipeline(image.save(), createWriteStream(dockerArchive));
  await pipeline(image.save({ format: 'oci' }), createWriteStream(ociArchive));

  const inspected = JSON.parse(await skopeo('inspect', `docker-archive:${dockerArchive}`)) as { Layers: string[]; Architecture: string };
  assert.equal(inspected.Layers.length, 2);
  assert.equal(inspected.Architecture, 'amd64');
  await skopeo('copy', `docker-archive:${dockerArchive}`, `oci:${join(dir.path, 'from-docker')}:saved`);
  const copied = JSON.parse(readFileSync(join(dir.path, 'from-docker/index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const manifest = JSON.parse(readFileSync(join(dir.path, 'from-docker/blobs/sha256', copied.manifests[0]!.digest.slice(7)), 'utf8')) as {
    config: { digest: string };
  };
  assert.equal(manifest.config.digest, image.id, 'skopeo sees the same config, so the same image id');
  const ociInspected = JSON.parse(await skopeo('inspect', `oci-archive:${ociArchive}`)) as { Digest: string };
  assert.equal(ociInspected.Digest, image.inspect().digest, 'the OCI archive holds the manifest as pulled');

  for (const archive of [dockerArchive, ociArchive]) {
    await using fresh = await temporaryRuntime();
    const [loaded] = await fresh.images.load(createReadStream(archive));
    assert.equal(loaded!.id, image.id);
    assert.deepEqual(loaded!.references, [`${registry.host}/store/saved:1`]);
    assert.equal((await Container.run(loaded!.id, ['cat', '/saved'], { runtime: fresh })).stdout, 'yes\n');
    // loading twice changes nothing
    const [again] = await fresh.images.load(createReadStream(archive));
    assert.equal(again!.id, image.id);
    assert.equal(fresh.images.list().length, 1);
  }

  // a docker archive made by skopeo (from the registry) loads too
  const skopeoArchive = join(dir.path, 'skopeo.tar');
  await skopeo('copy', `docker://${registry.host}/store/saved:1`, `docker-archive:${skopeoArchive}:other/name:2`);
  await using third = await temporaryRuntime();
  const [fromSkopeo] = await third.images.load(createReadStream(skopeoArchive));
  assert.equal(fromSkopeo!.id, image.id);
  assert.deepEqual(fromSkopeo!.references, ['docker.io/other/name:2']);

  await assert.rejects(runtime.images.load(Readable.from([Buffer.from('not a tar at all'.repeat(100))])), { name: 'ImageArchiveError', code: 'ERR_ARCHIVE_INVALID' });
});

test('import of a rootfs tarball, with changes', async () => {
  await using runtime = await temporaryRuntime();
  const tarball = execFileSync('gzip', ['-c'], { input: busybox, maxBuffer: 64 * 1024 * 1024 });
  const image = await runtime.images.import(Readable.from([tarball]), {
    ref: 'local/imported:1',
    changes: ['CMD ["sh", "-c", "echo $GREETING from $(pwd)"]', 'ENV GREETING=imported', 'WORKDIR /tmp', 'LABEL origin="a tarball"'],
    message: 'from a tarball',
  });
  assert.deepEqual(image.references, ['docker.io/local/imported:1']);
  assert.equal(image.config.Labels?.origin, 'a tarball');
  assert.equal(image.inspect().history[0]!.comment, 'from a tarball');
  assert.equal(await runImageDefault(runtime, 'local/imported:1'), 'imported from /tmp\n');
  await assert.rejects(runtime.images.import(Readable.from([tarball]), { changes: ['RUN rm -rf /'] }), /RUN is not supported/);
});

test('commit: a container that wrote a file makes an image whose new container sees the file', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sh', '-c', 'echo committed > /hello; rm /bin/vi; mkdir -p /data'] });
  await container.start();
  assert.equal((await withDeadline(container.wait(), 'the container to exit')).exitCode, 0);
  const image = await runtime.images.commit(container, {
    ref: 'local/committed:1',
    message: 'wrote /hello',
    author: 'berth tests',
    changes: ['CMD ["cat", "/hello"]'],
  });
  const base = await runtime.images.get(BUSYBOX);
  assert.equal(image.layerPaths.length, base.layerPaths.length + 1);
  const info = image.inspect();
  assert.equal(info.author, 'berth tests');
  assert.equal(info.history.at(-1)!.comment, 'wrote /hello');
  assert.equal(await runImageDefault(runtime, 'local/committed:1'), 'committed\n');
  const listing = await Container.run('local/committed:1', ['sh', '-c', 'test -e /bin/vi && echo has-vi; test -d /data && echo has-data'], { runtime });
  assert.doesNotMatch(listing.stdout, /has-vi/, 'the deletion is a whiteout in the new layer');
  assert.match(listing.stdout, /has-data/);
  // by name too, and as the container's own method
  const byName = await runtime.images.commit(container.name, {});
  assert.deepEqual(byName.references, []);
  const viaMethod = await container.commit({ ref: 'local/committed:2', changes: ['CMD ["cat", "/hello"]'] });
  assert.equal(await runImageDefault(runtime, 'local/committed:2'), 'committed\n');
  assert.deepEqual(viaMethod.references, ['docker.io/local/committed:2']);
});

test('push: blobs uploaded (monolithic and chunked) or mounted; skopeo pulls back the same manifest digest', async () => {
  await using runtime = await temporaryRuntime();
  using dir = temporaryDir();
  const image = await runtime.images.get(BUSYBOX);
  const events: ImageProgress[] = [];
  const pushed = await image.push(`${registry.host}/pushed/busybox:1`, { onProgress: (event) => events.push(event) });
  assert.equal(pushed.digest, image.inspect().digest);
  assert.ok(events.some((event) => event.status === 'done'));
  const inspected = JSON.parse(await skopeo('inspect', `docker://${registry.host}/pushed/busybox:1`)) as { Digest: string };
  assert.equal(inspected.Digest, pushed.digest);
  // (skopeo would compress the uncompressed layer for an OCI layout, changing the digest, unless told to preserve it)
  await skopeo('copy', '--preserve-digests', `docker://${registry.host}/pushed/busybox:1`, `oci:${join(dir.path, 'back')}:1`);
  const index = JSON.parse(readFileSync(join(dir.path, 'back/index.json'), 'utf8')) as { manifests: { digest: string }[] };
  assert.equal(index.manifests[0]!.digest, pushed.digest);
  assert.deepEqual(image.repoDigests, [`${registry.host}/pushed/busybox@${pushed.digest}`]);

  // a second repository of the same registry: the layer is mounted, not uploaded
  const mountEvents: ImageProgress[] = [];
  await image.push(`${registry.host}/mounted/busybox:1`, { onProgress: (event) => mountEvents.push(event) });
  assert.ok(mountEvents.some((event) => event.status === 'mounted'), JSON.stringify(mountEvents));
  assert.ok(!mountEvents.some((event) => event.status === 'uploading'));
  // pushing again: everything exists
  const again: ImageProgress[] = [];
  await image.push(`${registry.host}/mounted/busybox:1`, { onProgress: (event) => again.push(event) });
  assert.ok(again.every((event) => event.status === 'exists'));

  // chunked upload of a pulled image, then pulled back by berth into another store
  await pushImage(registry.host, 'store/chunky:1', [{ layers: [busybox, await tarOf([{ name: 'big', content: Buffer.alloc(300_000, 7) }])] }]);
  const pulled = await runtime.images.pull(`${registry.host}/store/chunky:1`);
  const chunked = await pulled.push(`${registry.host}/chunked/app:1`, { chunkSize: 64 * 1024 });
  assert.equal(chunked.digest, pulled.inspect().digest);
  await skopeo('copy', `docker://${registry.host}/chunked/app:1`, `oci:${join(dir.path, 'chunked')}:1`);
  const chunkedIndex = JSON.parse(readFileSync(join(dir.path, 'chunked/index.json'), 'utf8')) as { manifests: { digest: string }[] };
  assert.equal(chunkedIndex.manifests[0]!.digest, chunked.digest);
  await using fresh = await temporaryRuntime();
  const back = await fresh.images.pull(`${registry.host}/chunked/app:1`);
  assert.equal(back.id, pulled.id);
  assert.ok(existsSync(join(back.layerPaths[0]!, 'big')));
});
