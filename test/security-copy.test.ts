/**
 * Copying out of (copyFrom, export) a running container whose process works
 * against the copy: it swaps files for symlinks to the host, directories for
 * symlinks, files for FIFOs and sockets, and cuts files short or grows them,
 * as fast as it can, while the host reads its filesystem. The archive never
 * holds the host's bytes, a failed copy is a typed error, and nothing of it
 * ever surfaces as an uncaught exception in the caller's process, also when
 * the caller's own consumer fails in the middle of a file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { extract } from 'tar-stream';
import { BerthError, type Container } from '../lib/index.js';
import { BUSYBOX, temporaryRuntime, waitUntil, withDeadline } from './helpers.js';

const SECRET = 'HOST SECRET, never in an archive';

/** Counts uncaught exceptions while `body` runs; the process must see none. */
async function withoutUncaught<T>(body: () => Promise<T>): Promise<T> {
  const seen: unknown[] = [];
  const count = (error: unknown) => seen.push(error);
  process.on('uncaughtException', count);
  try {
    return await body();
  } finally {
    // a late 'error' event comes on a later tick
    await sleep(50);
    process.off('uncaughtException', count);
    assert.deepEqual(seen.map(String), [], 'no uncaught exception in the caller');
  }
}

async function lastLine(container: Container): Promise<string | undefined> {
  for await (const entry of container.logs({ tail: 1 })) return entry.line;
  return undefined;
}

/** Reads a tar stream to its end: every file's content, or the stream's error. */
async function readArchive(stream: Readable): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const tar = extract();
  const done = new Promise<void>((resolve, reject) => {
    tar.on('entry', (header, entry, next) => {
      const chunks: Buffer[] = [];
      entry.on('error', () => {}); // the extract's own error ends the wait
      entry.on('data', (chunk) => chunks.push(chunk as Buffer));
      entry.on('end', () => {
        files.set(header.name, Buffer.concat(chunks));
        next();
      });
    });
    tar.on('finish', resolve);
    tar.on('error', reject);
  });
  stream.on('error', (error) => tar.destroy(error));
  stream.pipe(tar);
  await done;
  return files;
}

test('a consumer that fails or stops in the middle of a file ends copyFrom and export with its error, nothing uncaught, nothing held', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sh', '-c', 'head -c 4194304 /dev/zero > /big; echo ready; exec sleep 60'] });
  await container.start();
  await waitUntil(async () => (await lastLine(container)) === 'ready', 'the file is written', 10_000);
  const descriptors = () => readdirSync('/proc/self/fd').length;
  const before = descriptors();
  await withoutUncaught(async () => {
    for (const open of [() => container.copyFrom('/big'), () => container.export()]) {
      for (let i = 0; i < 3; i++) {
        let seen = 0;
        const failing = new Writable({
          write(chunk: Buffer, _encoding, callback) {
            seen += chunk.length;
            callback(seen > 256 * 1024 ? new Error('the disk is full') : null);
          },
        });
        await assert.rejects(withDeadline(pipeline(await open(), failing), 'the failed copy'), { message: 'the disk is full' });
      }
      // a reader that stops without an error (a loop left early)
      const stream = await open();
      stream.once('data', () => stream.destroy());
      await withDeadline(new Promise((resolve) => stream.on('close', resolve)), 'the abandoned copy');
    }
  });
  // the archive's files and the container's root are closed, not held by a copy waiting forever
  await waitUntil(() => descriptors() <= before, `the copies' descriptors are closed (${before} before)`, 10_000);
  await container.stop({ timeout: 1 });
});

