/**
 * Hostile image archives for `images.load` (and a hostile tarball for
 * `images.import`), built byte by byte: members named outside the archive,
 * symlinks out of it or used as directories, the same member twice, paths in
 * manifest.json and index.json that climb out, oversized documents, and a
 * compressed archive that expands without end. Each is a typed error naming
 * the member or field; nothing outside the store is written, and the store
 * gains nothing.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { createGzip, gzipSync } from 'node:zlib';
import { BerthError, ImageArchiveError, type Runtime } from '../lib/index.js';
import { temporaryRuntime } from './helpers.js';
import { rawTar, type RawEntry } from './helpers-hostile-tar.js';
import { busyboxTar, treeOf } from './image-helpers.js';

const busybox = busyboxTar();
const digestOf = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [digestOf(busybox)] } }));

/** A `docker save` archive's members; `manifest` overrides manifest.json's only entry. */
function dockerArchive(manifest: Record<string, unknown> = {}, extra: RawEntry[] = [], before: RawEntry[] = []): Buffer {
  return rawTar([
    ...before,
    { name: 'config.json', content: config },
    { name: 'layer.tar', content: busybox },
    ...extra,
    { name: 'manifest.json', content: JSON.stringify([{ Config: 'config.json', RepoTags: ['evil:1'], Layers: ['layer.tar'], ...manifest }]) },
  ]);
}

function storeFiles(runtime: Runtime): string[] {
  return treeOf(runtime.root).filter((path) => !['locks/collector', 'locks/records'].includes(path)) // the store's long-lived locks; a layer's goes with it;
}

