import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Readable } from 'node:stream';
import { ContainerSetupError, type ContainerCreateOptions, type Runtime, type SeccompProfile } from '../lib/index.js';
import { BUSYBOX, temporaryRuntime } from './helpers.js';

// What a container's root would try first to get out: each must fail with
// EPERM under Docker's default profile (and the default capability set).
const ESCAPES = [
  'unshare-user', 'clone-user', 'add_key', 'keyctl', 'perf_event_open', 'userfaultfd', 'bpf', 'kexec_load', 'init_module',
  'open_by_handle_at', 'mount', 'reboot', 'i386-unshare-user', 'x32-unshare-user',
];

/** Every test ends within a minute, whatever a container does. */
const DEADLINE = { timeout: 60_000 };

let dir: string;
let rootfs: string;
let runtime: Runtime & AsyncDisposable;

// The probe: a static program that makes each named system call and prints
// `<name> ok` or `<name> <errno name>`, in a rootfs made from the built-in image.
before(async () => {
  runtime = await temporaryRuntime();
  dir = mkdtempSync(join(tmpdir(), 'berth-seccomp-'));
  rootfs = join(dir, 'rootfs');
  cpSync((await runtime.images.get(BUSYBOX)).layerPaths[0]!, rootfs, { recursive: true, verbatimSymlinks: true });
  execFileSync('cc', ['-O2', '-static', '-o', join(rootfs, 'bin/probe'), join(import.meta.dirname, 'fixtures/seccomp-probe.c')]);
});

