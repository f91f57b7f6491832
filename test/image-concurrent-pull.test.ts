import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { temporaryRuntime } from './helpers.js';
import { busyboxTar, pushImage, startBearerProxy, startRegistry, tarOf, treeOf } from './image-helpers.js';
import { jsonOutput } from './helpers-process.js';

function pullInAnotherProcess(root: string, reference: string): Promise<{ id: string; layers: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures/image-pull.ts'), root, reference], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return jsonOutput<{ id: string; layers: number }>(child, 'the pull in another process');
}

test('two processes pulling the same image at once download each layer once and keep one copy', async () => {
  await using registry = await startRegistry();
  await using proxy = await startBearerProxy(registry.host); // counts what reaches the registry
  await using runtime = await temporaryRuntime();
  const layers = [busyboxTar()];
  for (let i = 0; i < 5; i++) layers.push(await tarOf([{ name: `layer-${i}`, content: randomBytes(2 * 1024 * 1024) }]));
  await pushImage(registry.host, 'shared/app:1', [{ layers }]);

  const reference = `${proxy.host}/shared/app:1`;
  const [a, b] = await Promise.all([pullInAnotherProcess(runtime.root, reference), pullInAnotherProcess(runtime.root, reference)]);
  assert.equal(a.id, b.id);
  assert.equal(a.layers, 6);

  const image = await runtime.images.get(reference);
  assert.equal(image.id, a.id);
  for (const layer of image.inspect().layers) {
    assert.equal(proxy.blobGets.get(layer.digest), 1, `layer ${layer.digest} was downloaded once`);
  }
  assert.equal(readdirSync(join(runtime.root, 'layers')).filter((name) => /^[a-f0-9]{64}$/.test(name)).length, 6);
  assert.equal(readdirSync(join(runtime.root, 'images')).filter((name) => name.endsWith('.json')).length, 1);
  assert.deepEqual(treeOf(runtime.root).filter((path) => path.includes('.tmp')), []);
  assert.deepEqual(readdirSync(join(runtime.root, 'locks')).filter((name) => name.startsWith('layer-')), [], 'no layer lock file is left');
});
