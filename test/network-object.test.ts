import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConflictError, Network, NotFoundError } from '../lib/index.js';
import { BUSYBOX, temporaryRuntime } from './helpers.js';
import { links } from './network-helpers.js';

test('a Network: its fields, get and list, connect and disconnect by name or object, inspect with its containers, remove', async () => {
  await using runtime = await temporaryRuntime();
  const created = await runtime.networks.create({ name: 'app', subnet: '10.77.7.0/24', labels: { project: 'object' } });
  assert.ok(created instanceof Network);
  assert.deepEqual(
    { name: created.name, subnet: created.subnet, gateway: created.gateway, internal: created.internal, labels: created.labels },
    { name: 'app', subnet: '10.77.7.0/24', gateway: '10.77.7.1', internal: false, labels: { project: 'object' } },
  );
  assert.match(created.id, /^[0-9a-f]{64}$/);
  assert.ok(links().includes(created.bridge));
  assert.equal(JSON.parse(JSON.stringify(created)).bridge, created.bridge);
  const fetched = await runtime.networks.get('app');
  assert.equal(fetched.id, created.id);
  assert.deepEqual((await runtime.networks.list({ labels: { project: 'object' } })).map((n) => n.name), ['app']);

  await using db = await runtime.containers.create({ image: BUSYBOX, name: 'db', cmd: ['sleep', '60'] });
  await using web = await runtime.containers.create({ image: BUSYBOX, name: 'web', network: 'app', cmd: ['sleep', '60'] });
  await db.start();
  const endpoint = await fetched.connect('db', { aliases: ['database'] });
  assert.equal(endpoint.ip.startsWith('10.77.7.'), true);
  const inspect = await fetched.inspect();
  assert.deepEqual(
    inspect.containers.map((c) => [c.name, c.aliases, c.interface]).sort(),
    [['db', ['database'], 'eth0'], ['web', [], 'eth0']],
  );
  assert.deepEqual((await fetched.containers()).map((c) => c.name).sort(), ['db', 'web']);
  await assert.rejects(fetched.remove(), ConflictError);
  await fetched.disconnect(db);
  await assert.rejects(fetched.disconnect('db'), NotFoundError);
  await web.remove({ force: true });
  await fetched.remove();
  await assert.rejects(runtime.networks.get('app'), NotFoundError);
  assert.ok(!links().includes(created.bridge));
});

test('await using removes a network at the end of its scope', async () => {
  await using runtime = await temporaryRuntime();
  let bridge: string;
  {
    await using scoped = await runtime.networks.create({ name: 'scoped' });
    bridge = scoped.bridge;
    assert.ok(links().includes(bridge));
  }
  assert.ok(!links().includes(bridge));
  assert.deepEqual(await runtime.networks.list(), []);
});
