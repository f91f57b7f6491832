import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BerthError, Runtime } from '../lib/index.js';

test('Runtime.open under a file, or on one, is a BerthError naming the path; nothing is created', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-open-'));
  try {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a directory\n');
    for (const root of [join(file, 'state'), join(file, 'deeper', 'state'), file]) {
      await assert.rejects(Runtime.open({ root }), (error: unknown) => {
        assert.ok(error instanceof BerthError, `${root}: ${String(error)}`);
        assert.equal(error.code, 'ENOTDIR');
        assert.equal(error.path, file);
        assert.equal(error.message, `cannot use ${root} as berth's state root: ${file} is not a directory. Give Runtime.open() a directory berth may create and write.`);
        return true;
      });
    }
    assert.deepEqual(readdirSync(dir), ['a-file']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Runtime.open where the root cannot be created (read-only /proc) is a BerthError with the errno name', async () => {
  await assert.rejects(Runtime.open({ root: '/proc/berth-state' }), (error: unknown) => {
    assert.ok(error instanceof BerthError, String(error));
    assert.equal(error.path, '/proc/berth-state');
    assert.equal(error.syscall, 'mkdir');
    assert.match(error.code, /^E[A-Z]+$/);
    assert.match(error.message, /^cannot use \/proc\/berth-state as berth's state root: /);
    return true;
  });
});
