import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startFixture, jsonOutput } from './helpers-process.js';
import { BUSYBOX, temporaryRuntime } from './helpers.js';

function outcomes(child: ReturnType<typeof startFixture>): Promise<string[]> {
  return jsonOutput<string[]>(child, 'the create-named fixture');
}

test('20 parallel creates of one name from 2 processes: exactly one wins, the rest get ConflictError', async () => {
  await using runtime = await temporaryRuntime();
  await runtime.images.get(BUSYBOX); // the built-in image exists before the race
  const results = (await Promise.all([
    outcomes(startFixture('create-named.ts', [runtime.root, 'contested', '10'])),
    outcomes(startFixture('create-named.ts', [runtime.root, 'contested', '10'])),
  ])).flat();
  assert.equal(results.length, 20);
  assert.equal(results.filter((r) => r === 'created').length, 1, results.join(' '));
  assert.equal(results.filter((r) => r === 'ConflictError').length, 19, results.join(' '));
  assert.equal(readdirSync(join(runtime.root, 'containers')).length, 1);
  assert.deepEqual(readdirSync(join(runtime.root, 'names')), ['contested']);
});
