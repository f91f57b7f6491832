// The CVE-2019-5736 class, tried for real: a container that gets the host's
// berth-exec or berth-monitor executing inside it (`#!/proc/self/exe`) takes
// a handle on /proc/<pid>/exe and writes the executable once it stops
// running; the host's next exec or start would then run the container's code
// as root on the host. berth runs its helpers from a sealed memfd copy and
// keeps them non-dumpable until execve: every write must fail, every helper
// file on disk must keep its hash, and nothing may appear on the host.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { nativeAddon, sealedHelper } from '../lib/native/addon.js';
import { BUSYBOX, temporaryRuntime } from './helpers.js';
import { runFixture } from './helpers-process.js';

const build = join(import.meta.dirname, '..', 'addon', 'build');

/** sha256 of every helper file on disk: the ones in addon/build and the ones berth copies from. */
function helperHashes(): Map<string, string> {
  const files = new Set(['berth-monitor', 'berth-exec', 'berth_native.node'].map((name) => join(build, name)));
  for (const helper of ['berth-monitor', 'berth-exec'] as const) files.add(sealedHelper(helper).argv0);
  return new Map([...files].map((file) => [file, createHash('sha256').update(readFileSync(file)).digest('hex')]));
}

/** A scratch directory (bind-mounted into the containers at /shared, with the attacker), and a host-only one for the marker. */
function attackerWorkspace(): { shared: string; marker: string; [Symbol.dispose](): void } {
  const shared = mkdtempSync(join(tmpdir(), 'berth-attacker-'));
  const hostOnly = mkdtempSync(join(tmpdir(), 'berth-host-only-'));
  execFileSync('cc', ['-O2', '-static', '-o', join(shared, 'attacker'), join(import.meta.dirname, 'fixtures/proc-self-exe-attacker.c')]);
  return {
    shared,
    marker: join(hostOnly, 'escaped'),
    [Symbol.dispose]() {
      rmSync(shared, { recursive: true, force: true });
      rmSync(hostOnly, { recursive: true, force: true });
    },
  };
}

/** Polls `read` until `done` holds for its value; throws after the deadline. */
async function until<T>(read: () => T | Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${String(value)}`);
    await sleep(20);
  }
}

const readLog = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : '');
const lines = (log: string, kind: string) => log.split('\n').filter((line) => line.startsWith(kind + ' '));

/** The attack's log holds no successful write, every handle is a sealed memfd, no helper was caught before its execve. */
function assertAttackFailed(t: TestContext, log: string): void {
  t.diagnostic(`attacker's log:\n${log}`);
  for (const handle of [...lines(log, 'handle'), ...lines(log, 'received')]) {
    assert.match(handle, / \/memfd:berth-(exec|monitor) \(deleted\)/, `a handle on a host file: ${handle}`);
  }
  assert.deepEqual(lines(log, 'handle').filter((line) => line.endsWith(' pre-exec')), [], 'a helper was dumpable before its execve');
  for (const kind of ['write', 'truncate']) {
    assert.deepEqual(lines(log, kind).filter((line) => line.endsWith(' ok')), [], `${kind} of a helper succeeded`);
  }
}

function assertHostUnchanged(before: Map<string, string>, marker: string): void {
  assert.deepEqual(helperHashes(), before, 'a helper file on disk changed');
  assert.equal(existsSync(marker), false, 'the payload ran on the host');
}

/** Descriptors of a process seen from the host: none may be one of berth's memfds. */
function memfdsOf(pid: number): string[] {
  return readdirSync(`/proc/${pid}/fd`)
    .map((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return '';
      }
    })
    .filter((target) => target.includes('memfd:'));
}

