import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { after, before, test } from 'node:test';
import type { Container } from '../lib/index.js';
import { BUSYBOX, roundTrip, temporaryRuntime, waitUntil, withDeadline } from './helpers.js';
import { childrenOf } from './helpers-process.js';

// Network mode slirp4netns. The test run has a network namespace of its own
// (test/run.mjs), whose only way anywhere is what this file adds: a veth
// pair (the test kernel has no dummy driver) with a TEST-NET-1 address on
// one end and a server there. slirp4netns carries
// the container's traffic through sockets of the monitor's namespace, that
// one, so nothing leaves the machine.

const SERVER_IP = '192.0.2.1';
const LINK = 'bslirp0';
const slirp4netns = spawnSync('sh', ['-c', 'command -v slirp4netns'], { encoding: 'utf8' }).stdout.trim();
const missing = slirp4netns === '' ? 'slirp4netns is not installed (apt-get install slirp4netns)' : false;

let server: Server;
let serverPort = 0;
let connections = 0;

before(async () => {
  if (missing) return;
  execFileSync('ip', ['link', 'add', LINK, 'type', 'veth', 'peer', 'name', `${LINK}p`]);
  execFileSync('ip', ['addr', 'add', `${SERVER_IP}/24`, 'dev', LINK]);
  for (const end of [LINK, `${LINK}p`]) execFileSync('ip', ['link', 'set', end, 'up']);
  // answers every connection with one line, then closes
  server = createServer((socket) => {
    connections++;
    socket.end(`hello from ${SERVER_IP}\n`);
  });
  await withDeadline(new Promise<void>((resolve) => server.listen(0, SERVER_IP, resolve)), 'the test server to listen');
  serverPort = (server.address() as { port: number }).port;
});

after(() => {
  if (missing) return;
  server?.close();
  spawnSync('ip', ['link', 'del', LINK]);
});

async function logLines(container: Container): Promise<string[]> {
  const { logPath } = await container.inspect();
  if (!existsSync(logPath)) return [];
  return readFileSync(logPath, 'utf8').split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { log: string }).log.trimEnd());
}

/** The slirp4netns processes the monitor `monitorPid` started. */
function slirpChildren(monitorPid: number): number[] {
  return childrenOf(monitorPid, (_pid, _stat, cmdline) => cmdline().startsWith(slirp4netns));
}

/** Still a slirp4netns process (not gone, not a reused pid). */
function isSlirp4netns(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith(slirp4netns) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

async function runningSlirp(container: Container): Promise<number[]> {
  const { state } = await container.inspect();
  assert.ok(state.monitorPid);
  const found = slirpChildren(state.monitorPid);
  assert.equal(found.length, 1, 'one slirp4netns for the running container');
  return found;
}

test('a slirp4netns container reaches a server outside its namespace; tap0 is 10.0.2.100; resolv.conf names 10.0.2.3', { skip: missing }, async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({
    image: BUSYBOX,
    network: 'slirp4netns',
    cmd: ['sh', '-c', `nc ${SERVER_IP} ${serverPort} </dev/null; ip -4 -o addr show tap0; ip route; cat /etc/resolv.conf`],
  });
  await container.start();
  assert.equal((await withDeadline(container.wait(), 'the container to exit')).exitCode, 0);
  const lines = await logLines(container);
  assert.equal(lines[0], `hello from ${SERVER_IP}`, lines.join('\n'));
  assert.match(lines.join('\n'), /tap0\s+inet 10\.0\.2\.100\/24/);
  assert.match(lines.join('\n'), /default via 10\.0\.2\.2 dev tap0/);
  assert.deepEqual(lines.filter((l) => l.startsWith('nameserver')), ['nameserver 10.0.2.3']);
  const inspect = await container.inspect();
  assert.equal(inspect.config.network, 'slirp4netns');
  assert.deepEqual(inspect.slirp4netns, {
    ip: '10.0.2.100', gateway: '10.0.2.2', nameserver: '10.0.2.3', interface: 'tap0', mtu: 65520, allowHostLoopback: false,
  });
  assert.deepEqual(inspect.networks, []);
});

