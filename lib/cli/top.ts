/**
 * `berth top`: the container's processes, as `docker top` shows them: the
 * host's `ps -ef` (or the `ps` options given) limited to the processes in the
 * container's pid namespace.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { promisify } from 'node:util';
import { BerthError, InvalidStateError } from '../errors.js';
import type { CliCommand } from './command.js';
import { renderTable } from './table.js';

/** The host pids of the processes in the pid namespace of `pid`. */
function pidsInNamespaceOf(pid: number): number[] {
  const namespace = readlinkSync(`/proc/${pid}/ns/pid`);
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/pid`) === namespace) pids.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return pids;
}

export const commands: Record<string, CliCommand> = {
  top: {
    usage: 'berth top CONTAINER [ps OPTIONS]',
    summary: 'Display the running processes of a container',
    flags: {},
    minArgs: 1,
    stopAtOperand: true,
    async run(parsed, ctx) {
      const [name, ...psOptions] = parsed.args as [string, ...string[]];
      const container = await (await ctx.runtime()).containers.get(name);
      const { state } = await container.inspect();
      if (!state.running || state.pid === null) throw new InvalidStateError(`container ${name} is not running`, { containerId: container.id });
      const pids = pidsInNamespaceOf(state.pid);
      const options = psOptions.length ? psOptions : ['-f'];
      const { stdout } = await promisify(execFile)('ps', [...options, '-p', pids.join(',')]).catch((error: NodeJS.ErrnoException & { stderr?: string }) => {
        if (error.code === 'ENOENT') throw new BerthError("berth top runs the host's ps, which is not installed (Debian: apt-get install procps)", { code: 'ENOENT', path: 'ps' });
        throw new BerthError(`ps ${options.join(' ')}: ${error.stderr?.trim() || error.message}`, { code: 'ERR_PS' });
      });
      // ps's columns as it laid them out, re-laid so that no value runs into the next column
      const lines = stdout.trimEnd().split('\n');
      const header = lines[0]!.trim().split(/\s+/);
      const rows = lines.slice(1).map((line) => {
        const cells = line.trim().split(/\s+/);
        return [...cells.slice(0, header.length - 1), cells.slice(header.length - 1).join(' ')];
      });
      ctx.stdout.write(renderTable([header, ...rows]));
      return 0;
    },
  },
};
