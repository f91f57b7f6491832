import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { cpSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ContainerSetupError } from '../lib/index.js';
import { BUSYBOX, roundTrip, temporaryRuntime, waitUntil, withDeadline } from './helpers.js';

test('a published TCP port (host port 0) accepts a connection the moment start() resolves, both ways', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({
    image: BUSYBOX, ports: { '80/tcp': 0 }, cmd: ['sh', '-c', 'while true; do nc -l -p 80 -e cat; done'],
  });
  await container.start();
  const port = await container.port('80/tcp');
  assert.ok(port && port > 0);
  // no polling: the first connection, right away
  assert.equal(await roundTrip(port, 'ping from the host\n'), 'ping from the host\n');
  const big = 'x'.repeat(1 << 20) + '\n';
  assert.equal((await roundTrip(port, big)).length, big.length, '1 MiB echoed intact');
  const { ports } = await container.inspect();
  assert.deepEqual(ports, [{ proto: 'tcp', containerPort: 80, hostIp: '127.0.0.1', hostPort: port }]);
});

test('a published UDP port carries datagrams both ways', async () => {
  await using runtime = await temporaryRuntime();
  // busybox has no UDP server: a static helper, copied into a rootfs made from the built-in image
  const dir = mkdtempSync(join(tmpdir(), 'berth-udp-'));
  try {
    const rootfs = join(dir, 'rootfs');
    cpSync((await runtime.images.get(BUSYBOX)).layerPaths[0]!, rootfs, { recursive: true, verbatimSymlinks: true });
    execFileSync('cc', ['-O2', '-static', '-o', join(rootfs, 'bin/udp-echo'), join(import.meta.dirname, 'fixtures/udp-echo.c')]);
    await using container = await runtime.containers.create({ rootfs, ports: { '53/udp': 0 }, cmd: ['/bin/udp-echo', '53'] });
    await container.start();
    const port = (await container.port('53/udp'))!;
    const socket = createSocket('udp4');
    const send = () => socket.send('hello over udp', port, '127.0.0.1');
    send();
    const retry = setInterval(send, 100); // until the server inside is up
    const reply = await withDeadline(new Promise<string>((resolve) => {
      socket.on('message', (message) => resolve(message.toString()));
    }), 'the UDP echo').finally(() => {
      clearInterval(retry);
      socket.close();
    });
    assert.equal(reply, 'echo:hello over udp');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ports on a bridge network forward to the container address; a taken host port fails at step ports', async () => {
  await using runtime = await temporaryRuntime();
  await using web = await runtime.containers.create({
    image: BUSYBOX, network: 'bridge', ports: { '8080': 0 }, cmd: ['sh', '-c', 'while true; do nc -l -p 8080 -e cat; done'],
  });
  await web.start();
  assert.equal(await roundTrip((await web.port(8080))!, 'via the bridge\n'), 'via the bridge\n');

  const blocker = createServer();
  await withDeadline(new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve)), 'the blocker to listen');
  const taken = (blocker.address() as { port: number }).port;
  try {
    const clash = await runtime.containers.create({ image: BUSYBOX, ports: { '80': taken }, cmd: ['true'] });
    const error = await clash.start().then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof ContainerSetupError);
    assert.equal(error.step, 'ports');
    assert.equal(error.code, 'EADDRINUSE');
    assert.equal((await clash.inspect()).state.status, 'created');
  } finally {
    blocker.close();
  }
});

/** How many read(2) calls the process has made so far. */
function readCalls(pid: number): number {
  return Number(/^syscr: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))![1]);
}

test('connections the container closed while their clients half-closed and stopped reading leave the monitor idle', async () => {
  await using runtime = await temporaryRuntime();
  // connection n gets n × 256 KiB from a server that then closes: in some of
  // them the container's side is shut both ways while the monitor still holds
  // bytes for a client that does not read (such a socket reports POLLHUP
  // whatever poll asks: it once woke the monitor again and again, and had it
  // read everything the container sent, past its buffer limit)
  await using container = await runtime.containers.create({
    image: BUSYBOX, ports: { '80/tcp': 0 },
    cmd: ['sh', '-c', 'i=0; while true; do i=$((i + 1)); nc -l -p 80 -e sh -c "echo $i > /tmp/n; head -c $((i * 262144)) /dev/zero &"; done'],
  });
  await container.start();
  const port = (await container.port('80/tcp'))!;
  const { monitorPid } = (await container.inspect()).state;
  const clients: Socket[] = [];
  try {
    for (let n = 1; n <= 24; n++) {
      const client = connect(port, '127.0.0.1');
      client.pause(); // never reads
      clients.push(client);
      await withDeadline(once(client, 'connect'), 'a connection');
      await waitUntil(async () => (await container.exec(['cat', '/tmp/n'])).stdout.trim() === String(n), `server ${n} to take its connection`);
      client.end(); // and has nothing to send
    }
    await new Promise((resolve) => setTimeout(resolve, 500)); // the servers send what fits and close
    // a sample of a second: an idle monitor reads nothing, the busy loop read a million times
    const before = readCalls(monitorPid!);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const reads = readCalls(monitorPid!) - before;
    assert.ok(reads < 1000, `the monitor made ${reads} reads in a second with nothing to do`);
    assert.equal((await container.inspect()).state.status, 'running');
  } finally {
    for (const client of clients) client.destroy();
  }
});