test('exec: a container whose /bin/sh is `#!/proc/self/exe` cannot write berth-exec through /proc/<pid>/exe', async (t) => {
  const before = helperHashes();
  using work = attackerWorkspace();
  const log = join(work.shared, 'watch.log');
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({
    image: BUSYBOX,
    cmd: ['/shared/attacker', 'watch', '/shared/watch.log', work.marker],
    mounts: [{ type: 'bind', source: work.shared, target: '/shared' }],
  });
  await container.start();
  await until(() => container.exec(['test', '-e', '/ready']), (ready) => ready.exitCode === 0, 'the attacker to be ready');

  // the host runs the container's /bin/sh: the kernel runs berth-exec (its
  // /proc/self/exe) as a process in the container, which the attacker spins
  // on; again until it got a handle on it and tried to write it. The attacker
  // also single-steps the helper's command process (SIGSTOP/SIGCONT) to catch
  // it between dropping to the container's capabilities and execve, where
  // only being non-dumpable protects it: a race it wins in about one exec of
  // 10 to 60 here, so more execs give it the chance (without the
  // PR_SET_DUMPABLE in berth-exec it got a handle there in 3 runs of 3).
  const finished = (text: string, attempts: number) => lines(text, 'done').length > 0 && (lines(text, 'stepped').length > 0 || attempts >= 100);
  let attempts = 0;
  for (; attempts < 100 && !finished(readLog(log), attempts); attempts++) {
    const hijacked = await container.exec(['/bin/sh']);
    assert.equal(hijacked.exitCode, 2, hijacked.stderr);
    assert.match(hijacked.stderr, /usage: berth-exec/, 'berth-exec ran inside, harmlessly');
    if (lines(readLog(log), 'handle').length > lines(readLog(log), 'done').length) {
      await until(() => readLog(log), (text) => lines(text, 'handle').length === lines(text, 'done').length, 'the attack to end');
    }
  }
  const text = readLog(log);
  assert.ok(lines(text, 'done').length > 0, `the attacker never got hold of berth-exec in ${attempts} execs:\n${text}`);
  const seen = [...lines(text, 'open-wronly'), ...lines(text, 'write'), ...lines(text, 'truncate'), ...lines(text, 'stepped')];
  t.diagnostic(`execs: ${attempts}; the attacker saw: ${[...new Set(seen.map((line) => line.replace(/ \d+ /, ' ')))].join(', ')}`);
  // caught between the capability drop and execve: refused, as non-dumpable
  assert.deepEqual(lines(text, 'stepped').filter((line) => !line.endsWith(' EACCES')), []);
  assertAttackFailed(t, text);
  assert.ok(lines(text, 'write').every((line) => line.endsWith(' EPERM')), 'the seals refuse the write');

  // an ordinary exec afterwards runs berth-exec as built, not the payload
  const ordinary = await container.exec(['echo', 'still berth-exec']);
  assert.deepEqual([ordinary.exitCode, ordinary.stdout], [0, 'still berth-exec\n']);
  assertHostUnchanged(before, work.marker);
});

test('no memfd of berth reaches a container: its first process and an exec hold only their own descriptors', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sleep', '60'] });
  await container.start();
  const { pid } = (await container.inspect()).state;
  assert.deepEqual(readdirSync(`/proc/${pid}/fd`).sort(), ['0', '1', '2']);
  assert.deepEqual(memfdsOf(pid!), []);
  const inside = await container.exec(['sh', '-c', 'ls /proc/1/fd; readlink /proc/1/exe; readlink /proc/self/exe; ls -l /proc/self/fd | grep -c memfd']);
  assert.deepEqual(inside.stdout.split('\n'), ['0', '1', '2', '/bin/busybox', '/bin/busybox', '0', '']);
  const proc = await container.execStream(['sleep', '30']);
  try {
    assert.deepEqual(memfdsOf(proc.pid), []);
  } finally {
    proc.kill('SIGKILL');
  }
  await proc.wait();
});

test('first process: an image command `/proc/self/exe`, or a script naming it, runs the sealed monitor copy harmlessly inside', async () => {
  const before = helperHashes();
  using work = attackerWorkspace();
  writeFileSync(join(work.shared, 'hijack'), '#!/proc/self/exe\n', { mode: 0o755 });
  await using runtime = await temporaryRuntime();
  const run = async (cmd: string[], restart?: 'on-failure:2') => {
    await using container = await runtime.containers.create({
      image: BUSYBOX, cmd, restart, mounts: [{ type: 'bind', source: work.shared, target: '/shared' }],
    });
    await container.start();
    const status = await container.wait();
    let output = '';
    for await (const entry of container.logs()) output += entry.line + '\n';
    return { ...status, output, restarts: (await container.inspect()).state.restartCount };
  };
  // berth-monitor with no container directory: its usage, exit 2; and the
  // same from each restart, cloned from the monitor again
  const direct = await run(['/proc/self/exe'], 'on-failure:2');
  assert.deepEqual([direct.exitCode, direct.restarts], [2, 2]);
  assert.equal(direct.output.match(/usage: berth-monitor/g)?.length, 3, direct.output);
  // `/proc/self/exe /shared/hijack`: a "container directory" without a spec, exit 1
  const script = await run(['/shared/hijack']);
  assert.equal(script.exitCode, 1);
  assertHostUnchanged(before, work.marker);
});