after(async () => {
  await runtime[Symbol.asyncDispose]();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `cmd` in a new container on the probe's rootfs until it exits; its status and output. */
async function run(cmd: string[], options: Partial<ContainerCreateOptions> = {}) {
  await using container = await runtime.containers.create({ rootfs, ...options, cmd, attach: true });
  await container.start();
  const text = async (stream: Readable | null) => {
    const chunks: Buffer[] = [];
    for await (const chunk of stream ?? []) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };
  const [status, stdout, stderr] = await Promise.all([container.wait(), text(container.stdout), text(container.stderr)]);
  return { ...status, stdout, stderr };
}

/** Runs the probe for `calls` in a new container; the results by call. */
async function probe(calls: string[], options: Partial<ContainerCreateOptions> = {}): Promise<Record<string, string>> {
  const result = await run(['/bin/probe', ...calls], options);
  assert.equal(result.exitCode, 0, result.stderr);
  return parseProbe(result.stdout);
}

function parseProbe(stdout: string): Record<string, string> {
  return Object.fromEntries(stdout.trim().split('\n').map((line) => line.split(' ') as [string, string]));
}

function seccompStatus(text: string): string[] {
  return text.split('\n').filter((line) => line.startsWith('Seccomp'));
}

test("Docker's default profile: the escapes fail with EPERM, /proc/self/status shows the filter, inspect says so", DEADLINE, async () => {
  const results = await probe([...ESCAPES, 'getpid', 'i386-getpid', 'syscall-1000', 'i386-syscall-1000', 'personality-query', 'personality-bsd']);
  for (const call of ESCAPES) assert.equal(results[call], 'EPERM', `${call}: ${results[call]}`);
  assert.equal(results.getpid, 'ok');
  // personality: only the values programs use (the query, PER_LINUX, PER_LINUX32, UNAME26)
  assert.equal(results['personality-query'], 'ok');
  assert.equal(results['personality-bsd'], 'EPERM');
  assert.equal(results['i386-getpid'], 'ok', 'i386 system calls are filtered, not killed (Docker adds x86 and x32)');
  // newer than libseccomp knows: ENOSYS, so that a program falls back to an older call
  assert.equal(results['syscall-1000'], 'ENOSYS');
  assert.equal(results['i386-syscall-1000'], 'ENOSYS');

  const output = await run(['cat', '/proc/self/status']);
  assert.deepEqual(seccompStatus(output.stdout), ['Seccomp:\t2', 'Seccomp_filters:\t1']);
  await using container = await runtime.containers.create({ rootfs, cmd: ['true'] });
  const { config } = await container.inspect();
  assert.equal(config.seccomp, 'default');
  assert.equal(config.privileged, false);
  assert.equal(config.noNewPrivileges, true);
});

test('exec processes get the container\'s filter', DEADLINE, async () => {
  await using container = await runtime.containers.create({ rootfs, cmd: ['sleep', '60'] });
  await container.start();
  const results = parseProbe((await container.exec(['/bin/probe', ...ESCAPES])).stdout);
  for (const call of ESCAPES) assert.equal(results[call], 'EPERM', `exec ${call}: ${results[call]}`);
  const status = await container.exec(['cat', '/proc/self/status']);
  assert.deepEqual(seccompStatus(status.stdout), ['Seccomp:\t2', 'Seccomp_filters:\t1']);

  await using open = await runtime.containers.create({ rootfs, cmd: ['sleep', '60'], seccomp: 'unconfined' });
  await open.start();
  const unconfined = await open.exec(['cat', '/proc/self/status']);
  assert.deepEqual(seccompStatus(unconfined.stdout), ['Seccomp:\t0', 'Seccomp_filters:\t0']);
});

test("the capability rules follow the container's capabilities (CAP_SYS_ADMIN unlocks mount, CAP_SYS_PTRACE kcmp)", DEADLINE, async () => {
  assert.deepEqual(await probe(['mount', 'kcmp']), { mount: 'EPERM', kcmp: 'EPERM' });
  // let through by the filter, and done by the kernel
  assert.deepEqual(await probe(['mount', 'kcmp'], { capAdd: ['SYS_ADMIN', 'SYS_PTRACE'] }), { mount: 'ok', kcmp: 'ok' });
});

test("seccomp: 'unconfined' switches the filter off: a user namespace can be made", DEADLINE, async (t) => {
  const maxUserNamespaces = Number(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8'));
  if (maxUserNamespaces === 0) return t.skip('user namespaces are disabled on this host (user.max_user_namespaces = 0)');
  const results = await probe(['unshare-user', 'add_key'], { seccomp: 'unconfined' });
  assert.equal(results['unshare-user'], 'ok');
  const status = await run(['cat', '/proc/self/status'], { seccomp: 'unconfined' });
  assert.deepEqual(seccompStatus(status.stdout), ['Seccomp:\t0', 'Seccomp_filters:\t0']);
});

test('privileged: every capability, tmpfs mounts, /sys writable, host devices, no masked paths, no filter', DEADLINE, async () => {
  const result = await run(['sh', '-c', [
    'mkdir /tmp/m && mount -t tmpfs none /tmp/m && grep -c " /tmp/m tmpfs" /proc/mounts',
    'grep -E "^(CapEff|Seccomp|NoNewPrivs)" /proc/self/status',
    'grep " /sys " /proc/mounts | cut -d" " -f4 | cut -d, -f1',
    'grep -c " /proc/kcore " /proc/mounts',
    'ls /dev',
  ].join('; ')], { privileged: true });
  assert.equal(result.exitCode, 0, result.stderr);
  const [mounted, capEff, noNewPrivs, seccomp, filters, sys, kcoreMasked, ...dev] = result.stdout.trim().split('\n');
  assert.equal(mounted, '1');
  // every capability berth itself may hand out (its own bounding set)
  assert.equal(capEff, readFileSync('/proc/self/status', 'utf8').match(/^CapBnd:\t.*$/m)![0].replace('CapBnd', 'CapEff'));
  assert.equal(seccomp, 'Seccomp:\t0');
  assert.equal(filters, 'Seccomp_filters:\t0');
  assert.equal(noNewPrivs, 'NoNewPrivs:\t1', 'privileged leaves no_new_privs as asked (as Docker)');
  assert.equal(sys, 'rw');
  assert.equal(kcoreMasked, '0');
  // the host's device nodes (not its pts, shm, mqueue, console)
  const hostNodes = readdirSync('/dev').filter((name) => {
    const st = statSync(join('/dev', name), { throwIfNoEntry: false });
    return st && (st.isCharacterDevice() || st.isBlockDevice()) && name !== 'console';
  });
  for (const name of hostNodes) assert.ok(dev.includes(name), `/dev/${name} in the privileged container`);
  await using container = await runtime.containers.create({ rootfs, cmd: ['true'], privileged: true });
  const { config } = await container.inspect();
  assert.equal(config.privileged, true);
  assert.equal(config.seccomp, 'unconfined');
});

test("capAdd: ['ALL'] gives every capability (and the rules that need them); capDrop: ['ALL'] none", DEADLINE, async () => {
  const own = readFileSync('/proc/self/status', 'utf8').match(/^CapBnd:\t(.*)$/m)![1];
  const all = await run(['sh', '-c', 'grep CapEff /proc/self/status; /bin/probe mount'], { capAdd: ['ALL'] });
  assert.equal(all.stdout, `CapEff:\t${own}\nmount ok\n`);
  const none = await run(['sh', '-c', 'grep CapEff /proc/self/status; /bin/probe mount'], { capDrop: ['ALL'] });
  assert.equal(none.stdout, 'CapEff:\t0000000000000000\nmount EPERM\n');
});

test('noNewPrivileges: false: no_new_privs off, the default filter still loaded (before capabilities are dropped)', DEADLINE, async () => {
  const result = await run(['sh', '-c', 'grep -E "^(NoNewPrivs|Seccomp)" /proc/self/status; /bin/probe mount unshare-user'], { noNewPrivileges: false });
  assert.equal(result.exitCode, 0, result.stderr);
  assert.equal(result.stdout, 'NoNewPrivs:\t0\nSeccomp:\t2\nSeccomp_filters:\t1\nmount EPERM\nunshare-user EPERM\n');
  await using container = await runtime.containers.create({ rootfs, cmd: ['sleep', '60'], noNewPrivileges: false });
  await container.start();
  const exec = await container.exec(['sh', '-c', 'grep -E "^(NoNewPrivs|Seccomp:)" /proc/self/status; /bin/probe add_key']);
  assert.equal(exec.stdout, 'NoNewPrivs:\t0\nSeccomp:\t2\nadd_key EPERM\n');
});

test("a custom profile in Docker's format takes effect: mkdir denied with EACCES, as an object and as JSON", DEADLINE, async () => {
  const profile: SeccompProfile = {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [
      { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
      { names: ['no_such_syscall_in_any_kernel'], action: 'SCMP_ACT_ERRNO' }, // unknown names are skipped, as runc does
    ],
  };
  for (const seccomp of [profile, JSON.stringify(profile)]) {
    const results = await probe(['mkdir', 'unshare-user'], { seccomp });
    assert.equal(results.mkdir, 'EACCES');
    assert.equal(results['unshare-user'], 'ok', 'everything else allowed, as the profile says');
  }
  await using container = await runtime.containers.create({ rootfs, cmd: ['true'], seccomp: profile });
  assert.equal((await container.inspect()).config.seccomp, 'custom');
});

test('bad profiles are TypeErrors naming the field, before anything is created', DEADLINE, async () => {
  const cases: [unknown, RegExp][] = [
    ['strict', /seccomp must be 'default', 'unconfined', or a profile/],
    [{ syscalls: [] }, /seccomp\.defaultAction must be one of/],
    [{ defaultAction: 'SCMP_ACT_DENY' }, /seccomp\.defaultAction must be one of .* got "SCMP_ACT_DENY"/],
    [{ defaultAction: 'SCMP_ACT_NOTIFY' }, /SCMP_ACT_NOTIFY .* not supported/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_VAX'] }, /seccomp\.architectures\[0\]: unknown architecture 'SCMP_ARCH_VAX'/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], archMap: [{ architecture: 'SCMP_ARCH_X86_64' }] }, /not both/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_BLOCK' }] }, /seccomp\.syscalls\[0\]\.action must be one of/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mk dir'], action: 'SCMP_ACT_ERRNO' }] }, /seccomp\.syscalls\[0\]\.names\[0\]: 'mk dir' is not a system call name/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 5000 }] }, /errnoRet must be an integer from 0 to 4095/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }] }, /args\[0\]\.index must be an integer from 0 to 5/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_LIKE' }] }] }, /args\[0\]\.op must be one of/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', includes: { caps: ['CAP_WIZARD'] } }] }, /includes\.caps\[0\]: unknown capability 'CAP_WIZARD'/],
    ['{"defaultAction": ', /seccomp must be .*JSON/],
    // libseccomp's own refusal: one call, the same condition, two different actions
    [{
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['mkdir'], action: 'SCMP_ACT_ALLOW', args: [{ index: 1, value: 0o700, op: 'SCMP_CMP_EQ' }] },
        { names: ['mkdir'], action: 'SCMP_ACT_KILL', args: [{ index: 1, value: 0o700, op: 'SCMP_CMP_EQ' }] },
      ],
    }, /seccomp: the profile does not compile: .*seccomp_rule_add: File exists/],
  ];
  for (const [seccomp, message] of cases) {
    await assert.rejects(runtime.containers.create({ rootfs, cmd: ['true'], seccomp: seccomp as SeccompProfile }), (error: unknown) => {
      assert.ok(error instanceof TypeError, `${JSON.stringify(seccomp)}: ${String(error)}`);
      assert.match(error.message, message);
      return true;
    });
  }
  for (const [key, value] of [['privileged', 'yes'], ['noNewPrivileges', 0]] as const) {
    await assert.rejects(runtime.containers.create({ rootfs, cmd: ['true'], [key]: value } as unknown as ContainerCreateOptions), new RegExp(`${key} must be a boolean`));
  }
  assert.deepEqual(await runtime.containers.list({ all: true }), []);
});

