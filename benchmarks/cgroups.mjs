// The cgroup side of the benchmark: where crun and runc may put their cgroups,
// and taking every one of them away again.
//
// On cgroup v1 every hierarchy has its own idea of "our cgroup" (here: / for
// most, /process_api/<id> for memory), but an OCI bundle names one cgroupsPath
// for all of them, and crun resolves even a relative one against each
// hierarchy's root. So we pick the deepest of our own cgroups, require every
// other one to be an ancestor of it, and hand the runtimes absolute paths below
// `<deepest>/berth-bench-<pid>`: below our own cgroup in every hierarchy.
// Directories that did not exist before are recorded and rmdir'ed afterwards,
// deepest first (rmdir only: a cgroup that still has processes stays, and is
// reported).
import { existsSync, readdirSync, readFileSync, rmdirSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const CGROUP2_SUPER_MAGIC = 0x63677270;

/** Mount points of this mount namespace (fields of /proc/self/mountinfo). */
export function mounts() {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [left, right] = line.split(' - ');
      const fields = left.split(' ');
      const [fstype, source, superOptions] = right.split(' ');
      return { mountPoint: unescapeMount(fields[4]), fstype, source, superOptions };
    });
}

function unescapeMount(path) {
  return path.replace(/\\([0-7]{3})/g, (_m, octal) => String.fromCharCode(parseInt(octal, 8)));
}

/**
 * crun 1.8.1 refuses the hybrid layout (v1 controllers + cgroup2 at
 * /sys/fs/cgroup/unified). Inside our private mount namespace only, unmount
 * that cgroup2 and put an empty tmpfs in its place: the runtimes then see plain
 * cgroup v1, and whatever they write for "the unified hierarchy" lands in that
 * tmpfs, which goes away with the namespace (without it, they would write into
 * the host's /sys/fs/cgroup tmpfs under the hidden mount point).
 * Returns { note, scratch }: a line describing what was done, and the tmpfs
 * (to empty between runs: crun leaves a directory and a cgroup.procs file
 * there per container) or null.
 */
export function hideUnifiedHierarchy(run) {
  const unified = '/sys/fs/cgroup/unified';
  if (!existsSync(unified)) return { note: 'no /sys/fs/cgroup/unified', scratch: null };
  let isCgroup2 = false;
  try {
    isCgroup2 = statfsSync(unified).type === CGROUP2_SUPER_MAGIC;
  } catch {
    // not there
  }
  if (!isCgroup2) return { note: '/sys/fs/cgroup/unified is not a cgroup2 mount: left alone', scratch: null };
  run('umount', [unified]);
  run('mount', ['-t', 'tmpfs', '-o', 'size=16m,mode=755,nosuid,nodev,noexec', 'berth-bench-unified', unified]);
  return {
    note: 'hybrid cgroups: /sys/fs/cgroup/unified unmounted in the benchmark\'s private mount namespace (an empty tmpfs in its place)',
    scratch: unified,
  };
}

/** v1 hierarchies this process is in: { mountPoint, own } per hierarchy. */
function v1Hierarchies() {
  const cgroupMounts = mounts().filter((m) => m.fstype === 'cgroup');
  const result = [];
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n').filter(Boolean)) {
    const [id, controllers, path] = [line.slice(0, line.indexOf(':')), ...splitRest(line.slice(line.indexOf(':') + 1))];
    if (id === '0') continue; // the v2 entry: hidden in this namespace
    const wanted = controllers.split(',').filter(Boolean);
    const mount = cgroupMounts.find((m) => {
      const options = m.superOptions.split(',');
      return wanted.every((c) => options.includes(c));
    });
    if (!mount) continue;
    result.push({ controllers, mountPoint: mount.mountPoint, own: path });
  }
  return result;
}

function splitRest(rest) {
  const i = rest.indexOf(':');
  return [rest.slice(0, i), rest.slice(i + 1)];
}

const isAncestor = (a, b) => a === '/' || a === b || b.startsWith(a + '/');

/**
 * Plans the cgroup parent for crun/runc. Returns { base, describe, cleanup() }
 * or { error } when our own cgroups are not on one chain.
 */
