import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Container } from '../lib/index.js';
import { BUSYBOX, temporaryRuntime } from './helpers.js';

test('userns auto: smoke', async () => {
  await using runtime = await temporaryRuntime();
  const result = await Container.run(BUSYBOX, ['sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map; id; ls -ln / | head -5; touch /x && echo ok'], { runtime, userns: 'auto' });
  console.log(result);
  assert.equal(result.exitCode, 0);
});
