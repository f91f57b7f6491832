/** `berth stats`: a live table on a terminal (redrawn each second), one sample with `--no-stream` or in a pipe. */
import type { Container, ContainerStats } from '../index.js';
import { stringFlag, type CliCommand } from './command.js';
import type { CliContext } from './context.js';
import { binarySize, humanSize } from './human.js';
import { renderTable } from './table.js';
import { Template } from './template.js';

function row(container: Container, stats: ContainerStats | undefined) {
  const m = stats?.memory;
  return {
    ID: container.id.slice(0, 12),
    Container: container.id.slice(0, 12),
    Name: container.name,
    CPUPerc: stats ? `${stats.cpu.percent.toFixed(2)}%` : '--',
    MemUsage: m ? `${binarySize(m.usage)} / ${binarySize(m.limit)}` : '-- / --',
    MemPerc: m ? `${((m.usage / m.limit) * 100).toFixed(2)}%` : '--',
    NetIO: '--',
    BlockIO: stats ? `${humanSize(stats.blockIo.readBytes)} / ${humanSize(stats.blockIo.writeBytes)}` : '--',
    PIDs: stats ? String(stats.pids.current) : '--',
  };
}

async function sample(containers: Container[]) {
  return Promise.all(containers.map(async (c) => row(c, await c.stats().catch(() => undefined))));
}

function render(rows: ReturnType<typeof row>[], format: string | undefined, terminal: boolean): string {
  if (format) return new Template(format, terminal).renderAll(rows, { ID: 'CONTAINER ID', CPUPerc: 'CPU %', MemUsage: 'MEM USAGE / LIMIT', MemPerc: 'MEM %', NetIO: 'NET I/O', BlockIO: 'BLOCK I/O' });
  const header = ['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'NET I/O', 'BLOCK I/O', 'PIDS'];
  return renderTable([header, ...rows.map((r) => [r.ID, r.Name, r.CPUPerc, r.MemUsage, r.MemPerc, r.NetIO, r.BlockIO, r.PIDs])]);
}

async function live(ctx: CliContext, containers: () => Promise<Container[]>, format: string | undefined): Promise<number> {
  const stop = new AbortController();
  const end = () => stop.abort();
  process.on('SIGINT', end); // `on`: a second Ctrl-C (or a signal to the whole group) while stopping is no crash
  try {
    while (!stop.signal.aborted) {
      const text = render(await sample(await containers()), format, true);
      ctx.stdout.write(`\x1b[2J\x1b[H${text}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        stop.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
    }
  } finally {
    process.off('SIGINT', end);
  }
  return 0;
}

export const commands: Record<string, CliCommand> = {
  stats: {
    usage: 'berth stats [OPTIONS] [CONTAINER...]',
    summary: 'Display a live stream of container resource usage statistics',
    flags: {
      all: { type: 'boolean', short: 'a', description: 'Show all containers (default shows just running)' },
      'no-stream': { type: 'boolean', description: 'Disable streaming stats and only pull the first result' },
      format: { type: 'string', description: 'Format output using a custom template' },
    },
    async run(parsed, ctx) {
      const runtime = await ctx.runtime();
      const named = parsed.args;
      const containers = async () =>
        named.length ? Promise.all(named.map((n) => runtime.containers.get(n))) : runtime.containers.list({ all: parsed.flags.all === true });
      const format = stringFlag(parsed, 'format');
      if (parsed.flags['no-stream'] || !ctx.isTTY) {
        ctx.stdout.write(render(await sample(await containers()), format, ctx.isTTY));
        return 0;
      }
      return live(ctx, containers, format);
    },
  },
};
