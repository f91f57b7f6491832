import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ContainerExitedError, Wait, WaitTimeoutError, type Container } from '../lib/index.js';
import { BUSYBOX, temporaryRuntime } from './helpers.js';
import { freePort } from './image-helpers.js';

/** Milliseconds from the container's log line matching `marker` (its monitor's time) to now. */
async function sinceLogLine(container: Container, marker: string): Promise<number> {
  const now = Date.now();
  // the monitor writes a line out within moments of reading it (records are batched): looked for up to 5 s
  const deadline = now + 5_000;
  while (Date.now() < deadline) {
    for await (const { line, time } of container.logs()) if (line.includes(marker)) return now - time.getTime();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no log line ${marker}`);
}

/** A busybox httpd on `port` serving /www, started after `delay` seconds, announced by a log line just before it listens. */
const httpd = (port: number, delay = '0.3') =>
  ['sh', '-c', `mkdir -p /www && echo hello > /www/index.html && sleep ${delay} && echo serving && exec httpd -f -p ${port} -h /www`];

test('forListeningPorts: resolves once the port listens inside the container, not when the proxy binds', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({ image: BUSYBOX, cmd: httpd(8080), ports: { '8080': 0 } });
  const { waitedMs } = await container.start({ waitFor: Wait.forListeningPorts(8080), timeout: 20_000 });
  const late = await sinceLogLine(container, 'serving');
  console.log(`# forListeningPorts: waited ${waitedMs.toFixed(1)} ms, resolved ${late} ms after the server's "serving" line`);
  // it waited for the delayed server: sinceLogLine found its announcement, made just before it listens, already logged
  const response = await fetch(`http://${container.host}:${container.mappedPort(8080)}/index.html`);
  assert.equal(await response.text(), 'hello\n');
  // no ports given: the published ones
  assert.equal(typeof (await container.waitFor(Wait.forListeningPorts(), { timeout: 20_000 })), 'number');
});

