import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import type { Container } from '../lib/index.js';
import { TYPE, parseResponse, zoneReply, type DnsAnswer } from './dns-helpers.js';
import { runFixture } from './helpers-process.js';
import { BUSYBOX, temporaryRuntime, waitUntil, withDeadline } from './helpers.js';

// Docker's embedded DNS server at 127.0.0.11, served by each container's
// monitor on bridge networks: container names and aliases, forwarding the rest.

const execFileAsync = promisify(execFile);
const fixture = join(import.meta.dirname, 'fixtures', 'dns-query.ts');

/**
 * Asks 127.0.0.11 inside the container's network namespace with the tiny
 * client (UDP or TCP); asynchronous, so a server in this process answers meanwhile.
 */
async function ask(container: { pid: number }, transport: 'udp' | 'tcp', ...args: string[]): Promise<DnsAnswer> {
  const { stdout } = await execFileAsync('nsenter', [`--net=/proc/${container.pid}/ns/net`, process.execPath, '--import', 'tsx', fixture, transport, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return JSON.parse(stdout) as DnsAnswer;
}

async function pidOf(container: Container): Promise<{ pid: number }> {
  const { state } = await container.inspect();
  assert.ok(state.pid, `${container.name} runs`);
  return { pid: state.pid };
}

/** `nslookup <name>` (busybox, which asks the servers of /etc/resolv.conf itself) inside the container. */
async function nslookup(container: Container, name: string, type = 'A'): Promise<{ exitCode: number; addresses: string[]; output: string }> {
  const result = await container.exec(['nslookup', `-type=${type}`, name]);
  const output = result.stdout + result.stderr;
  // the answer section follows the server's lines: "Address: 10.77.20.2"
  const answerPart = output.split(/\nName:\s/).slice(1).join('\n');
  const addresses = [...answerPart.matchAll(/Address:\s+([0-9a-f.:]+)/g)].map((m) => m[1]!);
  return { exitCode: result.exitCode, addresses, output };
}

const sleeper = ['sleep', '600'];

test('names and aliases resolve through 127.0.0.11: nslookup, UDP and TCP, A and PTR, any letter case', async () => {
  await using runtime = await temporaryRuntime();
  await runtime.networks.create({ name: 'dnsnet', subnet: '10.77.20.0/24' });
  await using redis = await runtime.containers.create({ image: BUSYBOX, name: 'redis', network: 'dnsnet', networkAliases: ['cache'], cmd: sleeper });
  await using client = await runtime.containers.create({ image: BUSYBOX, name: 'client', network: 'dnsnet', cmd: sleeper });
  await redis.start();
  await client.start();
  const redisIp = (await redis.inspect()).networks[0]!.ip;

  const resolvConf = (await client.exec(['cat', '/etc/resolv.conf'])).stdout;
  assert.match(resolvConf, /^nameserver 127\.0\.0\.11$/m);
  assert.match(resolvConf, /^options ndots:0$/m);
  assert.equal((resolvConf.match(/nameserver/g) ?? []).length, 1, resolvConf);

  for (const name of ['redis', 'cache']) {
    const found = await nslookup(client, name);
    assert.equal(found.exitCode, 0, found.output);
    assert.match(found.output, /Server:\s+127\.0\.0\.11/);
    assert.deepEqual(found.addresses, [redisIp], found.output);
  }
  const pid = await pidOf(client);
  for (const transport of ['udp', 'tcp'] as const) {
    const answer = await ask(pid, transport, 'ReDiS', String(TYPE.A));
    assert.deepEqual({ rcode: answer.rcode, answers: answer.answers, authoritative: answer.authoritative }, { rcode: 0, answers: [redisIp], authoritative: true });
  }
  // its own name, an address's name (PTR), and a name with no IPv6 address: no AAAA answer, no error
  assert.deepEqual((await ask(pid, 'udp', 'client', String(TYPE.A))).answers, [(await client.inspect()).networks[0]!.ip]);
  assert.deepEqual((await ask(pid, 'udp', `${redisIp.split('.').reverse().join('.')}.in-addr.arpa`, String(TYPE.PTR))).answers, ['redis']);
  const noV6 = await ask(pid, 'udp', 'redis', String(TYPE.AAAA));
  assert.deepEqual({ rcode: noV6.rcode, answers: noV6.answers }, { rcode: 0, answers: [] });
});

test('a container created after the client started resolves; a removed one stops resolving', async () => {
  await using runtime = await temporaryRuntime();
  await runtime.networks.create({ name: 'late', subnet: '10.77.21.0/24', internal: true }); // internal: nothing is forwarded
  await using client = await runtime.containers.create({ image: BUSYBOX, name: 'client', network: 'late', cmd: sleeper });
  await client.start();
  const before = await nslookup(client, 'newcomer');
  assert.notEqual(before.exitCode, 0, before.output);

  const newcomer = await runtime.containers.create({ image: BUSYBOX, name: 'newcomer', network: 'late', cmd: sleeper });
  await newcomer.start();
  const found = await nslookup(client, 'newcomer');
  assert.equal(found.exitCode, 0, found.output);
  assert.deepEqual(found.addresses, [(await newcomer.inspect()).networks[0]!.ip]);

  await newcomer.remove({ force: true });
  assert.equal((await ask(await pidOf(client), 'udp', 'newcomer', String(TYPE.A))).rcode, 3, 'NXDOMAIN once it is gone');
});

test('an alias shared by two containers answers with both addresses', async () => {
  await using runtime = await temporaryRuntime();
  await runtime.networks.create({ name: 'shared', subnet: '10.77.22.0/24', internal: true });
  const ips: string[] = [];
  for (const name of ['web1', 'web2']) {
    const web = await runtime.containers.create({ image: BUSYBOX, name, network: 'shared', networkAliases: ['web'], cmd: sleeper });
    await web.start();
    ips.push((await web.inspect()).networks[0]!.ip);
  }
  await using client = await runtime.containers.create({ image: BUSYBOX, name: 'client', network: 'shared', cmd: sleeper });
  await client.start();
  const found = await nslookup(client, 'web');
  assert.equal(found.exitCode, 0, found.output);
  assert.deepEqual(found.addresses.sort(), ips.sort());
  assert.deepEqual((await ask(await pidOf(client), 'tcp', 'web', String(TYPE.A))).answers.sort(), ips.sort());
});

test('hostile questions (cut short, pointer loops, responses, huge TCP lengths) get no answer or FORMERR, and the server keeps answering', async () => {
  await using runtime = await temporaryRuntime();
  await runtime.networks.create({ name: 'hostile', subnet: '10.77.23.0/24', internal: true });
  await using target = await runtime.containers.create({ image: BUSYBOX, name: 'probe', network: 'hostile', cmd: sleeper });
  await target.start();
  const pid = await pidOf(target);
  const garbage = [
    '00', // shorter than a header
    '0001010000010000000000000', // a question cut short (odd length: hex of 12.5 bytes → 12)
    '00020100000100000000000005726564697300', // no type and class
    '000301000001000000000000c00c00010001', // a compression pointer to itself in the question
    '000481800001000000000000057072' + '6f626500' + '00010001', // a response, not a query
    '0005010000050000000000000570726f62650000010001', // five questions
    '00067800000100000000000000000010001', // an unknown opcode
    '0007010000010000000000003f' + '61'.repeat(63) + '3f' + '61'.repeat(63) + '3f' + '61'.repeat(63) + '3f' + '61'.repeat(63) + '0000010001', // a name over 253
  ];
  for (const transport of ['udp', 'tcp'] as const) {
    const answer = await ask(pid, transport, '--hex', ...garbage);
    assert.equal(answer.rcode, 0);
    assert.deepEqual(answer.answers, [(await target.inspect()).networks[0]!.ip]);
  }
  // a TCP client that announces 65535 bytes and sends 3: the others are still answered
  const result = spawnSync('nsenter', [`--net=/proc/${pid.pid}/ns/net`, process.execPath, '-e', `
    const s = require('node:net').connect(53, '127.0.0.11', () => s.write(Buffer.from('ffff000102', 'hex')));
    setTimeout(() => process.exit(0), 200);`], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(result.status, 0, result.stderr);
  assert.equal((await ask(pid, 'udp', 'probe', String(TYPE.A))).rcode, 0);
});

test('a container name with a label longer than DNS carries is never answered, not even in a malformed PTR answer', async () => {
  await using runtime = await temporaryRuntime();
  await runtime.networks.create({ name: 'longnames', subnet: '10.77.37.0/24', internal: true });
  // a valid container name, one label of 128 bytes: written into a PTR answer
  // as it was, its length byte (0x80) is a label type no resolver knows
  await using named = await runtime.containers.create({ image: BUSYBOX, name: 'x'.repeat(128), network: 'longnames', cmd: sleeper });
  await using target = await runtime.containers.create({ image: BUSYBOX, name: 'probe', network: 'longnames', cmd: sleeper });
  await named.start();
  await target.start();
  const pid = await pidOf(target);
  const reverse = `${(await named.inspect()).networks[0]!.ip.split('.').reverse().join('.')}.in-addr.arpa`;
  for (const transport of ['udp', 'tcp'] as const) {
    const answer = await ask(pid, transport, reverse, String(TYPE.PTR));
    assert.deepEqual({ rcode: answer.rcode, answers: answer.answers }, { rcode: 3, answers: [] });
  }
  assert.deepEqual((await ask(pid, 'udp', 'probe', String(TYPE.A))).answers, [(await target.inspect()).networks[0]!.ip]);
  assert.equal((await named.inspect()).state.status, 'running');
});

/**
 * A tiny DNS server for "external" names, on an address of the test's own
 * network namespace (one end of a veth pair): nothing leaves the machine.
 * It answers over UDP and TCP; `body` gets the questions it was asked
 * (`udp <name>`, `tcp <name>`). Names under `hostile.` get what a server
 * (or someone on the path) could send instead of an answer: `runt` 3 bytes,
 * `wrong-id` an answer to another question, over TCP `runt` a length of
 * 65535 before 3 bytes and the end, `empty` a length of 0.
 */
async function withFakeUpstream(address: string, zone: Record<string, string[]>, body: (asked: string[]) => Promise<void>): Promise<void> {
  execFileSync('ip', ['link', 'add', 'berthdns0', 'type', 'veth', 'peer', 'name', 'berthdns1']);
  let server: Socket | undefined;
  let tcpServer: Server | undefined;
  let silent: Socket | undefined;
  try {
    execFileSync('ip', ['addr', 'add', `${address}/32`, 'dev', 'berthdns0']);
    // and a server that takes questions and never answers, on the next address
    const silentAddress = address.replace(/\d+$/, (last) => String(Number(last) + 1));
    execFileSync('ip', ['addr', 'add', `${silentAddress}/32`, 'dev', 'berthdns0']);
    silent = createSocket('udp4');
    await new Promise<void>((resolve) => silent!.bind(53, silentAddress, resolve));
    for (const end of ['berthdns0', 'berthdns1']) execFileSync('ip', ['link', 'set', end, 'up']);
    const asked: string[] = [];
    server = createSocket('udp4');
    server.on('message', (query, from) => {
      const { question } = parseResponse(query);
      asked.push(`udp ${question}`);
      let reply = zoneReply(query, zone);
      if (question === 'runt.hostile') reply = Buffer.from('abc');
      if (question === 'wrong-id.hostile') reply.writeUInt16BE((reply.readUInt16BE(0) + 1) & 0xffff, 0);
      server!.send(reply, from.port, from.address);
    });
    await new Promise<void>((resolve) => server!.bind(53, address, resolve));
    tcpServer = createServer((connection) => {
      let received = Buffer.alloc(0);
      connection.on('data', (chunk) => {
        received = Buffer.concat([received, chunk]);
        if (received.length < 2 || received.length < 2 + received.readUInt16BE(0)) return;
        const query = received.subarray(2, 2 + received.readUInt16BE(0));
        const { question } = parseResponse(query);
        asked.push(`tcp ${question}`);
        if (question === 'runt.hostile') return connection.end(Buffer.from('ffff616263', 'hex'));
        if (question === 'empty.hostile') return connection.end(Buffer.from('0000', 'hex'));
        const reply = zoneReply(query, zone);
        const length = Buffer.alloc(2);
        length.writeUInt16BE(reply.length);
        connection.end(Buffer.concat([length, reply]));
      });
    });
    await new Promise<void>((resolve) => tcpServer!.listen(53, address, resolve));
    await body(asked);
  } finally {
    server?.close();
    tcpServer?.close();
    silent?.close();
    execFileSync('ip', ['link', 'del', 'berthdns0']);
  }
}

/**
 * Starts containers from another Node process whose /etc/resolv.conf is
 * `resolvConf` (a bind mount in a mount namespace of its own, so the test
 * files running beside this one keep theirs); that process exits.
 */
async function startWithResolvConf(root: string, resolvConf: string, network: string, ...names: string[]): Promise<void> {
  const script = join(import.meta.dirname, 'fixtures', 'start-on-network.ts');
  await execFileAsync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount --bind "$0" /etc/resolv.conf && exec "$@"',
    resolvConf, process.execPath, '--import', 'tsx', script, root, network, ...names], { timeout: 120_000 });
}

test("other names are forwarded to the host's name servers (not from internal networks)", async () => {
  const upstream = '10.77.29.53';
  const dir = mkdtempSync(join(tmpdir(), 'berth-dns-'));
  const resolvConf = join(dir, 'resolv.conf');
  writeFileSync(resolvConf, `nameserver ${upstream}\nsearch example.internal\n`);
  try {
    await withFakeUpstream(upstream, { 'outside.example': ['192.0.2.7', '192.0.2.8'] }, async (asked) => {
      await using runtime = await temporaryRuntime();
      await runtime.networks.create({ name: 'out', subnet: '10.77.24.0/24' });
      await runtime.networks.create({ name: 'sealed', subnet: '10.77.25.0/24', internal: true });
      await startWithResolvConf(runtime.root, resolvConf, 'out', 'client');
      await startWithResolvConf(runtime.root, resolvConf, 'sealed', 'sealed');
      const client = await runtime.containers.get('client');
      const resolv = (await client.exec(['cat', '/etc/resolv.conf'])).stdout;
      assert.match(resolv, /^nameserver 127\.0\.0\.11$/m);
      assert.match(resolv, /^search example\.internal$/m, 'the host\'s search domains are kept');
      const found = await nslookup(client, 'outside.example');
      assert.equal(found.exitCode, 0, found.output);
      assert.deepEqual(found.addresses.sort(), ['192.0.2.7', '192.0.2.8']);
      assert.ok(asked.includes('udp outside.example'), `the upstream was asked: ${asked.join(', ')}`);
      const pid = await pidOf(client);
      // a question over TCP goes on over TCP (its answer may be larger than UDP carries)
      assert.deepEqual((await ask(pid, 'tcp', 'outside.example', String(TYPE.A))).answers.sort(), ['192.0.2.7', '192.0.2.8']);
      assert.ok(asked.includes('tcp outside.example'), `the upstream was asked over TCP: ${asked.join(', ')}`);
      // the upstream's own NXDOMAIN comes back as it is
      assert.equal((await ask(pid, 'udp', 'nowhere.example', String(TYPE.A))).rcode, 3);

      // a container only on an internal network: container names only, nothing goes out
      const sealed = await runtime.containers.get('sealed');
      asked.length = 0;
      const answer = await ask(await pidOf(sealed), 'udp', 'outside.example', String(TYPE.A));
      assert.deepEqual({ rcode: answer.rcode, answers: answer.answers }, { rcode: 3, answers: [] });
      assert.deepEqual(asked, []);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a name server that does not answer is given up after its timeout: the next one answers, or SERVFAIL', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-dns-'));
  try {
    // 10.77.29.63 answers, 10.77.29.64 stays silent
    writeFileSync(join(dir, 'silent-first'), 'nameserver 10.77.29.64\nnameserver 10.77.29.63\n');
    writeFileSync(join(dir, 'silent-only'), 'nameserver 10.77.29.64\n');
    await withFakeUpstream('10.77.29.63', { 'outside.example': ['192.0.2.9'] }, async (asked) => {
      await using runtime = await temporaryRuntime();
      await runtime.networks.create({ name: 'slow', subnet: '10.77.35.0/24' });
      await startWithResolvConf(runtime.root, join(dir, 'silent-first'), 'slow', 'patient');
      await startWithResolvConf(runtime.root, join(dir, 'silent-only'), 'slow', 'unlucky');
      const patient = await ask(await pidOf(await runtime.containers.get('patient')), 'udp', 'outside.example', String(TYPE.A));
      assert.deepEqual({ rcode: patient.rcode, answers: patient.answers }, { rcode: 0, answers: ['192.0.2.9'] });
      assert.deepEqual(asked, ['udp outside.example']);
      const unlucky = await ask(await pidOf(await runtime.containers.get('unlucky')), 'udp', 'outside.example', String(TYPE.A));
      assert.deepEqual({ rcode: unlucky.rcode, answers: unlucky.answers }, { rcode: 2, answers: [] });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hostile answers from a name server (runts, another question\'s answer, a cut TCP frame) are SERVFAIL, and the server keeps answering', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-dns-'));
  try {
    writeFileSync(join(dir, 'resolv.conf'), 'nameserver 10.77.29.83\n');
    await withFakeUpstream('10.77.29.83', { 'outside.example': ['192.0.2.10'] }, async (asked) => {
      await using runtime = await temporaryRuntime();
      await runtime.networks.create({ name: 'path', subnet: '10.77.38.0/24' });
      await startWithResolvConf(runtime.root, join(dir, 'resolv.conf'), 'path', 'victim');
      const victim = await runtime.containers.get('victim');
      const pid = await pidOf(victim);
      for (const [transport, name] of [['tcp', 'runt.hostile'], ['udp', 'runt.hostile'], ['udp', 'wrong-id.hostile'], ['tcp', 'empty.hostile']] as const) {
        const answer = await ask(pid, transport, name, String(TYPE.A));
        assert.deepEqual({ rcode: answer.rcode, answers: answer.answers }, { rcode: 2, answers: [] }, `${transport} ${name}`);
        assert.ok(asked.includes(`${transport} ${name}`), `the upstream was asked ${transport} ${name}`);
      }
      for (const transport of ['udp', 'tcp'] as const) {
        assert.deepEqual((await ask(pid, transport, 'outside.example', String(TYPE.A))).answers, ['192.0.2.10']);
      }
      assert.equal((await victim.inspect()).state.status, 'running');
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the resolver keeps answering after the Node process that started the containers exits', async () => {
  await using runtime = await temporaryRuntime();
  await runtime.networks.create({ name: 'detached', subnet: '10.77.26.0/24', internal: true });
  const started = runFixture('start-on-network.ts', [runtime.root, 'detached', 'server', 'watcher']);
  assert.equal(started.status, 0, started.stderr);
  // that process has exited; the containers' monitors answer
  const watcher = await runtime.containers.get('watcher');
  const server = await runtime.containers.get('server');
  const found = await nslookup(watcher, 'server');
  assert.equal(found.exitCode, 0, found.output);
  assert.deepEqual(found.addresses, [(await server.inspect()).networks[0]!.ip]);
});

test('a restarted container (restart policy) has its DNS server again, in its new network namespace', async () => {
  await using runtime = await temporaryRuntime();
  await runtime.networks.create({ name: 'again', subnet: '10.77.27.0/24', internal: true });
  await using peer = await runtime.containers.create({ image: BUSYBOX, name: 'peer', network: 'again', cmd: sleeper });
  await peer.start();
  // the first run resolves peer, then fails; the second (after the restart) sleeps
  await using flaky = await runtime.containers.create({
    image: BUSYBOX, name: 'flaky', network: 'again', restart: 'on-failure',
    cmd: ['sh', '-c', '[ -e /restarted ] && exec sleep 600; nslookup peer > /first-run; touch /restarted; exit 1'],
  });
  await flaky.start();
  await waitUntil(async () => {
    const { state } = await flaky.inspect();
    return state.running && state.restartCount === 1;
  }, 'flaky to run again');
  assert.match((await flaky.exec(['cat', '/first-run'])).stdout, /Address:\s+10\.77\.27\.2/);
  const found = await nslookup(flaky, 'peer');
  assert.equal(found.exitCode, 0, found.output);
  assert.deepEqual(found.addresses, ['10.77.27.2']);
  // remove({ force }) ends the restart policy too (it used to restart the killed container forever)
  await withDeadline(flaky.remove({ force: true }), 'remove({ force }) of a container with a restart policy');
});

test("a TCP client that sends questions and never reads the answers cannot grow its monitor's memory", async () => {
  await using runtime = await temporaryRuntime();
  await runtime.networks.create({ name: 'flood', subnet: '10.77.28.0/24', internal: true });
  await using target = await runtime.containers.create({ image: BUSYBOX, name: 'probe', network: 'flood', cmd: sleeper });
  await target.start();
  const { state } = await target.inspect();
  const netns = `--net=/proc/${state.pid}/ns/net`;
  // 400,000 pipelined questions (10 MB), answers never read: unbounded, the monitor would queue 16 MB of answers
  const flooder = spawn('nsenter', [netns, process.execPath, '-e', `
    const one = Buffer.from('0007010000010000000000000570726f62650000010001', 'hex'); // probe, A
    const framed = Buffer.concat([Buffer.from([0, one.length]), one]);
    const s = require('node:net').connect(53, '127.0.0.11', () => { s.pause(); s.write(Buffer.concat(Array(400000).fill(framed))); });
    setTimeout(() => process.exit(0), 120000);`], { stdio: 'ignore' });
  try {
    // Send-Q of the flooding client: what the monitor has not read yet
    const unread = () => {
      const out = execFileSync('nsenter', [netns, 'ss', '-Htn', 'state', 'established', 'dst', '127.0.0.11:53'], { encoding: 'utf8' });
      return Number(out.trim().split(/\s+/)[1] ?? 0);
    };
    // the monitor stops reading once 256 KiB of answers wait: the flood stops moving, megabytes short
    let previous = -1;
    await waitUntil(() => {
      const now = unread();
      const stuck = now === previous && now > 1_000_000;
      previous = now;
      return stuck;
    }, 'the monitor to stop reading from the flooding client', 60_000, 500);
    const rssKiB = Number(readFileSync(`/proc/${state.monitorPid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)![1]);
    assert.ok(rssKiB < 4096, `monitor RSS ${rssKiB} KiB`);
    assert.equal((await ask({ pid: state.pid! }, 'udp', 'probe', String(TYPE.A))).rcode, 0, 'others are still answered');
  } finally {
    flooder.kill('SIGKILL');
  }
});

test("a container in 'container:<other>' mode resolves through the other's DNS server, as Docker gives it the other's resolv.conf", async () => {
  await using runtime = await temporaryRuntime();
  await runtime.networks.create({ name: 'pod', subnet: '10.77.36.0/24', internal: true });
  await using db = await runtime.containers.create({ image: BUSYBOX, name: 'db', network: 'pod', cmd: sleeper });
  await using app = await runtime.containers.create({ image: BUSYBOX, name: 'app', network: 'pod', cmd: sleeper });
  await db.start();
  await app.start();
  await using sidecar = await runtime.containers.create({ image: BUSYBOX, name: 'sidecar', network: 'container:app', cmd: sleeper });
  await sidecar.start();
  assert.match((await sidecar.exec(['cat', '/etc/resolv.conf'])).stdout, /^nameserver 127\.0\.0\.11$/m);
  const found = await nslookup(sidecar, 'db');
  assert.equal(found.exitCode, 0, found.output);
  assert.deepEqual(found.addresses, [(await db.inspect()).networks[0]!.ip]);
});
