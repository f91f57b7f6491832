/**
 * The host's device nodes, for a privileged container's /dev (Docker gives
 * it every node of the host's /dev, with the same mode and owner). As
 * runc's walk of /dev: symlinks and the per-instance directories (pts, shm,
 * mqueue, fd) are left out, and so is the console; the standard nodes the
 * container always gets stay as they are.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const SKIPPED_DIRECTORIES = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);
const SKIPPED_FILES = new Set(['console']);

/** The host's device nodes as the monitor spec's `device` values: `c:major:minor:mode(octal):uid:gid:/dev/path`. */
export function hostDevices(dev = '/dev'): string[] {
  const found: string[] = [];
  const walk = (dir: string, inContainer: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // gone, or not readable: nothing of it
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      const target = `${inContainer}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRECTORIES.has(entry.name)) walk(path, target);
        continue;
      }
      if (!(entry.isCharacterDevice() || entry.isBlockDevice()) || SKIPPED_FILES.has(entry.name)) continue;
      let st;
      try {
        st = lstatSync(path, { bigint: true });
      } catch {
        continue;
      }
      const major = ((st.rdev >> 8n) & 0xfffn) | ((st.rdev >> 32n) & ~0xfffn);
      const minor = (st.rdev & 0xffn) | ((st.rdev >> 12n) & ~0xffn);
      const type = st.isBlockDevice() ? 'b' : 'c';
      found.push(`${type}:${major}:${minor}:${(st.mode & 0o7777n).toString(8)}:${st.uid}:${st.gid}:${target}`);
    }
  };
  walk(dev, '/dev');
  return found;
}
