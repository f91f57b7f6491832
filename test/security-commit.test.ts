/**
 * Committing a running container whose process works against the commit:
 * it swaps a file for a symlink to a host file, and a directory for a symlink
 * to a host directory, and cuts a large file short in place, as fast as it
 * can, while the host reads its writable layer. The committed layer must never
 * hold the host's bytes, and a failed commit is a typed error, never an
 * exception that takes down the caller's process.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, lstatSync, readlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BerthError } from '../lib/index.js';
import { BUSYBOX, temporaryRuntime } from './helpers.js';

const SECRET = 'HOST SECRET, never in an image';

/** Every regular file under `dir` with its content. */
function filesUnder(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) out.set(path, readFileSync(join(dir, path), 'utf8'));
    }
  };
  walk('');
  return out;
}

test('a container swapping files and directories for symlinks to the host during commit never gets host bytes into the image', async () => {
  await using runtime = await temporaryRuntime();
  const secretDir = mkdtempSync(join(tmpdir(), 'berth-secret-'));
  try {
    writeFileSync(join(secretDir, 'secret'), SECRET);
    writeFileSync(join(secretDir, 'f'), SECRET);
    const script = [
      `s=${secretDir}`,
      'mkdir -p /w',
      'while :; do',
      '  echo innocent > /w/x.tmp; mv -f /w/x.tmp /w/x',
      '  ln -sfn $s/secret /w/x.l; mv -f /w/x.l /w/x',
      '  rm -rf /w/d.tmp; mkdir /w/d.tmp; echo inside > /w/d.tmp/f',
      '  rm -rf /w/d; mv /w/d.tmp /w/d',
      '  ln -sfn $s /w/d.l; rm -rf /w/d; mv -f /w/d.l /w/d',
      '  head -c 262144 /dev/zero > /w/big', // cut to 0 and written again in place: a short read mid-commit
      'done',
    ].join('\n');
    await using container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sh', '-c', script] });
    await container.start();
    const deadline = Date.now() + 10_000;
    while (!existsSync(join(runtime.root, 'containers', container.id, 'upper', 'w', 'x'))) {
      assert.ok(Date.now() < deadline, 'the container starts swapping');
      await sleep(10);
    }
    let committed = 0;
    for (let i = 0; i < 30; i++) {
      // pause: false is the hard case (the process keeps running); the default pauses it
      const image = await runtime.images.commit(container, { pause: i % 3 !== 0 }).catch((error: unknown) => {
        assert.ok(error instanceof BerthError, `a failed commit is a berth error: ${String(error)}`);
        assert.equal(error.code, 'ERR_CHANGED');
        return undefined;
      });
      if (!image) continue;
      committed++;
      const layer = image.layerPaths[0]!;
      for (const [path, content] of filesUnder(layer)) assert.ok(!content.includes(SECRET), `${path} in the committed layer holds the host's secret`);
      for (const name of ['w/x', 'w/d']) {
        const stat = lstatSync(join(layer, name), { throwIfNoEntry: false });
        if (stat?.isSymbolicLink()) assert.ok(readlinkSync(join(layer, name)).startsWith(secretDir), 'a symlink is stored as a symlink');
      }
      await image.remove({ force: true });
    }
    assert.ok(committed > 0, 'some commits went through');
    assert.equal((await container.inspect()).state.status, 'running', 'commit thawed the container');
  } finally {
    rmSync(secretDir, { recursive: true, force: true });
  }
});

