import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Container } from '../lib/index.js';
import { BUSYBOX, mountsUnder, temporaryRuntime, withDeadline, collectAll } from './helpers.js';

function snapshot(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: false }) as string[];
}

test('the rootfs is writable through the overlay and the image layer is unchanged', async () => {
  await using runtime = await temporaryRuntime();
  const image = await runtime.images.get(BUSYBOX);
  const layer = image.layerPaths[0]!;
  const before = snapshot(layer).sort();
  const passwdBefore = readFileSync(join(layer, 'etc/passwd'), 'utf8');

  const result = await Container.run(
    BUSYBOX,
    ['sh', '-c', 'echo new > /created && echo changed >> /etc/passwd && rm /bin/ls && mkdir -p /var/data && cat /created && ls /bin/ls'],
    { runtime, keep: true },
  );
  assert.equal(result.stdout, 'new\n');
  assert.match(result.stderr, /ls: not found|No such file/);

  assert.deepEqual(snapshot(layer).sort(), before);
  assert.equal(readFileSync(join(layer, 'etc/passwd'), 'utf8'), passwdBefore);
  // the change lives in the container's upper directory
  const container = await runtime.containers.get(result.id);
  const upper = join((await container.inspect()).path, 'upper');
  assert.equal(readFileSync(join(upper, 'created'), 'utf8'), 'new\n');

  // a restart sees its own earlier writes; a new container does not
  await container.start();
  await withDeadline(container.wait(), 'the container to exit');
  const fresh = await Container.run(BUSYBOX, ['sh', '-c', 'cat /created || echo absent'], { runtime });
  assert.match(fresh.stdout + fresh.stderr, /absent/);
  assert.deepEqual(mountsUnder(runtime.root), []);
});

test('readonlyRootfs: the root cannot be written, /tmp-like mounts still can', async () => {
  await using runtime = await temporaryRuntime();
  const result = await Container.run(BUSYBOX, ['sh', '-c', 'touch /x || echo refused; echo ok > /dev/shm/y && cat /dev/shm/y'], {
    runtime, readonlyRootfs: true,
  });
  assert.match(result.stdout, /refused\nok\n/);
  assert.match(result.stderr, /Read-only file system/);
});

test('a plain directory works as rootfs', async () => {
  await using runtime = await temporaryRuntime();
  const layer = (await runtime.images.get(BUSYBOX)).layerPaths[0]!;
  const result = await Container.run(BUSYBOX, ['true'], { runtime });
  assert.equal(result.exitCode, 0);
  const container = await runtime.containers.create({ rootfs: layer, cmd: ['/bin/echo', 'from a directory'], attach: true });
  await container.start();
  const chunks = await collectAll<Buffer>(container.stdout, 'stdout to end');
  assert.deepEqual(await withDeadline(container.wait(), 'the container to exit'), { exitCode: 0, signal: null, oomKilled: false });
  assert.equal(Buffer.concat(chunks).toString(), 'from a directory\n');
  await container.remove();
});
