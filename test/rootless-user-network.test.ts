// Networks as an unprivileged user: published ports on 127.0.0.1 into a
// container with its own user namespace, outbound through slirp4netns to an
// address of the test namespace (BERTH_TEST_OUTBOUND_ADDRESS, put there by
// test/rootless-phase.mjs), and bridge networks refused with a typed error.
// Runs as the test user.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { BUSYBOX, roundTrip, runAttached } from './helpers.js';
import { requireTool } from './image-helpers.js';
import { outboundAddress, rootlessRuntime } from './rootless-helpers.js';

test('a published TCP port on 127.0.0.1 reaches the rootless container the moment start() resolves', async () => {
  await using runtime = await rootlessRuntime();
  await using container = await runtime.containers.create({
    image: BUSYBOX, ports: { '80/tcp': 0 }, cmd: ['sh', '-c', 'while true; do nc -l -p 80 -e cat; done'],
  });
  await container.start();
  const port = await container.port('80/tcp');
  assert.ok(port && port >= 1024, `an unprivileged host port: ${port}`);
  assert.equal(await roundTrip(port, 'ping from the host\n'), 'ping from the host\n');
  assert.deepEqual((await container.inspect()).ports, [{ proto: 'tcp', containerPort: 80, hostIp: '127.0.0.1', hostPort: port }]);
});

test('network slirp4netns: the container connects out to an address of the host\'s network namespace', async () => {
  requireTool('/usr/bin/slirp4netns', 'slirp4netns');
  await using runtime = await rootlessRuntime();
  const address = outboundAddress();
  const received: string[] = [];
  const server = createServer((socket) => {
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('end', () => {
      received.push(text);
      socket.end(`hello ${text.trim()}\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  try {
    const { port } = server.address() as { port: number };
    const { exitCode, stdout } = await runAttached(runtime, { image: BUSYBOX, network: 'slirp4netns', cmd: ['sh', '-c', `echo container | nc ${address} ${port}`] });
    assert.equal(exitCode, 0);
    assert.deepEqual(received, ['container\n']);
    assert.equal(stdout, 'hello container\n');
  } finally {
    server.close();
  }
});

test('a bridge network is refused rootless with ERR_ROOTLESS_UNSUPPORTED, and nothing is made', async () => {
  await using runtime = await rootlessRuntime();
  await assert.rejects(runtime.networks.create({ name: 'br' }), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'ERR_ROOTLESS_UNSUPPORTED');
    assert.match(error.message, /bridge|network/i);
    return true;
  });
  assert.deepEqual((await runtime.networks.list()).map((n) => n.name).filter((n) => n === 'br'), []);
  await assert.rejects(runtime.containers.create({ image: BUSYBOX, cmd: ['true'], network: 'bridge' }), { code: 'ERR_ROOTLESS_UNSUPPORTED' });
  assert.deepEqual(await runtime.containers.list({ all: true }), [], 'no container stored');
});

test("another container's network namespace (network: 'container:<name>') is refused rootless, and nothing is made", async () => {
  await using runtime = await rootlessRuntime();
  await using peer = await runtime.containers.create({ image: BUSYBOX, cmd: ['sleep', '60'], name: 'peer' });
  await assert.rejects(runtime.containers.create({ image: BUSYBOX, cmd: ['true'], network: 'container:peer' }), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'ERR_ROOTLESS_UNSUPPORTED');
    assert.match(error.message, /container:peer' needs root/);
    return true;
  });
  assert.deepEqual((await runtime.containers.list({ all: true })).map((c) => c.name), [peer.name], 'only the peer');
});
