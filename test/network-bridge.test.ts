import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { Container } from '../lib/index.js';
import { startFixture, jsonOutput } from './helpers-process.js';
import { BUSYBOX, processesMentioning, temporaryRuntime, withDeadline } from './helpers.js';
import { berthNetworkLeftovers } from './network-helpers.js';
import { hostVethName } from '../lib/network/host-links.js';

const ECHO_SERVER = 'while true; do nc -l -p 7000 -e cat; done';
/** A shell function: send $1 to host $2 port 7000, retrying while the server loop is between connections. */
const SEND = 'send() { for i in 1 2 3 4 5 6 7 8 9 10; do echo "$1" | nc -w 5 "$2" 7000 && return; sleep 0.2; done; }';

test('containers on one network reach each other by name and alias; another network cannot', async () => {
  await using runtime = await temporaryRuntime();
  await runtime.networks.create({ name: 'front' });
  await runtime.networks.create({ name: 'back' });
  await using server = await runtime.containers.create({ image: BUSYBOX, name: 'redis', network: 'front', networkAliases: ['cache'], cmd: ['sh', '-c', ECHO_SERVER] });
  await server.start();
  const serverIp = (await server.inspect()).networks[0]!.ip;
  const friend = await Container.run(BUSYBOX, ['sh', '-c', `${SEND}; send by-name redis; send by-alias cache`], { runtime, network: 'front' });
  assert.equal(friend.stdout, 'by-name\nby-alias\n', friend.stderr);
  const stranger = await Container.run(BUSYBOX, ['sh', '-c', `echo hi | nc -w 2 ${serverIp} 7000 || echo unreachable; grep -c redis /etc/hosts`], { runtime, network: 'back' });
  assert.doesNotMatch(stranger.stdout, /^hi/m);
  assert.match(stranger.stdout, /unreachable\n0\n/, 'neither reachable nor known by name');
  await server.remove({ force: true });
  for (const name of ['front', 'back']) await runtime.networks.remove(name);
});

test("'none' has only lo; 'container:<id>' shares the other's interfaces", async () => {
  await using runtime = await temporaryRuntime();
  const none = await Container.run(BUSYBOX, ['ls', '/sys/class/net'], { runtime });
  assert.equal(none.stdout, 'lo\n');
  await runtime.networks.create({ name: 'shared' });
  await using first = await runtime.containers.create({ image: BUSYBOX, network: 'shared', cmd: ['sleep', '60'] });
  await first.start();
  const ip = (await first.inspect()).networks[0]!.ip;
  const joined = await Container.run(BUSYBOX, ['sh', '-c', 'ip -4 -o addr show dev eth0'], { runtime, network: `container:${first.name}` });
  assert.match(joined.stdout, new RegExp(`inet ${ip.replace(/\./g, '\\.')}/`));
  await first.remove({ force: true });
  await runtime.networks.remove('shared');
});

test('an internal network has no way out; a normal one reaches an address outside it', async () => {
  await using runtime = await temporaryRuntime();
  // "the outside": an address of the test's own network namespace, on a veth of its own
  execFileSync('ip', ['link', 'add', 'outside0', 'type', 'veth', 'peer', 'name', 'outside1']);
  execFileSync('ip', ['addr', 'add', '198.51.100.1/32', 'dev', 'outside0']);
  execFileSync('ip', ['link', 'set', 'outside0', 'up']);
  const server = createServer((socket) => socket.end('outside-says-hi\n'));
  await new Promise<void>((resolve) => server.listen(7100, '198.51.100.1', resolve));
  try {
    await runtime.networks.create({ name: 'sealed', internal: true });
    await runtime.networks.create({ name: 'open' });
    const sealed = await Container.run(BUSYBOX, ['sh', '-c', 'ip route; nc -w 2 198.51.100.1 7100 || echo no-way-out'], { runtime, network: 'sealed' });
    assert.doesNotMatch(sealed.stdout, /default/);
    assert.match(sealed.stdout, /no-way-out/);
    const open = await Container.run(BUSYBOX, ['sh', '-c', 'for i in 1 2 3 4 5; do nc -w 2 198.51.100.1 7100 && break; sleep 0.2; done'], { runtime, network: 'open' });
    assert.equal(open.stdout, 'outside-says-hi\n');
    for (const name of ['sealed', 'open']) await runtime.networks.remove(name);
  } finally {
    server.close();
    execFileSync('ip', ['link', 'del', 'outside0']);
  }
});