test('first process: a handle on /proc/1/exe passed out of the container cannot write berth-monitor once it stopped', async (t) => {
  const before = helperHashes();
  using work = attackerWorkspace();
  // berth-monitor as the container's pid 1 (its /proc/self/exe), kept
  // running: the monitor.lock of its "container directory" is held here, so
  // it waits for it (the first thing it does)
  mkdirSync(join(work.shared, 'evil'));
  const heldLock = openSync(join(work.shared, 'evil', 'monitor.lock'), 'w', 0o600);
  assert.ok(nativeAddon().tryLock(heldLock, true));
  t.after(() => closeSync(heldLock));
  await using runtime = await temporaryRuntime();
  const mounts = [{ type: 'bind' as const, source: work.shared, target: '/shared' }];
  // the receiver lives in a second container, outside the first one's pid namespace
  await using receiver = await runtime.containers.create({
    image: BUSYBOX, cmd: ['/shared/attacker', 'receive', '/shared/socket', '/shared/receive.log', work.marker], mounts,
  });
  await receiver.start();
  await until(() => readLog(join(work.shared, 'receive.log')), (text) => text.includes('listening'), 'the receiver');
  {
    await using hijacked = await runtime.containers.create({ image: BUSYBOX, cmd: ['/proc/self/exe', '/shared/evil'], mounts });
    await hijacked.start();
    const sender = await hijacked.exec(['/shared/attacker', 'send', '1', '/shared/socket', '/shared/send.log']);
    assert.equal(sender.exitCode, 0, sender.stderr);
    await hijacked.kill('SIGKILL');
    await hijacked.wait();
  }
  const sent = readLog(join(work.shared, 'send.log'));
  // non-dumpable from its first instruction: the monitor's /proc/1/exe is
  // refused; were it not, the handle would be the sealed copy
  if (lines(sent, 'handle').length > 0) {
    await until(() => readLog(join(work.shared, 'receive.log')), (text) => lines(text, 'done').length > 0, 'the receiver to attack');
  }
  const received = readLog(join(work.shared, 'receive.log'));
  assertAttackFailed(t, sent + received);
  assert.deepEqual(lines(sent, 'denied').map((line) => line.split(' ')[2]), ['EACCES'], sent);

  // the next start runs berth-monitor as built
  await using next = await runtime.containers.create({ image: BUSYBOX, cmd: ['true'] });
  await next.start();
  assert.equal((await next.wait()).exitCode, 0);
  assertHostUnchanged(before, work.marker);
});

test('berth-monitor runs from its sealed copy, a faithful one, after the Node process that started it exited', async () => {
  await using runtime = await temporaryRuntime();
  const started = runFixture('start-detached.ts', [runtime.root, 'outlives-node', 'sleep', '60']);
  assert.equal(started.status, 0, started.stderr);
  const { monitorPid } = JSON.parse(started.stdout) as { monitorPid: number };
  assert.equal(readlinkSync(`/proc/${monitorPid}/exe`), '/memfd:berth-monitor (deleted)');
  assert.equal(readFileSync(`/proc/${monitorPid}/comm`, 'utf8'), 'berth-monitor\n');
  const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
  assert.equal(sha256(`/proc/${monitorPid}/exe`), sha256(sealedHelper('berth-monitor').argv0));
});

test('a copy whose descriptor was closed and its number reused is noticed: berth makes a new copy', async () => {
  const fd = Number(sealedHelper('berth-exec').path.split('/').pop());
  closeSync(fd);
  const squatter = openSync('/bin/true', 'r'); // the lowest free number: likely the copy's
  try {
    assert.notEqual(sealedHelper('berth-exec').path, `/proc/self/fd/${squatter}`);
    await using runtime = await temporaryRuntime();
    await using container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sleep', '60'] });
    await container.start();
    const proc = await container.execStream(['sleep', '30']);
    try {
      // berth-exec runs while its command does: it is a sealed copy, not /bin/true
      const helper = readFileSync(`/proc/${proc.pid}/status`, 'utf8').match(/^PPid:\s+(\d+)/m)![1];
      assert.equal(readlinkSync(`/proc/${helper}/exe`), '/memfd:berth-exec (deleted)');
    } finally {
      proc.kill('SIGKILL');
    }
    await proc.wait();
  } finally {
    closeSync(squatter);
  }
});