test('commit pauses a running container and thaws it; a container paused by the user stays paused', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sh', '-c', 'echo state > /state; exec sleep 60'] });
  await container.start();
  const deadline = Date.now() + 10_000;
  const written = join(runtime.root, 'containers', container.id, 'upper', 'state');
  // the file appears (O_CREAT) before its bytes are written: wait for both
  while (!existsSync(written) || readFileSync(written, 'utf8') !== 'state\n') {
    assert.ok(Date.now() < deadline, 'the container writes its file');
    await sleep(10);
  }
  const image = await runtime.images.commit(container);
  assert.equal(readFileSync(join(image.layerPaths[0]!, 'state'), 'utf8'), 'state\n');
  assert.equal((await container.inspect()).state.status, 'running');
  await container.pause();
  await runtime.images.commit(container, { ref: 'paused:1' });
  assert.equal((await container.inspect()).state.status, 'paused');
  await container.unpause();
  await assert.rejects(runtime.images.commit(container, { pause: 'yes' as unknown as boolean }), { name: 'TypeError', message: /pause must be a boolean/ });
});

test('packing a tree whose names flip between symlinks, files and truncated files gives a tar without host bytes, or ERR_CHANGED', async () => {
  const { packLayer } = await import('../lib/image/layer-pack.js');
  const { extract } = await import('tar-stream');
  const { spawn } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), 'berth-flip-'));
  const secretDir = mkdtempSync(join(tmpdir(), 'berth-secret-'));
  writeFileSync(join(secretDir, 'secret'), SECRET);
  // a shell on the host flips names as fast as it can: symlink ↔ file by rename, and a large file cut short in place
  const flipper = spawn('busybox', ['sh', '-c', [
    `cd ${dir}`,
    'head -c 262144 /dev/zero > big',
    'while :; do',
    `  ln -sfn ${secretDir}/secret l.tmp; mv -f l.tmp x`,
    '  echo innocent > f.tmp; mv -f f.tmp x',
    '  : > big; head -c 262144 /dev/zero > big',
    'done',
  ].join('\n')], { stdio: 'ignore' });
  const outcomes = { packed: 0, changed: 0 };
  try {
    const deadline = Date.now() + 3_000;
    while (Date.now() < deadline || outcomes.packed === 0 || outcomes.changed === 0) {
      assert.ok(Date.now() < deadline + 20_000, `both outcomes within the time: ${JSON.stringify(outcomes)}`);
      try {
        const tar = extract();
        const read = new Promise<void>((resolve, reject) => {
          tar.on('entry', (header, stream, next) => {
            const chunks: Buffer[] = [];
            stream.on('error', () => {}); // the extract's error ends the test's wait
            stream.on('data', (chunk) => chunks.push(chunk as Buffer));
            stream.on('end', () => {
              assert.ok(!Buffer.concat(chunks).toString().includes(SECRET), `${header.name} holds the host's secret`);
              if (header.type === 'symlink') assert.ok(header.linkname?.startsWith(secretDir), 'a symlink is stored as a symlink');
              next();
            });
          });
          tar.on('finish', resolve);
          tar.on('error', reject);
        });
        packLayer(dir).on('error', (error) => tar.destroy(error)).pipe(tar);
        await read;
        outcomes.packed++;
      } catch (error) {
        assert.ok(error instanceof BerthError, `a failed pack is a berth error: ${String(error)}`);
        assert.equal(error.code, 'ERR_CHANGED');
        outcomes.changed++;
      }
    }
  } finally {
    flipper.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    rmSync(secretDir, { recursive: true, force: true });
  }
});

test('a name that is not valid UTF-8 fails the commit with ERR_NAME_NOT_UTF8 naming it; nothing is stored', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sh', '-c', "mkdir -p /data && touch \"/data/bad$(printf '\\377')name\" /data/good"] });
  await container.start();
  assert.equal((await container.wait()).exitCode, 0);
  const before = (await runtime.images.list()).length;
  await assert.rejects(runtime.images.commit(container, { ref: 'localhost/not-utf8:1' }), {
    name: 'BerthError', code: 'ERR_NAME_NOT_UTF8', path: 'data/bad\\xffname', message: /rename it in the container/,
  });
  assert.equal((await runtime.images.list()).length, before);
  await assert.rejects(runtime.images.get('localhost/not-utf8:1'), { name: 'NotFoundError' });
});
