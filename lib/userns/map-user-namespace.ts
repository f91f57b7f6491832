/**
 * Writes the id maps of a process that has just made a user namespace (berth's
 * own helper, see userns-file-ops.ts), from the parent namespace.
 *
 * With `newuidmap`/`newgidmap` installed, they write them (they check the
 * ranges against /etc/subuid and /etc/subgid). Without them only a map of the
 * caller's own ids can be written, which an unprivileged process may do
 * itself: `deny` into `setgroups` first (the kernel's condition for a gid map
 * written without CAP_SETGID), then `0 <uid> 1` and `0 <gid> 1`.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { BerthError } from '../errors.js';
import { formatIdMapping, type IdMapping, type IdMaps } from './id-map.js';
import type { IdMapTools } from './rootless-host.js';

const run = promisify(execFile);

/** `[containerId, hostId, size, …]` as newuidmap's arguments. */
function toolArguments(pid: number, map: readonly IdMapping[]): string[] {
  return [String(pid), ...map.flatMap((range) => [range.containerId, range.hostId, range.size].map(String))];
}

/**
 * Maps the user namespace of process `pid`.
 * @throws BerthError (step `userns`) when a tool or a write fails, with the tool's own words.
 */
export async function mapUserNamespace(pid: number, maps: IdMaps, tools: IdMapTools | undefined): Promise<void> {
  if (tools) {
    for (const [tool, map] of [[tools.newuidmap, maps.uidMap], [tools.newgidmap, maps.gidMap]] as const) {
      try {
        await run(tool, toolArguments(pid, map), { timeout: 10_000 });
      } catch (error) {
        const e = error as { stderr?: string; message: string };
        throw new BerthError(`${tool} failed for process ${pid}: ${(e.stderr ?? e.message).trim()}; check /etc/subuid and /etc/subgid for this user`, {
          code: 'ERR_USERNS_MAP', step: 'userns', path: tool, cause: error,
        });
      }
    }
    return;
  }
  if (maps.uidMap.length !== 1 || maps.gidMap.length !== 1) {
    throw new BerthError('mapping subordinate ids needs newuidmap and newgidmap (Debian/Ubuntu: the uidmap package)', {
      code: 'ERR_USERNS_MAP', step: 'userns', path: 'newuidmap',
    });
  }
  const files: [string, string][] = [
    ['setgroups', 'deny'],
    ['uid_map', formatIdMapping(maps.uidMap[0]!)],
    ['gid_map', formatIdMapping(maps.gidMap[0]!)],
  ];
  for (const [name, text] of files) {
    const path = `/proc/${pid}/${name}`;
    try {
      await writeFile(path, `${text}\n`);
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      throw new BerthError(`writing ${path}: ${e.message}`, { code: e.code ?? 'ERR_USERNS_MAP', errno: e.errno, syscall: 'write', step: 'userns', path, cause: error });
    }
  }
}
