import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { test } from 'node:test';
import { assertDockerDefaultCapabilities, BUSYBOX, temporaryRuntime, withDeadline, waitUntil } from './helpers.js';

const NAMESPACES = ['pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup'];

test('exec runs in the container: same namespaces and hostname, sees PID 1 and a file the first process wrote', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({
    image: BUSYBOX, hostname: 'execbox', cmd: ['sh', '-c', 'echo written-by-pid-1 > /tmp/marker; exec sleep 60'],
  });
  await container.start();
  const { pid } = (await container.inspect()).state;
  await waitUntil(async () => (await container.exec(['test', '-f', '/tmp/marker'])).exitCode === 0, 'the marker file');

  const script = `hostname; cat /tmp/marker; cat /proc/1/cmdline | tr "\\0" " "; echo; ${NAMESPACES.map((ns) => `readlink /proc/self/ns/${ns}`).join('; ')}`;
  const result = await container.exec(['sh', '-c', script]);
  assert.equal(result.exitCode, 0, result.stderr);
  const [hostname, marker, pid1, ...namespaces] = result.stdout.trim().split('\n');
  assert.equal(hostname, 'execbox');
  assert.equal(marker, 'written-by-pid-1');
  assert.equal(pid1!.trim(), 'sleep 60');
  // the same namespaces as the first process, seen from the host
  assert.deepEqual(namespaces, NAMESPACES.map((ns) => readlinkSync(`/proc/${pid}/ns/${ns}`)));
});

test("exec has Docker's default capabilities, no_new_privs, only fds 0-2, and the container's cgroups", async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sleep', '60'] });
  await container.start();
  const result = await container.exec(['grep', '-E', '^(Cap|NoNewPrivs)', '/proc/self/status']);
  assertDockerDefaultCapabilities(result.stdout);

  const { pid } = (await container.inspect()).state;
  const proc = await container.execStream(['sleep', '30']);
  try {
    // seen from the host, so that nothing the check runs adds a descriptor
    assert.deepEqual(readdirSync(`/proc/${proc.pid}/fd`).sort(), ['0', '1', '2']);
    assert.equal(readFileSync(`/proc/${proc.pid}/cgroup`, 'utf8'), readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
    assert.equal(readlinkSync(`/proc/${proc.pid}/root`), '/');
  } finally {
    proc.kill('SIGKILL');
  }
  assert.deepEqual(await withDeadline(proc.wait(), 'the exec to end'), { exitCode: 137, signal: 'SIGKILL' });
});

test('exec returns the exit code and separate stdout and stderr; stdin, env, user and workdir reach the command', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sleep', '60'], env: { FROM_CONTAINER: 'c' } });
  await container.start();
  for (const code of [0, 1, 42]) {
    const result = await container.exec(['sh', '-c', `echo out-${code}; echo err-${code} >&2; exit ${code}`]);
    assert.deepEqual(result, { exitCode: code, signal: null, stdout: `out-${code}\n`, stderr: `err-${code}\n` });
  }
  assert.equal((await container.exec(['tr', 'a-z', 'A-Z'], { stdin: 'hello exec\n' })).stdout, 'HELLO EXEC\n');
  const env = await container.exec(['sh', '-c', 'echo "$FROM_CONTAINER $GIVEN $HOME"; id; pwd'], {
    env: { GIVEN: 'g' }, user: 'app', workdir: '/tmp',
  });
  assert.equal(env.stdout, 'c g /home/app\nuid=1000(app) gid=1000(app) groups=50(staff),1000(app)\n/tmp\n');
  const killed = await container.exec(['sh', '-c', 'kill -9 $$']);
  assert.deepEqual([killed.exitCode, killed.signal], [137, 'SIGKILL']);
});

test('exec failures are typed and name the step', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sleep', '60'] });
  await assert.rejects(container.exec(['true']), { name: 'InvalidStateError' });
  await container.start();
  await assert.rejects(container.exec(['no-such-command']), { name: 'ContainerSetupError', step: 'exec', syscall: 'execve', code: 'ENOENT' });
  await assert.rejects(container.exec(['true'], { workdir: '/no/such/dir' }), { name: 'ContainerSetupError', step: 'cwd', code: 'ENOENT', path: '/no/such/dir' });
  await assert.rejects(container.exec(['true'], { user: 'nobody-here' }), { name: 'ContainerSetupError', step: 'user' });
  await assert.rejects(container.exec([]), TypeError);
  await assert.rejects(container.exec(['true'], { workdir: 'relative' }), TypeError);
  await container.kill('SIGKILL');
  await withDeadline(container.wait(), 'the container to exit');
  await assert.rejects(container.exec(['true']), { name: 'InvalidStateError' });
});