async function assertLoadFails(runtime: Runtime, archive: Buffer | Readable, code: string, message: RegExp, entry?: string, options = {}): Promise<void> {
  const before = storeFiles(runtime);
  await assert.rejects(runtime.images.load(Buffer.isBuffer(archive) ? Readable.from([archive]) : archive, options), (error: unknown) => {
    assert.ok(error instanceof ImageArchiveError, `expected an ImageArchiveError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.match(error.message, message);
    if (entry !== undefined) assert.equal(error.entry, entry);
    return true;
  });
  assert.deepEqual(storeFiles(runtime), before, 'the store gained nothing');
  assert.equal((await runtime.images.list()).length, 0);
}

test('the well-formed archive loads (the attacks below differ from it in one place)', async () => {
  await using runtime = await temporaryRuntime();
  const [image] = await runtime.images.load(Readable.from([dockerArchive()]));
  assert.deepEqual(image!.references, ['docker.io/library/evil:1']);
});

test("members named '../x' or '/x' (also by PAX path and GNU long names) are refused; nothing is written outside", async () => {
  await using runtime = await temporaryRuntime();
  const cases: [RawEntry, string][] = [
    [{ name: '../../../../../../tmp/berth-archive-dotdot', content: 'x' }, '../../../../../../tmp/berth-archive-dotdot'],
    [{ name: '/tmp/berth-archive-absolute', content: 'x' }, '/tmp/berth-archive-absolute'],
    [{ name: 'ok', pax: { path: '../../../../../../tmp/berth-archive-pax' }, content: 'x' }, '../../../../../../tmp/berth-archive-pax'],
    [{ name: 'ok', gnuLongName: '/tmp/berth-archive-gnu', content: 'x' }, '/tmp/berth-archive-gnu'],
  ];
  for (const [member, name] of cases) await assertLoadFails(runtime, dockerArchive({}, [member]), 'ERR_UNSAFE_ENTRY', /absolute name|climbs out/, name);
  for (const path of ['/tmp/berth-archive-dotdot', '/tmp/berth-archive-absolute', '/tmp/berth-archive-pax', '/tmp/berth-archive-gnu']) assert.ok(!existsSync(path));
});

test('symlinks out of the archive, and members beneath a symlink, are refused', async () => {
  await using runtime = await temporaryRuntime();
  const passwd = readFileSync('/etc/passwd');
  // the config is a symlink to the host's /etc/passwd; the layer one to a relative path out
  await assertLoadFails(runtime, dockerArchive({ Config: 'cfg' }, [{ name: 'cfg', type: '2', linkname: '/etc/passwd' }]), 'ERR_UNSAFE_ENTRY', /links to '\/etc\/passwd', outside/, 'cfg');
  await assertLoadFails(
    runtime,
    dockerArchive({ Layers: ['l/layer.tar'] }, [{ name: 'l', type: '5', mode: 0o755 }, { name: 'l/layer.tar', type: '2', linkname: '../../../../etc/passwd' }]),
    'ERR_UNSAFE_ENTRY',
    /outside the archive/,
    'l/layer.tar',
  );
  await assertLoadFails(runtime, dockerArchive({}, [{ name: 'hard', type: '1', linkname: '/etc/shadow' }]), 'ERR_UNSAFE_ENTRY', /outside the archive/, 'hard');
  // a symlink used as a directory: the member beneath it is refused, not written through it
  await assertLoadFails(
    runtime,
    dockerArchive({}, [{ name: 'tmpdir', type: '2', linkname: 'blobs' }, { name: 'tmpdir/berth-through-link', content: 'x' }]),
    'ERR_UNSAFE_ENTRY',
    /lies beneath the link 'tmpdir'/,
    'tmpdir/berth-through-link',
  );
  assert.deepEqual(readFileSync('/etc/passwd'), passwd);
  // a symlink inside the archive is followed (docker save writes them for shared layers)
  const [image] = await runtime.images.load(Readable.from([dockerArchive({ Layers: ['alias.tar'] }, [{ name: 'alias.tar', type: '2', linkname: 'layer.tar' }])]));
  assert.equal(image!.layerPaths.length, 1);
});

test('paths in manifest.json and index.json that leave the archive are refused', async () => {
  await using runtime = await temporaryRuntime();
  await assertLoadFails(runtime, dockerArchive({ Config: '../../../../etc/passwd' }), 'ERR_UNSAFE_ENTRY', /Config '..\/..\/..\/..\/etc\/passwd' climbs out/, '../../../../etc/passwd');
  await assertLoadFails(runtime, dockerArchive({ Layers: ['/etc/shadow'] }), 'ERR_UNSAFE_ENTRY', /Layers\[0\] '\/etc\/shadow' has an absolute name/, '/etc/shadow');
  await assertLoadFails(runtime, dockerArchive({ Layers: [{ path: 'layer.tar' }] }), 'ERR_ARCHIVE_INVALID', /Layers\[0\] must name a member/);
  // an OCI layout whose index names a manifest by a digest that climbs out
  const index = JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:../../../../etc/passwd', size: 10 }],
  });
  await assert.rejects(runtime.images.load(Readable.from([rawTar([{ name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' }, { name: 'index.json', content: index }])])), {
    code: 'ERR_MANIFEST_INVALID',
    message: /not a supported digest/,
  });
});

test('a member given twice is refused, whichever comes first', async () => {
  await using runtime = await temporaryRuntime();
  const other = JSON.stringify([{ Config: 'config.json', RepoTags: ['victim:1'], Layers: ['layer.tar'] }]);
  await assertLoadFails(runtime, dockerArchive({}, [], [{ name: 'manifest.json', content: other }]), 'ERR_ARCHIVE_INVALID', /the member 'manifest.json' twice/, 'manifest.json');
  await assertLoadFails(runtime, dockerArchive({}, [{ name: './config.json', type: '2', linkname: 'layer.tar' }]), 'ERR_ARCHIVE_INVALID', /twice/, './config.json');
});

test('oversized documents and a compressed archive that expands without end are refused', async () => {
  await using runtime = await temporaryRuntime();
  const hugeConfig = Buffer.concat([config.subarray(0, -1), Buffer.from(`,"pad":"${'x'.repeat(9 * 1024 * 1024)}"}`)]);
  await assertLoadFails(runtime, dockerArchive({ Config: 'big.json' }, [{ name: 'big.json', content: hugeConfig }]), 'ERR_TOO_LARGE', /more than the 8388608 accepted/, 'big.json');
  const hugeManifest = JSON.stringify([{ Config: 'config.json', RepoTags: ['evil:1'], Layers: ['layer.tar'], pad: 'x'.repeat(5 * 1024 * 1024) }]);
  await assertLoadFails(runtime, rawTar([{ name: 'manifest.json', content: hugeManifest }]), 'ERR_TOO_LARGE', /manifest.json is \d+ bytes, more than the 4194304/);
  // a gzip archive of one member of zeros, streamed: stops at the limit
  const header = rawTar([{ name: 'zeros', content: '' }]).subarray(0, 512);
  const size = 256 * 1024 * 1024;
  header.write(size.toString(8).padStart(11, '0') + '\0', 124, 'latin1');
  header.write('        ', 148, 'latin1');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  async function* zeros(): AsyncGenerator<Buffer> {
    yield header;
    const chunk = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < size / chunk.length; i++) yield chunk;
    yield Buffer.alloc(1024);
  }
  const bomb = Readable.from(zeros()).pipe(createGzip({ level: 1 }));
  await assertLoadFails(runtime, bomb, 'ERR_ARCHIVE_TOO_LARGE', /expands past 33554432 bytes .*decompression bomb/, undefined, { maxLayerSize: 32 * 1024 * 1024 });
  assert.ok(!treeOf(runtime.root).some((path) => path.endsWith('zeros')));
  // compressed but within the limit: loads
  const [image] = await runtime.images.load(Readable.from([gzipSync(dockerArchive())]));
  assert.equal(image!.layerPaths.length, 1);
});

test('import: a hostile rootfs tarball is refused like a hostile layer', async () => {
  await using runtime = await temporaryRuntime();
  const before = storeFiles(runtime);
  const tarball = rawTar([{ name: 'ok', content: 'x' }, { name: 'etc', type: '2', linkname: '/etc' }, { name: 'etc/berth-import-escape', content: 'x' }]);
  await assert.rejects(runtime.images.import(Readable.from([tarball])), { name: 'LayerUnpackError', code: 'ERR_UNSAFE_ENTRY', message: /through the symlink 'etc'/ });
  assert.ok(!existsSync('/etc/berth-import-escape'));
  assert.deepEqual(storeFiles(runtime), before);
  const bomb = gzipSync(rawTar([{ name: 'zeros', content: Buffer.alloc(32 * 1024 * 1024) }]));
  await assert.rejects(runtime.images.import(Readable.from([bomb]), { maxLayerSize: 1024 * 1024 }), { code: 'ERR_LAYER_TOO_LARGE' });
  assert.deepEqual(storeFiles(runtime), before);
});

test('archives cut short anywhere, or garbage, are typed errors for load and import, and nothing is kept', async () => {
  await using runtime = await temporaryRuntime();
  const before = storeFiles(runtime);
  let uncaught = 0;
  const count = () => uncaught++;
  process.on('uncaughtException', count);
  try {
    const archive = dockerArchive();
    const gzipped = gzipSync(archive);
    const rootfs = rawTar([{ name: 'bin/file', content: Buffer.alloc(200_000, 0x61) }, { name: 'etc/passwd', content: 'root:x:0:0::/:/bin/sh\n' }]);
    const cuts = (data: Buffer) => [1, 100, 511, 512, 513, 1024, data.length >> 2, data.length >> 1, data.length - 1024, data.length - 1].map((at) => data.subarray(0, at));
    const loaded: number[] = [];
    for (const cut of [...cuts(archive), ...cuts(gzipped), Buffer.from('garbage'.repeat(200))]) {
      await runtime.images.load(Readable.from([cut])).then(
        async (images) => {
          loaded.push(cut.length); // cut within the end-of-archive blocks: every member is whole
          for (const image of images) await image.remove();
        },
        (error: unknown) => assert.ok(error instanceof BerthError && error.code?.startsWith('ERR_'), `load of ${cut.length} bytes: a typed error, got ${String(error)}`),
      );
    }
    assert.deepEqual(loaded, [archive.length - 1024], 'only the archive without its end blocks loads');
    for (const cut of [...cuts(rootfs), ...cuts(gzipSync(rootfs))]) {
      await runtime.images.import(Readable.from([cut])).then(
        async (image) => image.remove(), // a cut at an entry's end is a shorter, valid tarball
        (error: unknown) => assert.ok(error instanceof BerthError && error.code?.startsWith('ERR_'), `import of ${cut.length} bytes: a typed error, got ${String(error)}`),
      );
    }
  } finally {
    process.off('uncaughtException', count);
  }
  assert.equal(uncaught, 0, 'no uncaught exception');
  assert.deepEqual(storeFiles(runtime), before, 'the store gained nothing');
});
