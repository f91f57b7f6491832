import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { test } from 'node:test';
import { Container, MASKED_PATHS } from '../lib/index.js';
import { assertDockerDefaultCapabilities, BUSYBOX, temporaryRuntime } from './helpers.js';

async function sh(script: string, options: Parameters<typeof Container.run>[2] = {}) {
  await using runtime = await temporaryRuntime();
  return await Container.run(BUSYBOX, ['sh', '-c', script], { runtime, ...options });
}

test('the command is PID 1 and host processes are invisible', async () => {
  const result = await sh('echo $$; ls /proc | grep -E "^[0-9]+$" | wc -l; cat /proc/1/cmdline | tr "\\0" " "');
  const [pid, count, cmdline] = result.stdout.split('\n');
  assert.equal(pid, '1');
  // PID 1 (sh), and the ls/grep/wc/cat of the pipeline: nothing of the host's
  assert.ok(Number(count) <= 5, `saw ${count} processes`);
  assert.match(cmdline!, /^sh -c /);
});

test('the hostname is the container\'s own', async () => {
  await using runtime = await temporaryRuntime();
  const result = await Container.run(BUSYBOX, ['hostname'], { runtime, hostname: 'box-one' });
  assert.equal(result.stdout, 'box-one\n');
  assert.notEqual(hostname(), 'box-one');
  const byDefault = await Container.run(BUSYBOX, ['hostname'], { runtime, keep: true });
  assert.equal(byDefault.stdout, `${byDefault.id.slice(0, 12)}\n`);
});

test('the network has only lo', async () => {
  const result = await sh('ls /sys/class/net');
  assert.equal(result.stdout, 'lo\n');
});

test("capabilities are exactly Docker's default set, no_new_privs is on", async () => {
  const result = await sh('grep -E "^(Cap|NoNewPrivs)" /proc/self/status');
  assertDockerDefaultCapabilities(result.stdout);
});

test('capAdd and capDrop change the set; a non-root user has no effective capabilities', async () => {
  const adjusted = await sh('grep CapEff /proc/self/status', { capAdd: ['NET_ADMIN'], capDrop: ['CAP_CHOWN'] });
  const mask = (0xa80425fbn | (1n << 12n)) & ~1n;
  assert.equal(adjusted.stdout, `CapEff:\t${mask.toString(16).padStart(16, '0')}\n`);
  const user = await sh('grep -E "CapEff|CapBnd" /proc/self/status; id', { user: 'app' });
  assert.match(user.stdout, /CapEff:\t0000000000000000/);
  assert.match(user.stdout, /CapBnd:\t00000000a80425fb/);
  assert.match(user.stdout, /uid=1000\(app\) gid=1000\(app\) groups=50\(staff\),1000\(app\)/);
});

test("Docker's masked paths are masked", async () => {
  const present = MASKED_PATHS.filter((path) => existsSync(path));
  console.log(`# masked paths present on this kernel, checked: ${present.join(' ')}`);
  const missing = MASKED_PATHS.filter((path) => !existsSync(path));
  if (missing.length) console.log(`# not on this kernel (nothing to mask): ${missing.join(' ')}`);
  assert.ok(present.length > 0);
  const script = present
    .map((path) => (statSync(path).isDirectory() ? `echo "${path} $(ls -A ${path} | wc -l)"` : `echo "${path} $(wc -c < ${path})"`))
    .join('; ');
  const result = await sh(script);
  for (const path of present) {
    assert.match(result.stdout, new RegExp(`^${path} 0$`, 'm'), `${path} should be empty inside the container`);
  }
});

test('/sys and /proc/sys cannot be written', async () => {
  const result = await sh(
    'echo x > /proc/sys/kernel/hostname && echo wrote-proc-sys; ' +
      'mkdir /sys/berth-test 2>/dev/null && echo wrote-sys; ' +
      'grep -E " /sys | /proc/sys " /proc/self/mounts',
  );
  assert.doesNotMatch(result.stdout, /wrote-/);
  assert.match(result.stderr, /Read-only file system/);
  for (const line of result.stdout.trim().split('\n')) assert.match(line, /\sro[\s,]/, line);
});

test('only fds 0-2 are open in the first process', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sleep', '60'] });
  await container.start();
  const { pid } = (await container.inspect()).state;
  // seen from the host, so that nothing the check runs adds a descriptor
  assert.deepEqual(readdirSync(`/proc/${pid}/fd`).sort(), ['0', '1', '2']);
});

test('/dev is minimal: the standard devices, a private devpts, shm and mqueue', async () => {
  const result = await sh('ls /dev; echo ---; grep -E " /dev(/pts|/shm|/mqueue)? " /proc/self/mounts | cut -d" " -f2,3');
  const [listing, mounts] = result.stdout.split('---\n');
  const devices = listing!.trim().split('\n').sort();
  assert.deepEqual(devices, ['core', 'fd', 'full', 'mqueue', 'null', 'ptmx', 'pts', 'random', 'shm', 'stderr', 'stdin', 'stdout', 'tty', 'urandom', 'zero']);
  assert.deepEqual(mounts!.trim().split('\n').sort(), ['/dev tmpfs', '/dev/mqueue mqueue', '/dev/pts devpts', '/dev/shm tmpfs']);
  const io = await sh('head -c 4 /dev/zero | wc -c; echo hi > /dev/null && echo null-ok; head -c 8 /dev/urandom | wc -c');
  assert.equal(io.stdout, '4\nnull-ok\n8\n');
});

test('env, workdir and ulimits reach the command', async () => {
  const result = await sh('echo "$GREETING $HOME $HOSTNAME"; pwd; ulimit -n', {
    env: { GREETING: 'hi' }, workdir: '/srv/app', hostname: 'envbox', ulimits: { nofile: { soft: 321, hard: 654 } },
  });
  assert.equal(result.stdout, 'hi /root envbox\n/srv/app\n321\n');
});