test('an exec whose command leaves a process behind that writes without end still ends', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sleep', '60'] });
  await container.start();
  // the command exits at once; eight `cat`s keep its output pipe full
  const exec = await container.execStream(['sh', '-c', 'for i in 1 2 3 4 5 6 7 8; do cat /dev/zero & done; echo started']);
  let received = 0;
  exec.stdout.on('data', (chunk: Buffer) => (received += chunk.length));
  const ended = once(exec.stdout, 'end');
  assert.deepEqual(await withDeadline(exec.wait(), 'the exec to end'), { exitCode: 0, signal: null });
  await withDeadline(ended, 'the end of its output');
  assert.ok(received > 0);
  assert.equal((await container.inspect()).state.status, 'running');
});

test('execStream: streams in and out, a tty from the container with its size, resize and kill', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sleep', '60'] });
  await container.start();

  const cat = await container.execStream(['cat'], { stdin: true });
  const echoed = new Promise<string>((resolve) => cat.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString())));
  cat.stdin!.write('ping\n');
  assert.equal(await withDeadline(echoed, 'cat to echo'), 'ping\n');
  cat.stdin!.end();
  assert.deepEqual(await withDeadline(cat.wait(), 'the exec to end'), { exitCode: 0, signal: null });

  const shell = await container.execStream(['sh'], { tty: true, ttySize: { rows: 24, cols: 80 }, stdin: true });
  assert.equal(shell.stderr, null);
  let output = '';
  shell.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  shell.stdin!.write('tty; stty size\n');
  await waitUntil(() => /24 80/.test(output), "the terminal's size 24 80");
  assert.match(output, /\/dev\/pts\/\d+/);
  shell.resize({ rows: 40, cols: 120 });
  shell.stdin!.write('stty size\n');
  await waitUntil(() => /40 120/.test(output), 'the terminal size 40 120 after resize');
  shell.kill('SIGKILL');
  assert.deepEqual(await withDeadline(shell.wait(), 'the exec to end'), { exitCode: 137, signal: 'SIGKILL' });
});

test('a command that writes without end cannot grow the caller: exec kills it past maxBuffer, forSuccessfulCommand keeps nothing', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sleep', '600'] });
  await container.start();
  // a flood on stdout, and one from children the kill does not reach (they get EPIPE once exec stops reading)
  for (const script of ['yes', 'yes >&2', 'yes & yes & wait']) {
    await assert.rejects(withDeadline(container.exec(['sh', '-c', script], { maxBuffer: 1024 * 1024 }), `exec of ${script} to give up`), {
      name: 'BerthError', code: 'ERR_EXEC_OUTPUT_TOO_LARGE', message: /more than 1048576 bytes to std(out|err)/,
    });
  }
  // (the first process, sleep, does not reap: the writers stay as zombies, as without an init in Docker)
  const writers = async () => (await container.exec(['ps', '-o', 'stat,comm'])).stdout.split('\n').filter((line) => /^[^Z]\S*\s+yes$/.test(line.trim()));
  await waitUntil(async () => (await writers()).length === 0, 'no writer left');
  // within the limit: all of it
  const exact = await container.exec(['head', '-c', '1048576', '/dev/zero'], { maxBuffer: 1024 * 1024 });
  assert.equal(exact.stdout.length, 1024 * 1024);
  await assert.rejects(container.exec(['true'], { maxBuffer: -1 }), RangeError);
  // a readiness command that writes 200 MB before it succeeds: ready, its output dropped as it came
  const { Wait } = await import('../lib/index.js');
  await container.waitFor(Wait.forSuccessfulCommand(['sh', '-c', 'head -c 200000000 /dev/zero; true']), { timeout: 60_000 });
  assert.equal((await container.inspect()).state.status, 'running');
});
