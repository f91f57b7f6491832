// The `berth/` cgroup parents below this process's own cgroups, removed.
import { readFileSync, rmdirSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * berth keeps its `berth/` cgroup parents for the next container (as Docker
 * keeps `docker/`); the test run and the benchmarks remove the ones below
 * their own cgroups once they are done, so a run leaves no cgroup behind.
 * One still in use by a container elsewhere stays.
 */
export function removeBerthCgroupParents() {
  const own = readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n').map((line) => {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    return { controllers: (controllers ?? '').split(',').filter(Boolean).sort().join(','), path: path ?? '/' };
  });
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n')) {
    const [before, after = ''] = line.split(' - ');
    const [, , , mountRoot, mountPoint] = before.split(' ');
    const [fstype, , superOptions = ''] = after.split(' ');
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const controllers = fstype === 'cgroup2' ? '' : superOptions.split(',').filter((o) => !['rw', 'ro', 'xattr', 'nsdelegate', 'clone_children', 'noprefix', 'memory_recursiveprot'].includes(o) && !o.startsWith('release_agent=')).sort().join(',');
    const mine = own.find((entry) => entry.controllers === controllers);
    if (!mine) continue;
    const dir = join(mountPoint, relative(mountRoot, mine.path), 'berth');
    try {
      rmdirSync(dir);
    } catch {
      // not there, or still holding a container's cgroup
    }
  }
}
