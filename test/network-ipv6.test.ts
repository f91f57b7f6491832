import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { ConflictError } from '../lib/index.js';
import { BUSYBOX, temporaryRuntime } from './helpers.js';

// IPv6 on bridge networks (enableIPv6), as Docker does it: a ULA subnet, the
// container's MAC below the prefix, AAAA records in the embedded DNS server.

const ipv6Missing = !existsSync('/proc/sys/net/ipv6') ? 'the kernel has no IPv6 (/proc/sys/net/ipv6 is missing)' : false;
const sleeper = ['sleep', '600'];

test('two containers on an IPv6 network reach each other by address and by name (AAAA)', { skip: ipv6Missing }, async () => {
  await using runtime = await temporaryRuntime();
  const network = await runtime.networks.create({ name: 'six', subnet: '10.77.30.0/24', enableIPv6: true, subnet6: 'fd00:77:30::/64' });
  assert.deepEqual([network.enableIPv6, network.subnet6, network.gateway6], [true, 'fd00:77:30::/64', 'fd00:77:30::1']);
  assert.match(execFileSync('ip', ['-6', 'addr', 'show', 'dev', network.bridge], { encoding: 'utf8' }), /inet6 fd00:77:30::1\/64/);

  await using server = await runtime.containers.create({ image: BUSYBOX, name: 'server', network: 'six', networkAliases: ['api'], cmd: sleeper });
  await using client = await runtime.containers.create({ image: BUSYBOX, name: 'client', network: 'six', cmd: sleeper });
  await server.start();
  await client.start();
  const [endpoint] = (await server.inspect()).networks;
  // Docker's rule: the prefix and the MAC address (02:42 and the IPv4 address)
  assert.equal(endpoint!.ip, '10.77.30.2');
  assert.equal(endpoint!.ip6, 'fd00:77:30::242:a4d:1e02');
  assert.match((await server.exec(['ip', '-6', 'addr', 'show', 'dev', 'eth0'])).stdout, /inet6 fd00:77:30::242:a4d:1e02\/64 scope global/);
  assert.match((await client.exec(['ip', '-6', 'route'])).stdout, /default via fd00:77:30::1 dev eth0/);

  const byAddress = await client.exec(['ping6', '-c', '1', '-W', '5', endpoint!.ip6!]);
  assert.equal(byAddress.exitCode, 0, byAddress.stdout + byAddress.stderr);
  // the name through the embedded DNS server's AAAA answer
  const aaaa = await client.exec(['nslookup', '-type=AAAA', 'api']);
  assert.equal(aaaa.exitCode, 0, aaaa.stdout + aaaa.stderr);
  assert.match(aaaa.stdout, /Address:\s+fd00:77:30::242:a4d:1e02/);
  const byName = await client.exec(['ping6', '-c', '1', '-W', '5', 'server']);
  assert.equal(byName.exitCode, 0, byName.stdout + byName.stderr);
  assert.match(byName.stdout, /fd00:77:30::242:a4d:1e02/);
  // and IPv4 as before, for the same name
  assert.match((await client.exec(['nslookup', '-type=A', 'server'])).stdout, /Address:\s+10\.77\.30\.2/);

  // masquerade for the IPv6 subnet in berth's table
  const table = execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8' });
  assert.match(table, /ip6 saddr fd00:77:30::\/64 oifname != "berth-[0-9a-f]{8}" masquerade/);
});

test('networks are isolated over IPv6 as over IPv4', { skip: ipv6Missing }, async () => {
  await using runtime = await temporaryRuntime();
  await runtime.networks.create({ name: 'left', subnet: '10.77.31.0/24', enableIPv6: true });
  await runtime.networks.create({ name: 'right', subnet: '10.77.32.0/24', enableIPv6: true });
  await using a = await runtime.containers.create({ image: BUSYBOX, name: 'a', network: 'left', cmd: sleeper });
  await using b = await runtime.containers.create({ image: BUSYBOX, name: 'b', network: 'right', cmd: sleeper });
  await a.start();
  await b.start();
  const target = (await b.inspect()).networks[0]!.ip6!;
  assert.match(target, /^fd[0-9a-f]{2}:/, 'a random unique local address by default');
  const ping = await a.exec(['ping6', '-c', '1', '-W', '2', target]);
  assert.notEqual(ping.exitCode, 0, `left reached right over IPv6: ${ping.stdout}`);
  // the control: without berth's forward rules (this test's own namespace) the same ping goes through
  const table = `berth_${createHash('sha256').update(runtime.root).digest('hex').slice(0, 8)}`; // this runtime's (test files run side by side)
  execFileSync('nft', ['flush', 'chain', 'inet', table, 'forward']);
  const open = await a.exec(['ping6', '-c', '1', '-W', '5', target]);
  assert.equal(open.exitCode, 0, `the control failed, so the test proves nothing: ${open.stdout}${open.stderr}`);
});

test('IPv6 options are checked: bad subnets and gateways, options without enableIPv6, overlapping subnets', async () => {
  await using runtime = await temporaryRuntime();
  const refused = async (options: Record<string, unknown>, kind: typeof TypeError | typeof ConflictError, message: RegExp) => {
    await assert.rejects(runtime.networks.create({ name: 'bad', subnet: '10.77.33.0/24', ...options }), (error: Error) => error instanceof kind && message.test(error.message));
    assert.deepEqual((await runtime.networks.list()).map((n) => n.name).filter((n) => n === 'bad'), []);
  };
  await refused({ subnet6: 'fd00:1::/64' }, TypeError, /need enableIPv6/);
  await refused({ enableIPv6: true, subnet6: 'fd00:1::/96' }, TypeError, /from \/48 to \/80/);
  await refused({ enableIPv6: true, subnet6: 'fd00:1::5/64' }, TypeError, /host bits/);
  await refused({ enableIPv6: true, subnet6: '10.0.0.0/64' }, TypeError, /IPv6 address/);
  await refused({ enableIPv6: true, subnet6: 'fd00:1::/64', gateway6: 'fd00:2::1' }, TypeError, /not a usable address/);
  await refused({ enableIPv6: 'yes' }, TypeError, /enableIPv6 must be a boolean/);
  await runtime.networks.create({ name: 'first', subnet: '10.77.34.0/24', enableIPv6: true, subnet6: 'fd00:1::/64' });
  await refused({ enableIPv6: true, subnet6: 'fd00:1::/48' }, ConflictError, /overlaps network first/);
});
