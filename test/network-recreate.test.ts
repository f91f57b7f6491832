import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Container } from '../lib/index.js';
import { BUSYBOX, temporaryRuntime } from './helpers.js';

// A peer removed and created again on the same network gets an address that
// other containers may still have in their ARP cache. Reaching it by name
// must work at once, every time (Docker derives the MAC from the address).
test('a recreated peer is reachable by name at once, 20 times in a row (a new address, or the same one again)', async () => {
  await using runtime = await temporaryRuntime();
  await runtime.networks.create({ name: 'app', subnet: '10.77.6.0/24' });
  await using web = await runtime.containers.create({ image: BUSYBOX, name: 'web', network: 'app', cmd: ['sleep', '600'] });
  await web.start();
  const addresses: string[] = [];
  for (let round = 0; round < 20; round++) {
    // odd rounds take the same fixed address every time: the case a stale neighbour entry breaks
    const ip = round % 2 === 1 ? '10.77.6.200' : undefined;
    const peer = await runtime.containers.create({ image: BUSYBOX, name: 'peer', network: 'app', ip, cmd: ['sleep', '600'] });
    await peer.start();
    const address = (await peer.inspect()).networks[0]!.ip;
    if (!ip) addresses.push(address);
    // one echo request with a 1 s deadline: a stale ARP entry makes it time out
    const ping = await web.exec(['ping', '-c', '1', '-W', '1', 'peer']);
    assert.equal(ping.exitCode, 0, `round ${round}: peer (${ip}) not reachable by name within 1 s at ${address}:\n${ping.stdout}${ping.stderr}`);
    await peer.remove({ force: true });
  }
  assert.equal(new Set(addresses).size, addresses.length, `a just-freed address came back first: ${addresses.join(' ')}`);
  await web.remove({ force: true });
  await runtime.networks.remove('app');
});

test("a container's MAC address follows from its IP address, so no ARP cache holds a wrong one", async () => {
  await using runtime = await temporaryRuntime();
  await runtime.networks.create({ name: 'macs', subnet: '10.77.5.0/24' });
  const { stdout } = await Container.run(BUSYBOX, ['cat', '/sys/class/net/eth0/address'], { runtime, network: 'macs', ip: '10.77.5.9' });
  assert.equal(stdout, '02:42:0a:4d:05:09\n');
  await runtime.networks.remove('macs');
});

// The kernel removes a stopped container's network namespace, and the veth
// pair with it, a little after its last process exits: a start right after
// a stop (a restart) must not trip over the old host end (it did, about one
// start in fifteen: `ip host side: EPROTO`).
test('stop and start again at once on a bridge network, 30 times: every start attaches', async () => {
  await using runtime = await temporaryRuntime();
  await runtime.networks.create({ name: 'quick' });
  await using container = await runtime.containers.create({ image: BUSYBOX, network: 'quick', cmd: ['sh', '-c', "trap 'exit 0' TERM; while :; do sleep 1; done"] });
  for (let round = 0; round < 30; round++) {
    await container.start();
    assert.equal((await container.exec(['cat', '/sys/class/net/eth0/operstate'])).stdout.trim(), 'up', `round ${round}`);
    await container.stop();
  }
});
