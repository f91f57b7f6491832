import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { BUSYBOX, temporaryRuntime, withDeadline, waitUntil } from './helpers.js';
import { tarEntries } from './helpers-tar.js';

test('export of a running container: the image with its changes; /proc, /sys and /dev as empty directories', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({
    image: BUSYBOX, cmd: ['sh', '-c', 'echo exported > /root-file; rm /etc/group; touch /ready; exec sleep 60'],
  });
  await container.start();
  await waitUntil(async () => (await container.exec(['test', '-e', '/ready'])).exitCode === 0, 'the container to be ready', undefined, 0);
  const entries = await tarEntries(await container.export());
  const names = entries.map((e) => e.name);
  assert.ok(names.includes('bin/busybox'), 'the image is there');
  assert.ok(names.includes('etc/passwd'));
  assert.ok(!names.includes('etc/group'), 'a deleted file is not');
  assert.equal(entries.find((e) => e.name === 'root-file')?.data.toString(), 'exported\n');
  assert.ok(names.every((name) => !name.startsWith('/')), 'names are relative');
  for (const mountPoint of ['proc', 'sys', 'dev']) {
    assert.equal(entries.find((e) => e.name.replace(/\/$/, '') === mountPoint)?.type, 'directory', `${mountPoint} is there`);
    assert.deepEqual(names.filter((name) => name.startsWith(`${mountPoint}/`) && name !== `${mountPoint}/`), [], `${mountPoint} is empty`);
  }
  const sh = entries.find((e) => e.name === 'bin/sh');
  assert.equal(sh?.type, 'symlink');
  // files mounted over (/etc/hostname, …) are archived empty, as the mount points they are
  const { pid } = (await container.inspect()).state;
  const fileMounts = readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point.startsWith('/etc/'));
  for (const point of fileMounts) assert.equal(entries.find((e) => e.name === point.slice(1))?.data.length, 0, point);
});

test('export of an exited container reads its layers and changes', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({
    image: BUSYBOX, cmd: ['sh', '-c', 'mkdir -p /data && echo kept > /data/file && chmod 600 /data/file && rm -r /home'],
  });
  await container.start();
  assert.equal((await withDeadline(container.wait(), 'the container to exit')).exitCode, 0);
  const entries = await tarEntries(await container.export());
  const file = entries.find((e) => e.name === 'data/file');
  assert.equal(file?.data.toString(), 'kept\n');
  assert.equal(file!.mode & 0o777, 0o600);
  assert.deepEqual(entries.filter((e) => e.name.startsWith('home')), [], 'the removed directory is gone');
  assert.ok(entries.some((e) => e.name === 'bin/busybox'));
});