test("the host's loopback is closed by default; slirp4netns:allow_host_loopback=true opens it at 10.0.2.2", { skip: missing }, async () => {
  const local = createServer((socket) => socket.end('loopback\n'));
  await withDeadline(new Promise<void>((resolve) => local.listen(0, '127.0.0.1', resolve)), 'the loopback server to listen');
  const port = (local.address() as { port: number }).port;
  try {
    await using runtime = await temporaryRuntime();
    const cmd = ['sh', '-c', `nc -w 5 10.0.2.2 ${port} </dev/null; echo "exit $?"`];
    await using closed = await runtime.containers.create({ image: BUSYBOX, network: 'slirp4netns', cmd });
    await using open = await runtime.containers.create({ image: BUSYBOX, network: 'slirp4netns:allow_host_loopback=true', cmd });
    for (const c of [closed, open]) {
      await c.start();
      await withDeadline(c.wait(), 'the container to exit');
    }
    assert.ok(!(await logLines(closed)).includes('loopback'), (await logLines(closed)).join('\n'));
    assert.deepEqual(await logLines(open), ['loopback', 'exit 0']);
    assert.equal((await open.inspect()).slirp4netns?.allowHostLoopback, true);
  } finally {
    local.close();
  }
});

test('a published port reaches a slirp4netns container; stop leaves no slirp4netns process', { skip: missing }, async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({
    image: BUSYBOX, network: 'slirp4netns', ports: { '80/tcp': 0 }, cmd: ['sh', '-c', 'while true; do nc -l -p 80 -e cat; done'],
  });
  await container.start();
  const [slirp] = await runningSlirp(container);
  assert.equal(await roundTrip((await container.port('80/tcp'))!, 'through the proxy\n'), 'through the proxy\n');
  await container.stop({ timeout: 0 });
  assert.equal(isSlirp4netns(slirp!), false, 'slirp4netns ended with the run');
});

test('a restart policy starts a new slirp4netns for every run', { skip: missing }, async () => {
  await using runtime = await temporaryRuntime();
  const before = connections;
  await using container = await runtime.containers.create({
    image: BUSYBOX, network: 'slirp4netns', restart: 'on-failure:1', cmd: ['sh', '-c', `nc ${SERVER_IP} ${serverPort} </dev/null; exit 1`],
  });
  await container.start();
  assert.equal((await withDeadline(container.wait(), 'the container to exit')).exitCode, 1);
  assert.equal((await container.inspect()).state.restartCount, 1);
  assert.deepEqual(await logLines(container), [`hello from ${SERVER_IP}`, `hello from ${SERVER_IP}`]);
  assert.equal(connections - before, 2);
  const { state } = await container.inspect();
  assert.deepEqual(slirpChildren(state.monitorPid ?? -1), []);
});

test('remove({ force }) and a SIGKILLed monitor leave no slirp4netns process', { skip: missing }, async () => {
  await using runtime = await temporaryRuntime();
  const cmd = ['sleep', '1000'];
  const removed = await runtime.containers.create({ image: BUSYBOX, network: 'slirp4netns', cmd });
  await removed.start();
  const [first] = await runningSlirp(removed);
  await removed.remove({ force: true });
  assert.equal(isSlirp4netns(first!), false, 'slirp4netns ended with remove');

  await using orphaned = await runtime.containers.create({ image: BUSYBOX, network: 'slirp4netns', cmd });
  await orphaned.start();
  const [second] = await runningSlirp(orphaned);
  const { state } = await orphaned.inspect();
  process.kill(state.monitorPid!, 'SIGKILL');
  // the exit pipe hangs up and PR_SET_PDEATHSIG fires: it goes by itself
  await waitUntil(() => !isSlirp4netns(second!), 'slirp4netns to exit after its monitor was killed');
});

test("network 'slirp4netns' without the program fails start with a typed error that says what to install; bad options fail create", { skip: missing }, async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({ image: BUSYBOX, network: 'slirp4netns', cmd: ['true'] });
  const path = process.env.PATH;
  process.env.PATH = '/nonexistent';
  const error = await container.start().then(() => undefined, (e: unknown) => e, ).finally(() => (process.env.PATH = path));
  assert.ok(error instanceof Error);
  assert.equal((error as { code?: string }).code, 'ERR_SLIRP4NETNS_NOT_FOUND');
  assert.equal(error.name, 'ContainerSetupError');
  assert.match(error.message, /install the slirp4netns package/);
  assert.equal((await container.inspect()).state.status, 'created');
  await assert.rejects(runtime.containers.create({ image: BUSYBOX, network: 'slirp4netns:mtu=1500', cmd: ['true'] }), {
    name: 'TypeError', message: /only slirp4netns option berth takes is allow_host_loopback/,
  });
  await assert.rejects(runtime.networks.create({ name: 'slirp4netns' }), { name: 'TypeError', message: /is a network mode/ });
});
