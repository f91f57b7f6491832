// The test run's rootless phase: test files named `rootless-user-*.test.ts`
// run with node's test runner as the unprivileged user `berth-rootless`
// (uid/gid 2901, subordinate ids 200000:65536), inside the run's own network
// and mount namespace, as a user of berth would run them.
//
// Outside that namespace, `prepareRootlessUser()` makes the user (idempotent:
// a second run changes nothing). Inside it, `runRootlessPhase()`:
//   1. makes a temporary directory owned by the user (0700): its TMPDIR and
//      XDG_DATA_HOME/XDG_CONFIG_HOME/XDG_CACHE_HOME, removed afterwards;
//   2. bind-mounts the checkout read-only into it, so the user reaches the
//      package (dist/, the native build, node_modules, test/) even when the
//      checkout lives below a directory it cannot enter (e.g. /root on CI),
//      without changing any mode in the checkout;
//   3. mounts a tmpfs owned by the user on XDG_RUNTIME_DIR (/run/user/2901),
//      so runtime files of the phase go with the namespace;
//   4. adds an address to the namespace's lo for the slirp4netns tests to reach
//      (and a 0666 /dev/net/tun where the host's is 0600, in this namespace only);
//   5. runs the files with `setpriv --reuid --regid --init-groups` in a clean
//      environment (HOME, XDG_*, PATH, TMPDIR, USER, LOGNAME);
//   6. undoes 1–4 (processes the phase left behind are ended by pid and reported).
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, chmodSync } from 'node:fs';
import { basename, join } from 'node:path';

/** The test user of the rootless phase (the contract every rootless test relies on). */
export const ROOTLESS_USER = { name: 'berth-rootless', uid: 2901, gid: 2901, home: '/home/berth-rootless', subStart: 200000, subCount: 65536 };
/** Where the user's runtime files go (XDG_RUNTIME_DIR). */
export const ROOTLESS_RUNTIME_DIR = `/run/user/${ROOTLESS_USER.uid}`;
/** An address in the test namespace, outside any container, for the slirp4netns outbound test. */
export const OUTBOUND_ADDRESS = '192.0.2.1';

/** Test files of the rootless phase: run as the test user, not as root. */
export const isRootlessUserFile = (file) => basename(file).startsWith('rootless-user-');

/** Runs a preparation command; throws with its output when it fails. */
function must(command, args) {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')}: ${result.error?.message ?? `exit ${result.status}`} ${result.stdout ?? ''}${result.stderr ?? ''}`.trim());
  }
  return result.stdout;
}

/** `name:start:count` ranges of `name` in /etc/subuid or /etc/subgid. */
function subordinateRanges(file, name) {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((line) => line.split(':')[0] === name).map((line) => line.trim());
}

/** `getent passwd <name>` as { uid, gid, home }, or undefined. */
function passwdEntry(name) {
  const result = spawnSync('getent', ['passwd', name], { encoding: 'utf8' });
  if (result.status !== 0) return undefined;
  const [, , uid, gid, , home] = result.stdout.trim().split(':');
  return { uid: Number(uid), gid: Number(gid), home };
}

/**
 * Makes the test user as the rootless tests expect it, before the run unshares
 * (useradd/usermod of Debian's passwd package; newuidmap/newgidmap of uidmap
 * are what the tests then need). Idempotent; refuses to change a user of that
 * name with other ids.
 */