test('the compiled filter is cached under the state root, private, one per profile and capability set', DEADLINE, async () => {
  const dirPath = join(runtime.root, 'seccomp');
  const before = new Set(readdirSync(dirPath));
  await using a = await runtime.containers.create({ rootfs, cmd: ['true'] });
  await using b = await runtime.containers.create({ rootfs, cmd: ['true'] });
  await using c = await runtime.containers.create({ rootfs, cmd: ['true'], capAdd: ['SYS_PTRACE'] });
  const added = readdirSync(dirPath).filter((name) => !before.has(name));
  assert.ok(added.length <= 1, `one new program at most (SYS_PTRACE), got ${added.join(', ')}`);
  assert.equal(statSync(dirPath).mode & 0o777, 0o700);
  for (const name of readdirSync(dirPath)) {
    assert.match(name, /^[0-9a-f]{64}\.bpf$/);
    assert.equal(statSync(join(dirPath, name)).mode & 0o777, 0o600);
  }
  // a removed cache is made again at start
  rmSync(dirPath, { recursive: true });
  await a.start();
  assert.equal((await a.wait()).exitCode, 0);
  assert.ok(existsSync(dirPath));
});

test("a command that does not exist still fails at step exec under the filter", DEADLINE, async () => {
  await using container = await runtime.containers.create({ rootfs, cmd: ['no-such-command'] });
  const error = await container.start().then(() => assert.fail('start() should have failed'), (e: unknown) => e);
  assert.ok(error instanceof ContainerSetupError, String(error));
  assert.equal(error.step, 'exec');
  assert.equal(error.code, 'ENOENT');
});