test('connect() and disconnect() a running container', async () => {
  await using runtime = await temporaryRuntime();
  await runtime.networks.create({ name: 'late' });
  await using server = await runtime.containers.create({ image: BUSYBOX, name: 'late-server', network: 'late', cmd: ['sh', '-c', ECHO_SERVER] });
  await server.start();
  await using client = await runtime.containers.create({ image: BUSYBOX, cmd: ['sleep', '60'] });
  await client.start();
  const endpoint = await runtime.networks.connect('late', client, { aliases: ['newcomer'] });
  assert.equal(endpoint.interface, 'eth0');
  const reached = await client.exec(['sh', '-c', `${SEND}; send joined late-server`]);
  assert.equal(reached.stdout, 'joined\n');
  assert.match(await server.exec(['cat', '/etc/hosts']).then((r) => r.stdout), /newcomer/);
  await runtime.networks.disconnect('late', client);
  const gone = await client.exec(['ls', '/sys/class/net']);
  assert.equal(gone.stdout, 'lo\n');
  await client.remove({ force: true });
  await server.remove({ force: true });
  await runtime.networks.remove('late');
});

test('50 containers created in parallel on one network from 2 processes get 50 distinct addresses', async () => {
  await using runtime = await temporaryRuntime();
  await runtime.images.get(BUSYBOX);
  await runtime.networks.create({ name: 'crowd' });
  const run = (count: number) =>
    jsonOutput<string[]>(startFixture('create-on-network.ts', [runtime.root, 'crowd', String(count)]), 'the create-on-network fixture');
  const addresses = (await Promise.all([run(25), run(25)])).flat();
  assert.equal(addresses.length, 50);
  assert.equal(new Set(addresses).size, 50, 'all distinct');
  await assert.rejects(runtime.networks.remove('crowd'), { name: 'ConflictError' });
  for (const container of await runtime.containers.list({ all: true })) await container.remove();
  await runtime.networks.remove('crowd');
});

test('after removing everything, and after kill -9 of a monitor and Runtime.open, nothing of berth is left in the network', async () => {
  await using runtime = await temporaryRuntime();
  const { bridge } = await runtime.networks.create({ name: 'tidy' });
  const container = await runtime.containers.create({ image: BUSYBOX, network: 'tidy', ports: { '7000/tcp': 0 }, cmd: ['sh', '-c', ECHO_SERVER] });
  await container.start();
  assert.ok(berthNetworkLeftovers().length > 0, 'a bridge, a veth and the table exist while it runs');
  process.kill((await container.inspect()).state.monitorPid!, 'SIGKILL');
  const { Runtime } = await import('../lib/index.js');
  const reopened = await Runtime.open({ root: runtime.root });
  await (await reopened.containers.get(container.id)).remove({ force: true });
  await reopened.networks.remove('tidy');
  assert.deepEqual(processesMentioning(runtime.root), [], 'no forwarding process');
  // other test files may have networks of their own in this namespace: look for ours
  const leftovers = berthNetworkLeftovers();
  assert.deepEqual(leftovers.filter((l) => l === bridge || l === hostVethName(container.id, 'tidy')), []);
  const table = `table inet berth_${createHash('sha256').update(runtime.root).digest('hex').slice(0, 8)}`;
  assert.ok(!leftovers.includes(table), "the runtime's nftables table goes with its last network");
});

test('restarts on a bridge network are attached by the monitor alone, with the same address', async () => {
  await using runtime = await temporaryRuntime();
  await runtime.networks.create({ name: 'again' });
  await using container = await runtime.containers.create({
    image: BUSYBOX, network: 'again', restart: 'on-failure:2', cmd: ['sh', '-c', 'ip -4 -o addr show dev eth0; exit 1'],
  });
  await container.start();
  assert.deepEqual(await withDeadline(container.wait(), 'the container to exit'), { exitCode: 1, signal: null, oomKilled: false });
  const ip = (await container.inspect()).networks[0]!.ip;
  const lines: string[] = [];
  for await (const entry of container.logs()) lines.push(entry.line);
  assert.equal(lines.length, 3, lines.join('\n'));
  for (const line of lines) assert.match(line, new RegExp(`inet ${ip.replace(/\./g, '\\.')}/`));
  await container.remove();
  await runtime.networks.remove('again');
});