test("connections that send into a server that never reads cannot grow the monitor's memory past its limit", async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({
    image: BUSYBOX, ports: { '80/tcp': 0 }, cmd: ['nc', '-ll', '-p', '80', '-e', 'sleep', '600'],
  });
  await container.start();
  const port = (await container.port('80/tcp'))!;
  const { monitorPid } = (await container.inspect()).state;
  const rssKiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${monitorPid}/status`, 'utf8'))![1]);
  // 150 connections of 8 MiB each: 256 KiB a connection, as the monitor once
  // held for each, would be 38 MiB
  const megabyte = Buffer.alloc(1 << 20);
  const clients: Socket[] = [];
  try {
    for (let i = 0; i < 150; i++) {
      const client = connect(port, '127.0.0.1');
      client.on('error', () => {}); // (reset when the test ends)
      clients.push(client);
      await withDeadline(once(client, 'connect'), 'a connection');
      for (let m = 0; m < 8; m++) client.write(megabyte); // more than the kernel's buffers on the way hold
    }
    // the monitor stops reading: what it holds stops growing
    let previous = -1;
    await waitUntil(() => {
      const now = rssKiB();
      const still = now === previous;
      previous = now;
      return still;
    }, 'the monitor to stop reading', 60_000, 500);
    assert.ok(previous < 24 * 1024, `monitor RSS ${previous} KiB`);
    assert.equal((await container.inspect()).state.status, 'running');
  } finally {
    for (const client of clients) client.destroy();
  }
});

test('a client that half-closes before the server inside listens: the server still reads its end of file', async () => {
  await using runtime = await temporaryRuntime();
  // the server starts only once the client has sent its end of file: the monitor is still retrying its connection then
  await using container = await runtime.containers.create({
    image: BUSYBOX, ports: { '80/tcp': 0 },
    cmd: ['sh', '-c', 'while [ ! -f /tmp/go ]; do sleep 0.05; done; nc -l -p 80 -e sh -c "cat >/dev/null; echo got-eof"; exec sleep 600'],
  });
  await container.start();
  const client = connect((await container.port('80/tcp'))!, '127.0.0.1');
  try {
    await withDeadline(once(client, 'connect'), 'a connection');
    client.end();
    await container.exec(['touch', '/tmp/go']);
    let reply = '';
    client.on('data', (chunk: Buffer) => (reply += chunk.toString()));
    await withDeadline(once(client, 'end'), 'the reply to an end of file');
    assert.equal(reply, 'got-eof\n');
  } finally {
    client.destroy();
  }
});

test('an attached reader that does not read holds back only the output: published ports keep forwarding', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({
    image: BUSYBOX, attach: true, ports: { '80/tcp': 0 }, cmd: ['sh', '-c', 'nc -ll -p 80 -e echo pong & exec yes'],
  });
  await container.start();
  try {
    // container.stdout is never read: its pipe fills, then the monitor's buffer
    const port = (await container.port('80/tcp'))!;
    assert.equal(await withDeadline(roundTrip(port, 'ping\n'), 'a round trip while the output waits'), 'pong\n');
    assert.equal((await container.inspect()).state.status, 'running');
  } finally {
    container.stdout!.destroy();
    container.stderr!.destroy();
  }
});

/** CPU time the process has used so far, in clock ticks. */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime, stime
}

test('a monitor out of descriptors pauses accepting instead of spinning, and accepts again once connections close', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({
    image: BUSYBOX, ports: { '80/tcp': 0 }, cmd: ['nc', '-ll', '-p', '80', '-e', 'cat'],
  });
  await container.start();
  const port = (await container.port('80/tcp'))!;
  const { monitorPid } = (await container.inspect()).state;
  // room for about five connections more (two descriptors each)
  const open = readdirSync(`/proc/${monitorPid}/fd`).length;
  execFileSync('prlimit', [`--pid=${monitorPid}`, `--nofile=${open + 10}:${open + 10}`]);
  const clients: Socket[] = [];
  try {
    for (let i = 0; i < 20; i++) {
      const client = connect(port, '127.0.0.1');
      client.on('error', () => {});
      clients.push(client);
      await withDeadline(once(client, 'connect'), 'a connection'); // (the kernel's backlog takes it)
    }
    await new Promise((resolve) => setTimeout(resolve, 200)); // the monitor takes what it can
    const before = cpuTicks(monitorPid!);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const used = cpuTicks(monitorPid!) - before;
    assert.ok(used < 20, `the monitor used ${used} ticks of CPU in a second, out of descriptors`);
  } finally {
    for (const client of clients) client.destroy();
  }
  // its sockets: the listener only, again
  const isSocket = (fd: string) => {
    try {
      return readlinkSync(`/proc/${monitorPid}/fd/${fd}`).startsWith('socket:');
    } catch {
      return false; // closed meanwhile
    }
  };
  const sockets = () => readdirSync(`/proc/${monitorPid}/fd`).filter(isSocket).length;
  await waitUntil(() => sockets() === 1, 'the monitor to let go of the connections');
  assert.equal(await roundTrip(port, 'after the flood\n'), 'after the flood\n');
});

test('invalid port specs are TypeErrors/RangeErrors', async () => {
  await using runtime = await temporaryRuntime();
  const bad: [unknown, RegExp][] = [
    [{ 'http': 80 }, /must be 'PORT', 'PORT\/tcp' or 'PORT\/udp'/],
    [{ '80/sctp': 80 }, /must be 'PORT'/],
    [{ '0': 80 }, /container port must be between 1 and 65535/],
    [{ '80': 70000 }, /between 0 and 65535/],
    [{ '80': 'localhost:80' }, /host address must be an IPv4 address/],
    [['80:80'], /ports must be an object/],
  ];
  for (const [ports, message] of bad) {
    await assert.rejects(runtime.containers.create({ image: BUSYBOX, cmd: ['true'], ports: ports as never }), message);
  }
  await assert.rejects(runtime.containers.create({ image: BUSYBOX, cmd: ['true'], network: 'host', ports: { '80': 0 } }), /network: 'host'/);
});