export function planCgroupParent() {
  const hierarchies = v1Hierarchies();
  if (hierarchies.length === 0) return { error: 'no cgroup v1 hierarchy is mounted in this namespace' };
  const deepest = hierarchies.map((h) => h.own).reduce((a, b) => (b.length > a.length ? b : a));
  const off = hierarchies.filter((h) => !isAncestor(h.own, deepest));
  if (off.length > 0) {
    return {
      error: `this process's v1 cgroups are not on one chain (${off.map((h) => `${h.controllers}:${h.own}`).join(', ')} vs ${deepest}); ` +
        'one OCI cgroupsPath cannot be below all of them',
    };
  }
  const base = join(deepest, `berth-bench-${process.pid}`);
  // which directories on the way down to base exist already, per hierarchy
  const created = [];
  for (const h of hierarchies) {
    let path = h.own;
    for (const part of base.slice(h.own === '/' ? 1 : h.own.length + 1).split('/')) {
      path = join(path, part);
      const dir = join(h.mountPoint, path);
      if (!existsSync(dir)) created.push(dir);
    }
  }
  created.sort((a, b) => b.length - a.length); // deepest first
  return {
    base,
    hierarchies,
    describe: `crun/runc cgroups under ${base} in each v1 hierarchy (our own cgroups: ${[...new Set(hierarchies.map((h) => h.own))].join(', ')})`,
    /** Removes every cgroup made below base, then the directories on the way to it. Returns what could not be removed. */
    async cleanup() {
      const left = [];
      for (const h of hierarchies) {
        const top = join(h.mountPoint, base);
        if (existsSync(top)) left.push(...(await removeTree(top)));
      }
      for (const dir of created) {
        if (!existsSync(dir)) continue;
        if (!(await rmdirRetry(dir))) left.push(dir);
      }
      return [...new Set(left)];
    },
  };
}

/** rmdir a cgroup tree bottom-up; returns the directories that stayed. */
async function removeTree(dir) {
  const left = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) left.push(...(await removeTree(join(dir, entry.name))));
  }
  if (!(await rmdirRetry(dir))) left.push(dir);
  return left;
}

/** A cgroup whose last process just exited can be busy for a moment. */
async function rmdirRetry(dir) {
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      rmdirSync(dir);
      return true;
    } catch (error) {
      if (error.code === 'ENOENT') return true;
      if (error.code !== 'EBUSY') return false;
      await sleep(25);
    }
  }
  return false;
}

/**
 * cgroups named after any of `names` (berth names a container's cgroups by its
 * id) below this process's own cgroup in every hierarchy mounted here, at most
 * `depth` levels down. Used to check that berth removed its containers' cgroups.
 */
export function findCgroupsNamed(names, depth = 4) {
  const found = [];
  const own = new Map();
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n').filter(Boolean)) {
    const [, controllers, path] = [line.slice(0, line.indexOf(':')), ...splitRest(line.slice(line.indexOf(':') + 1))];
    own.set(controllers, path);
  }
  for (const m of mounts().filter((m) => m.fstype === 'cgroup' || m.fstype === 'cgroup2')) {
    const options = m.superOptions.split(',');
    const entry = [...own.entries()].find(([controllers]) =>
      m.fstype === 'cgroup2' ? controllers === '' : controllers !== '' && controllers.split(',').every((c) => options.includes(c)));
    if (!entry) continue;
    const walk = (dir, level) => {
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        if (!e.isDirectory()) continue;
        const path = join(dir, e.name);
        if (names.has(e.name)) found.push(path);
        else if (level < depth) walk(path, level + 1);
      }
    };
    walk(join(m.mountPoint, entry[1]), 1);
  }
  return found;
}

/** rmdir each of `dirs` (deepest first); returns the ones that stayed. */
export async function removeCgroups(dirs) {
  const left = [];
  for (const dir of [...dirs].sort((a, b) => b.length - a.length)) {
    if (!(await rmdirRetry(dir))) left.push(dir);
  }
  return left;
}
