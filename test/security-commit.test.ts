/**
 * Committing a running container whose process works against the commit:
 * it swaps a file for a symlink to a host file, and a directory for a symlink
 * to a host directory, as fast as it can, while the host reads its writable
 * layer. The committed layer must never hold the host's bytes.
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