test('forListeningPorts: a bound UDP socket counts for a udp port', async () => {
  await using runtime = await temporaryRuntime();
  const dir = mkdtempSync(join(tmpdir(), 'berth-udp-wait-'));
  try {
    const rootfs = join(dir, 'rootfs');
    cpSync((await runtime.images.get(BUSYBOX)).layerPaths[0]!, rootfs, { recursive: true, verbatimSymlinks: true });
    execFileSync('cc', ['-O2', '-static', '-o', join(rootfs, 'bin/udp-echo'), join(import.meta.dirname, 'fixtures/udp-echo.c')]);
    await using container = await runtime.containers.create({ rootfs, cmd: ['sh', '-c', 'sleep 0.2; exec /bin/udp-echo 53'] });
    await container.start({ waitFor: Wait.forListeningPorts('53/udp'), timeout: 20_000 });
    // resolved only once the server had its socket: it is running (not the shell's sleep)
    const { stdout } = await container.exec(['ps', '-o', 'comm']);
    assert.ok(stdout.split('\n').includes('udp-echo'), stdout);
    // and a TCP wait on the same port number is not satisfied by it
    await assert.rejects(container.waitFor(Wait.forListeningPorts(53), { timeout: 300 }), WaitTimeoutError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('forLogMessage: a regex n times on one stream, counted from the first line', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({
    image: BUSYBOX,
    cmd: ['sh', '-c', 'echo "ready (1)" >&2; echo "ready on stdout"; sleep 0.3; echo "ready (2)" >&2; sleep 60'],
    waitFor: Wait.forLogMessage(/^ready \(\d\)$/, { times: 2, stream: 'stderr' }),
  });
  await container.start();
  const late = await sinceLogLine(container, 'ready (2)');
  console.log(`# forLogMessage: resolved ${late} ms after the second line`);
  const lines = [];
  for await (const entry of container.logs({ stderr: true, stdout: false })) lines.push(entry.line);
  assert.deepEqual(lines, ['ready (1)', 'ready (2)']);
});

test('forHttp: through the published port, and at the address on a bridge network', async () => {
  await using runtime = await temporaryRuntime();
  await using published = await runtime.containers.create({ image: BUSYBOX, cmd: httpd(80), ports: { '80': 0 } });
  const first = await published.start({ waitFor: Wait.forHttp('/index.html', 80, { body: (text) => text === 'hello\n' }) });
  console.log(`# forHttp (published): resolved ${await sinceLogLine(published, 'serving')} ms after "serving" (waited ${first.waitedMs.toFixed(1)} ms)`);
  assert.equal(published.addressOf(80).via, 'published');

  await using bridged = await runtime.containers.create({ image: BUSYBOX, cmd: httpd(8000), network: 'bridge' });
  await bridged.start({ waitFor: Wait.forHttp('/missing', 8000, { status: (s) => s === 404 }) });
  const address = bridged.addressOf(8000);
  assert.equal(address.via, 'network');
  assert.equal(address.host, (await bridged.inspect()).networks[0]!.ip);
  assert.equal(bridged.mappedPort(8000), 8000);
  assert.equal((await fetch(`http://${bridged.host}:${bridged.mappedPort(8000)}/index.html`)).status, 200);
});

test("forHttp with tls: a self-signed server answers once it listens (network: 'host', the server on the host side)", async () => {
  await using runtime = await temporaryRuntime();
  const dir = mkdtempSync(join(tmpdir(), 'berth-tls-'));
  const server = createHttpsServer({
    ...(() => {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
      return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
    })(),
  }, (req, res) => res.writeHead(req.url === '/ready' ? 204 : 404).end());
  try {
    const port = await freePort();
    await using container = await runtime.containers.create({ image: BUSYBOX, network: 'host', cmd: ['sleep', '60'] });
    const waiting = container.start({ waitFor: Wait.forHttp('/ready', port, { tls: true, insecure: true, status: 204 }), timeout: 20_000 });
    setTimeout(() => server.listen(port, '127.0.0.1'), 200);
    const { waitedMs } = await waiting;
    assert.ok(server.listening);
    assert.equal(container.addressOf(port).via, 'host');
    console.log(`# forHttp (tls): waited ${waitedMs.toFixed(0)} ms for a server that listened after 200 ms`);
    // without insecure the self-signed certificate is refused: never ready
    await assert.rejects(container.waitFor(Wait.forHttp('/ready', port, { tls: true, status: 204 }), { timeout: 500 }), WaitTimeoutError);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('forSuccessfulCommand: resolves on the first run that exits 0', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({
    image: BUSYBOX, cmd: ['sh', '-c', 'sleep 0.3; touch /tmp/ready; echo made; sleep 60'],
  });
  const { waitedMs } = await container.start({ waitFor: Wait.forSuccessfulCommand(['test', '-f', '/tmp/ready']) });
  console.log(`# forSuccessfulCommand: resolved ${await sinceLogLine(container, 'made')} ms after the file was made (waited ${waitedMs.toFixed(1)} ms)`);
  assert.equal((await container.exec(['test', '-f', '/tmp/ready'])).exitCode, 0);
});

test('a container that exits while waited for fails at once with its exit status and last output', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({
    image: BUSYBOX, cmd: ['sh', '-c', 'echo starting; echo "fatal: no config" >&2; exit 3'],
  });
  // a long timeout: only the exit can end this wait early
  const error = await container.start({ waitFor: Wait.forListeningPorts(6379), timeout: 600_000 }).then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof ContainerExitedError, String(error));
  assert.equal(error.code, 'ERR_CONTAINER_EXITED');
  assert.equal(error.exitCode, 3);
  assert.equal(error.oomKilled, false);
  assert.deepEqual(error.logs, ['starting', 'fatal: no config']);
  assert.match(error.message, /exited with code 3 while waiting for port 6379\/tcp listening/);
  assert.match(error.message, /fatal: no config/);
});

test('an OOM kill while waiting is reported as such', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({
    image: BUSYBOX, memory: '32m', memorySwap: '32m',
    cmd: ['sh', '-c', `echo growing; exec awk 'BEGIN { s = sprintf("%${200 * 1024 * 1024}s", ""); print "allocated"; system("sleep 60") }'`],
  });
  const error = await container.start({ waitFor: Wait.forLogMessage('never printed'), timeout: 600_000 }).then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof ContainerExitedError, String(error));
  assert.equal(error.oomKilled, true);
  assert.equal(error.exitCode, 137);
  assert.match(error.message, /was OOM-killed while waiting for a log line matching never printed/);
  assert.deepEqual(error.logs, ['growing']);
});

test('timeout, abort, forExit, allOf and anyOf', async () => {
  await using runtime = await temporaryRuntime();
  await using idle = await runtime.containers.create({ image: BUSYBOX, cmd: ['sleep', '60'] });
  const timedOut = await idle.start({ waitFor: Wait.forLogMessage('never'), timeout: 200 }).then(() => undefined, (e: unknown) => e);
  assert.ok(timedOut instanceof WaitTimeoutError);
  assert.equal(timedOut.code, 'ERR_WAIT_TIMEOUT');
  assert.match(timedOut.message, /not ready after 200 ms: waited for a log line matching never/);
  assert.equal((await idle.inspect()).state.status, 'running', 'left running');

  const controller = new AbortController();
  const waiting = idle.waitFor(Wait.forListeningPorts(1), { signal: controller.signal });
  controller.abort(new Error('test over'));
  await assert.rejects(waiting, /test over/);

  await using job = await runtime.containers.create({ image: BUSYBOX, cmd: ['sh', '-c', 'echo migrated; exit 0'] });
  await job.start({ waitFor: Wait.forExit() });
  await using failing = await runtime.containers.create({ image: BUSYBOX, cmd: ['sh', '-c', 'echo "migration 7 failed"; exit 2'] });
  const error = await failing.start({ waitFor: Wait.forExit(0) }).then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof ContainerExitedError);
  assert.deepEqual([error.exitCode, error.logs], [2, ['migration 7 failed']]);

  await using both = await runtime.containers.create({ image: BUSYBOX, cmd: httpd(80, '0.1') });
  await both.start({ waitFor: Wait.allOf(Wait.forListeningPorts(80), Wait.forLogMessage('serving')) });
  assert.ok(Wait.allOf(Wait.forLogMessage('a')).description.includes('a log line'));
  await using either = await runtime.containers.create({ image: BUSYBOX, cmd: httpd(80, '0.1') });
  await either.start({ waitFor: Wait.anyOf(Wait.forLogMessage('never'), Wait.forListeningPorts(80)), timeout: 20_000 });

  assert.throws(() => Wait.forListeningPorts(70000), TypeError);
  await assert.rejects(runtime.containers.create({ image: BUSYBOX, cmd: ['true'], waitFor: {} as never }), TypeError);
  await assert.rejects(runtime.containers.create({ image: BUSYBOX, cmd: ['true'], startupTimeout: -1 }), RangeError);
});

test('forHttp against a server that never ends its answer: the status alone is ready; a body predicate gets bounded attempts, not one without end', async () => {
  await using runtime = await temporaryRuntime();
  // every connection: a 200 and then a body without end; each connection served is counted
  const serve = "echo >> /tmp/served; printf 'HTTP/1.1 200 OK\\r\\n\\r\\n'; while :; do echo 0123456789abcdef0123456789abcdef; done";
  await using container = await runtime.containers.create({
    image: BUSYBOX, ports: { '8080': 0 },
    cmd: ['sh', '-c', `printf '%s\\n' '#!/bin/sh' "${serve}" > /serve; chmod +x /serve; exec nc -ll -p 8080 -e /serve`],
  });
  await container.start({ waitFor: Wait.forHttp('/', 8080), timeout: 10_000 });
  const served = async () => Number((await container.exec(['sh', '-c', 'wc -l < /tmp/served'])).stdout.trim());
  const before = await served();
  await assert.rejects(
    container.waitFor(Wait.forHttp('/', 8080, { body: (text) => text.includes('never there'), requestTimeout: 300 }), { timeout: 3_000 }),
    WaitTimeoutError,
  );
  assert.ok((await served()) - before >= 2, 'each attempt ended and the next one connected again');
});