export function prepareRootlessUser() {
  const { name, uid, gid, home, subStart, subCount } = ROOTLESS_USER;
  for (const tool of ['/usr/sbin/useradd', '/usr/sbin/usermod', '/usr/bin/setpriv']) {
    if (!existsSync(tool)) throw new Error(`${tool} is missing (Debian: apt-get install passwd util-linux)`);
  }
  for (const tool of ['/usr/bin/newuidmap', '/usr/bin/newgidmap']) {
    if (!existsSync(tool)) throw new Error(`${tool} is missing: apt-get install uidmap (.ci/run does)`);
  }
  const existing = passwdEntry(name);
  if (!existing) {
    if (spawnSync('getent', ['group', name], { stdio: 'ignore' }).status !== 0) must('groupadd', ['-g', String(gid), name]);
    // SUB_*_COUNT=0: useradd allocates no subordinate ids of its own; ours come next
    must('useradd', ['-u', String(uid), '-g', String(gid), '-m', '-d', home, '-s', '/bin/sh', '-K', 'SUB_UID_COUNT=0', '-K', 'SUB_GID_COUNT=0', name]);
  } else if (existing.uid !== uid || existing.gid !== gid) {
    throw new Error(`a user ${name} exists with uid ${existing.uid} gid ${existing.gid}; the rootless tests need ${uid}:${gid} (remove it or fix it by hand)`);
  }
  if (!existsSync(home)) mkdirSync(home, { recursive: true, mode: 0o700 });
  ensureOwned(home, uid, gid);
  // exactly one range each: the tests check the whole uid_map
  const wanted = `${name}:${subStart}:${subCount}`;
  for (const [file, kind] of [['/etc/subuid', 'uids'], ['/etc/subgid', 'gids']]) {
    const ranges = subordinateRanges(file, name);
    for (const range of ranges.filter((r) => r !== wanted)) {
      const [, start, count] = range.split(':');
      must('usermod', [`--del-sub${kind}`, `${start}-${Number(start) + Number(count) - 1}`, name]);
    }
    if (!ranges.includes(wanted)) must('usermod', [`--add-sub${kind}`, `${subStart}-${subStart + subCount - 1}`, name]);
  }
  mkdirSync('/run/user', { recursive: true, mode: 0o755 });
  if (!existsSync(ROOTLESS_RUNTIME_DIR)) mkdirSync(ROOTLESS_RUNTIME_DIR, { mode: 0o700 });
  ensureOwned(ROOTLESS_RUNTIME_DIR, uid, gid);
  chmodSync(ROOTLESS_RUNTIME_DIR, 0o700);
}

function ensureOwned(path, uid, gid) {
  const stat = lstatSync(path);
  if (!stat.isDirectory()) throw new Error(`${path} is not a directory`);
  if (stat.uid !== uid || stat.gid !== gid) chownSync(path, uid, gid);
}

/** Mount points at or below `dir` in this mount namespace. */
function mountsAt(dir) {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point === dir || point.startsWith(`${dir}/`));
}

/** Pids (not ours) whose command line names `dir` or whose working directory lies in it. */
function processesUsing(dir) {
  const uses = (pid) => {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) return true;
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      return cwd === dir || cwd.startsWith(`${dir}/`);
    } catch {
      return false;
    }
  };
  return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid).filter(uses).map(Number);
}

/**
 * A place for the test user inside this (private) mount namespace: a
 * temporary directory of its own (0700) holding its TMPDIR and XDG_* homes,
 * the checkout `root` bind-mounted read-only at `checkout`, and a tmpfs of
 * its own on XDG_RUNTIME_DIR. `env` is a clean environment for the user;
 * `close()` ends processes left running from the directory, undoes the
 * mounts, removes the directory and returns what went wrong (nothing: []).
 * Also used by benchmarks/rootless.mjs.
 */
