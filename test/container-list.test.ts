import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runFixture } from './helpers-process.js';
import { BUSYBOX, temporaryRuntime, withDeadline } from './helpers.js';
import { ConflictError, Container, NotFoundError } from '../lib/index.js';

test('list filters by labels, status and name', async () => {
  await using runtime = await temporaryRuntime();
  const make = (name: string, labels: Record<string, string>, cmd: string[]) => runtime.containers.create({ image: BUSYBOX, name, labels, cmd });
  const web = await make('web-1', { role: 'web', tier: 'front' }, ['sleep', '60']);
  const web2 = await make('web-2', { role: 'web' }, ['sleep', '60']);
  const db = await make('db-1', { role: 'db' }, ['true']);
  await make('idle', {}, ['true']);
  await web.start();
  await web2.start();
  await web2.pause();
  await db.start();
  await withDeadline(db.wait(), 'the container to exit');

  const names = async (options: Parameters<typeof runtime.containers.list>[0]) => (await runtime.containers.list(options)).map((c) => c.name).sort();
  assert.deepEqual(await names({}), ['web-1', 'web-2'], 'running and paused, like docker ps');
  assert.deepEqual(await names({ all: true }), ['db-1', 'idle', 'web-1', 'web-2']);
  assert.deepEqual(await names({ all: true, labels: { role: 'web' } }), ['web-1', 'web-2']);
  assert.deepEqual(await names({ all: true, labels: ['role=web', 'tier'] }), ['web-1']);
  assert.deepEqual(await names({ all: true, labels: ['role'] }), ['db-1', 'web-1', 'web-2']);
  assert.deepEqual(await names({ all: true, labels: { role: 'cache' } }), []);
  assert.deepEqual(await names({ status: 'exited' }), ['db-1'], 'a status filter implies all');
  assert.deepEqual(await names({ status: 'created' }), ['idle']);
  assert.deepEqual(await names({ status: 'paused' }), ['web-2']);
  assert.deepEqual(await names({ status: ['running', 'exited'] }), ['db-1', 'web-1']);
  assert.deepEqual(await names({ all: true, name: 'web' }), ['web-1', 'web-2'], 'a name string matches a part of the name');
  assert.deepEqual(await names({ all: true, name: /^web-1$/ }), ['web-1']);
  assert.deepEqual(await names({ status: 'running', labels: { role: 'web' }, name: '2' }), []);
  await assert.rejects(runtime.containers.list({ status: 'dead' as 'exited' }), TypeError);
  await assert.rejects(runtime.containers.list({ labels: ['=x'] }), TypeError);
  await web2.unpause();
});

test('a container started by process A: process B lists it by label, follows its logs, execs in it, stops it and reads its exit code', async () => {
  await using runtime = await temporaryRuntime();
  // (berth writes /etc/hostname where it provides one; the image has none)
  const script = '[ -e /etc/hostname ] || hostname > /etc/hostname; trap "exit 3" TERM; i=0; while [ $i -lt 5 ]; do i=$((i+1)); echo line-$i; sleep 0.05; done; while :; do sleep 0.1; done';
  const a = runFixture('start-labelled.ts', [runtime.root, 'managed', 'suite=acceptance', 'sh', '-c', script]);
  assert.equal(a.status, 0, a.stderr);
  const { id } = JSON.parse(a.stdout) as { id: string };
  await runtime.containers.create({ image: BUSYBOX, name: 'unrelated', labels: { suite: 'other' }, cmd: ['true'] });

  const b = runFixture('manage-by-label.ts', [runtime.root, 'suite=acceptance', 'line-5']);
  assert.equal(b.status, 0, b.stderr);
  const seen = JSON.parse(b.stdout) as {
    listed: string[];
    lines: { stream: string; time: string; line: string }[];
    exec: { exitCode: number; stdout: string };
    status: { exitCode: number };
    after: { status: string; exitCode: number };
  };
  assert.deepEqual(seen.listed, ['managed']);
  assert.deepEqual(seen.lines.map((l) => l.line), ['line-1', 'line-2', 'line-3', 'line-4', 'line-5'], 'in order, each once');
  const times = seen.lines.map((l) => Date.parse(l.time));
  assert.ok(times.every((t, i) => Number.isFinite(t) && (i === 0 || t >= times[i - 1]!)), 'with timestamps, in order');
  assert.deepEqual([seen.exec.exitCode, seen.exec.stdout], [0, `${id.slice(0, 12)}\n`]);
  assert.equal(seen.status.exitCode, 3);
  assert.deepEqual([seen.after.status, seen.after.exitCode], ['exited', 3]);
  // and this process sees the same
  const container = await runtime.containers.get('managed');
  assert.deepEqual((await withDeadline(container.wait(), 'the container to exit')).exitCode, 3);
});

test('a listed container removed afterwards: its id and name stay, what needs its files says it is gone', async () => {
  await using runtime = await temporaryRuntime();
  const container = await runtime.containers.create({ image: BUSYBOX, name: 'short-lived', labels: { role: 'x' }, cmd: ['sleep', '60'] });
  await container.start();
  const [listed] = await runtime.containers.list();
  assert.equal(listed!.name, 'short-lived');
  await container.remove({ force: true });
  assert.equal(listed!.id, container.id);
  assert.equal(listed!.name, 'short-lived');
  await assert.rejects(listed!.inspect(), NotFoundError);
  await assert.rejects(listed!.start(), NotFoundError);
  assert.deepEqual(await runtime.containers.list({ all: true, labels: { role: 'x' } }), []);
});

test('rename: the container is found, listed and reached on its network by its new name; a taken or bad name is refused', async () => {
  await using runtime = await temporaryRuntime();
  await runtime.networks.create({ name: 'renames' });
  await using server = await runtime.containers.create({ image: BUSYBOX, name: 'old-name', network: 'renames', cmd: ['sleep', '60'] });
  await using other = await runtime.containers.create({ image: BUSYBOX, name: 'taken', cmd: ['true'] });
  await server.start();
  await server.rename('new-name');
  assert.equal(server.name, 'new-name');
  assert.equal((await runtime.containers.get('new-name')).id, server.id);
  await assert.rejects(runtime.containers.get('old-name'), NotFoundError);
  assert.equal((await server.inspect()).name, 'new-name');
  assert.deepEqual((await runtime.containers.list()).map((c) => c.name), ['new-name']);
  const peer = await Container.run(BUSYBOX, ['sh', '-c', 'grep -c new-name /etc/hosts; grep -c old-name /etc/hosts; ping -c 1 -W 2 new-name >/dev/null && echo reached'], { runtime, network: 'renames' });
  assert.equal(peer.stdout, '1\n0\nreached\n', peer.stderr);
  await assert.rejects(server.rename('taken'), ConflictError);
  await assert.rejects(server.rename('bad/name'), TypeError);
  assert.equal((await runtime.containers.get('taken')).id, other.id);
  await server.remove({ force: true });
  await other.remove();
  await runtime.networks.remove('renames');
});