test('a layer whose reader fails in the middle of a file ends the pack with that error, nothing uncaught, nothing held', async () => {
  const { packLayer } = await import('../lib/image/layer-pack.js');
  const dir = mkdtempSync(join(tmpdir(), 'berth-pack-'));
  try {
    writeFileSync(join(dir, 'big'), Buffer.alloc(4 * 1024 * 1024));
    const descriptors = () => readdirSync('/proc/self/fd').length;
    const before = descriptors();
    await withoutUncaught(async () => {
      for (const how of ['error', 'destroy']) {
        let seen = 0;
        const stream = packLayer(dir);
        const failing = new Writable({
          write(chunk: Buffer, _encoding, callback) {
            seen += chunk.length;
            callback(seen > 256 * 1024 ? new Error('the disk is full') : null);
          },
        });
        if (how === 'error') {
          await assert.rejects(withDeadline(pipeline(stream, failing), 'the failed pack'), { message: 'the disk is full' });
        } else {
          // the unpacker refused an entry: it destroys the stream without an error
          stream.once('data', () => stream.destroy());
          await withDeadline(new Promise((resolve) => stream.on('close', resolve)), 'the destroyed pack');
        }
      }
    });
    await waitUntil(() => descriptors() <= before, `the packed file is closed (${before} descriptors before)`, 10_000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('copyFrom and export of a container swapping names for symlinks and FIFOs and cutting files short give archives without host bytes, or typed errors', async () => {
  await using runtime = await temporaryRuntime();
  const secretDir = mkdtempSync(join(tmpdir(), 'berth-secret-'));
  try {
    writeFileSync(join(secretDir, 'secret'), SECRET);
    const script = [
      `s=${secretDir}`,
      'mkdir -p /w',
      'echo ready',
      'while :; do',
      '  echo innocent > /w/x.tmp; mv -f /w/x.tmp /w/x',
      '  ln -sfn $s/secret /w/x.l; mv -f /w/x.l /w/x',
      '  rm -f /w/x.f; mkfifo /w/x.f; mv -f /w/x.f /w/x',
      '  rm -rf /w/d.tmp; mkdir /w/d.tmp; echo inside > /w/d.tmp/f',
      '  rm -rf /w/d; mv /w/d.tmp /w/d',
      '  ln -sfn $s /w/d.l; rm -rf /w/d; mv -f /w/d.l /w/d',
      '  : > /w/big; head -c 262144 /dev/zero > /w/big', // cut to 0 and grown again in place
      'done',
    ].join('\n');
    await using container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sh', '-c', script] });
    await container.start();
    await waitUntil(async () => (await lastLine(container)) === 'ready', 'the container starts swapping', 10_000);
    const outcomes = { archived: 0, failed: 0 };
    await withoutUncaught(async () => {
      for (let i = 0; i < 20; i++) {
        const stream = await (i % 2 === 0 ? container.copyFrom('/w') : container.export());
        try {
          const files = await withDeadline(readArchive(stream), 'the archive');
          for (const [name, content] of files) assert.ok(!content.includes(SECRET), `${name} holds the host's secret`);
          outcomes.archived++;
        } catch (error) {
          assert.ok(error instanceof BerthError, `a failed copy is a berth error: ${String(error)}`);
          outcomes.failed++;
        }
      }
    });
    assert.ok(outcomes.archived > 0, `some copies went through: ${JSON.stringify(outcomes)}`);
    await container.stop({ timeout: 1 });
  } finally {
    rmSync(secretDir, { recursive: true, force: true });
  }
});

test('copyTo of a tar stream cut short, or garbage, is ERR_ARCHIVE_INVALID; a source that fails is its own error', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({ image: BUSYBOX, cmd: ['true'] });
  const { rawTar } = await import('./helpers-hostile-tar.js');
  const tar = rawTar([{ name: 'a', content: Buffer.alloc(10_000, 0x61) }, { name: 'b', content: Buffer.alloc(100_000, 0x62) }]);
  await withoutUncaught(async () => {
    for (const bytes of [tar.subarray(0, 512 + 10_240 + 512 + 5_000), tar.subarray(0, 700), Buffer.from('not a tar at all'.repeat(64))]) {
      await assert.rejects(withDeadline(container.copyTo(Readable.from([bytes]), '/in'), 'the copy'), (error: unknown) => {
        assert.ok(error instanceof BerthError, `a berth error: ${String(error)}`);
        assert.equal(error.code, 'ERR_ARCHIVE_INVALID', error.message);
        assert.match(error.message, /copying into \/in: the stream is not a valid tar/);
        return true;
      });
    }
    const failing = new Readable({ read() { this.destroy(new Error('the upload broke')); } });
    await assert.rejects(withDeadline(container.copyTo(failing, '/in'), 'the copy'), { message: 'the upload broke' });
  });
});