export function openRootlessSandbox(root) {
  const { name, uid, gid, home } = ROOTLESS_USER;
  const undo = [];
  const dir = mkdtempSync('/tmp/berth-rootless-');
  chownSync(dir, uid, gid);
  chmodSync(dir, 0o700);
  const checkout = join(dir, 'checkout');
  const env = {
    HOME: home,
    USER: name,
    LOGNAME: name,
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    TMPDIR: join(dir, 'tmp'),
    XDG_DATA_HOME: join(dir, 'data'),
    XDG_CONFIG_HOME: join(dir, 'config'),
    XDG_CACHE_HOME: join(dir, 'cache'),
    XDG_RUNTIME_DIR: ROOTLESS_RUNTIME_DIR,
  };
  const close = () => {
    const problems = [];
    const left = processesUsing(dir);
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    if (left.length) {
      problems.push(`processes left running from ${dir} (ended): ${left.join(', ')}`);
      // their exits release the mounts below
      const deadline = Date.now() + 5000;
      while (left.some((pid) => existsSync(`/proc/${pid}`)) && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
    for (const step of undo.reverse()) {
      try {
        step();
      } catch (error) {
        problems.push(error.message);
      }
    }
    const mounted = mountsAt(dir);
    if (mounted.length) problems.push(`still mounted, ${dir} kept: ${mounted.join(', ')}`);
    else rmSync(dir, { recursive: true, force: true });
    return problems;
  };
  try {
    for (const sub of [checkout, env.TMPDIR, env.XDG_DATA_HOME, env.XDG_CONFIG_HOME, env.XDG_CACHE_HOME]) {
      mkdirSync(sub, { mode: 0o700 });
      chownSync(sub, uid, gid);
    }
    must('mount', ['--bind', root, checkout]);
    undo.push(() => must('umount', [checkout]));
    must('mount', ['-o', 'remount,bind,ro', checkout]);
    must('mount', ['-t', 'tmpfs', '-o', `mode=0700,uid=${uid},gid=${gid},size=64m`, 'berth-rootless-run', ROOTLESS_RUNTIME_DIR]);
    undo.push(() => must('umount', [ROOTLESS_RUNTIME_DIR]));
    const reach = spawnSync('setpriv', [...AS_USER, process.execPath, '-e', 'process.stdout.write(require("node:fs").readFileSync("package.json", "utf8").slice(0, 1))'], { cwd: checkout, env, encoding: 'utf8' });
    if (reach.status !== 0 || reach.stdout !== '{') {
      throw new Error(`${name} cannot run ${process.execPath} in ${checkout} (node must be reachable by every user, the checkout readable by others): ${reach.stderr || reach.error?.message}`);
    }
  } catch (error) {
    const problems = close();
    throw new Error([error.message, ...problems].join('; '));
  }
  return { dir, checkout, env, onClose: (step) => undo.push(step), close };
}

/**
 * slirp4netns opens /dev/net/tun as the user: the kernel makes it 0666, but
 * some hosts (containers, VMs with a hand-made /dev) have it 0600. Then, in
 * this mount namespace only, a 0666 node of the same device (on a tmpfs of
 * the sandbox) is bind-mounted over it; the host's node is not changed.
 */
function openTunDevice(sandbox) {
  const tun = '/dev/net/tun';
  if (!existsSync(tun) || (lstatSync(tun).mode & 0o666) === 0o666) return;
  const dev = join(sandbox.dir, 'dev');
  mkdirSync(dev, { mode: 0o755 });
  must('mount', ['-t', 'tmpfs', '-o', 'mode=0755,size=64k', 'berth-rootless-dev', dev]);
  sandbox.onClose(() => must('umount', [dev]));
  const { rdev } = lstatSync(tun);
  const major = (rdev >> 8) & 0xfff;
  const minor = (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
  must('mknod', ['-m', '0666', join(dev, 'tun'), 'c', String(major), String(minor)]);
  must('mount', ['--bind', join(dev, 'tun'), tun]);
  sandbox.onClose(() => must('umount', [tun]));
}

/** setpriv's arguments that run a command as the test user (its groups from /etc/group). */
export const AS_USER = ['--reuid', String(ROOTLESS_USER.uid), '--regid', String(ROOTLESS_USER.gid), '--init-groups', '--'];

/**
 * Runs node with `nodeArgs` (its test runner, file paths relative to the
 * checkout `root`) as the test user, in a {@link openRootlessSandbox} with
 * an address on the namespace's lo for the outbound tests; returns the
 * output and exit status. Call inside the run's namespace.
 */
export function runRootlessPhase({ root, nodeArgs }) {
  let sandbox;
  const problems = [];
  try {
    sandbox = openRootlessSandbox(root);
    must('ip', ['addr', 'add', `${OUTBOUND_ADDRESS}/32`, 'dev', 'lo']);
    sandbox.onClose(() => must('ip', ['addr', 'del', `${OUTBOUND_ADDRESS}/32`, 'dev', 'lo']));
    openTunDevice(sandbox);
    const result = spawnSync('setpriv', [...AS_USER, process.execPath, ...nodeArgs], {
      cwd: sandbox.checkout,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...sandbox.env, BERTH_TEST_OUTBOUND_ADDRESS: OUTBOUND_ADDRESS },
      maxBuffer: 256 * 1024 * 1024,
    });
    const output = `${result.stdout?.toString() ?? ''}${result.error ? `\n${result.error.message}\n` : ''}`;
    return { output, status: result.status ?? 1 };
  } catch (error) {
    problems.push(`the rootless phase could not run: ${error.message}`);
    return { output: '', status: 1 };
  } finally {
    if (sandbox) problems.push(...sandbox.close().map((problem) => `rootless phase cleanup: ${problem}`));
    for (const problem of problems) console.error(`test/run.mjs: ${problem}`);
  }
}
