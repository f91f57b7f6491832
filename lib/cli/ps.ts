/** `berth ps`: Docker's columns, filters and `--format`. */
import type { ContainerInspect, ContainerListOptions, ContainerStatus } from '../index.js';
import { listFlag, intFlag, stringFlag, UsageError, type CliCommand } from './command.js';
import { ago, humanDuration } from './human.js';
import { truncate } from './table.js';

import { writeList } from './list-output.js';

/** `Up 5 seconds (healthy)`, `Exited (0) 3 minutes ago`, `Created`. */
export function statusText(info: ContainerInspect): string {
  const { state } = info;
  const since = (time: string | null) => humanDuration(Date.now() - new Date(time ?? Date.now()).getTime());
  switch (state.status) {
    case 'created':
      return 'Created';
    case 'exited':
      return `Exited (${state.exitCode ?? 0}) ${ago(state.finishedAt)}`;
    case 'paused':
      return `Up ${since(state.startedAt)} (Paused)`;
    default: {
      const health = state.health ? (state.health.status === 'starting' ? ' (health: starting)' : ` (${state.health.status})`) : '';
      return `Up ${since(state.startedAt)}${health}`;
    }
  }
}

/** `127.0.0.1:32768->80/tcp, …`. */
export function portsText(info: ContainerInspect): string {
  return info.ports.map((p) => `${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.proto}`).join(', ');
}

/** The fields `--format` reads, named as Docker's. */
export function psRow(info: ContainerInspect, noTrunc: boolean) {
  const command = info.config.cmd.join(' ');
  return {
    ID: noTrunc ? info.id : info.id.slice(0, 12),
    Image: info.image,
    Command: noTrunc ? JSON.stringify(command) : `"${truncate(command, 20)}"`,
    CreatedAt: info.createdAt,
    RunningFor: ago(info.createdAt),
    Ports: portsText(info),
    State: info.state.status,
    Status: statusText(info),
    Names: info.name,
    Labels: Object.entries(info.config.labels).map(([k, v]) => `${k}=${v}`).join(','),
    Mounts: info.mounts.map((m) => ('source' in m && m.source ? m.source : m.target)).join(','),
    Networks: info.networks.map((n) => n.network).join(','),
  };
}

const STATUSES: readonly string[] = ['created', 'running', 'paused', 'exited'];

const HEADERS = { ID: 'CONTAINER ID', RunningFor: 'CREATED', CreatedAt: 'CREATED AT', Names: 'NAMES' };

/** `--filter name=web --filter status=exited --filter label=a=b --filter id=abc` → list options and an id test. */
function filters(values: readonly string[]): { options: ContainerListOptions; id?: string } {
  const labels: string[] = [];
  const status: ContainerStatus[] = [];
  let name: string | undefined;
  let id: string | undefined;
  for (const value of values) {
    const at = value.indexOf('=');
    const [key, rest] = at < 0 ? [value, ''] : [value.slice(0, at), value.slice(at + 1)];
    if (key === 'label') labels.push(rest);
    else if (key === 'status') {
      if (!STATUSES.includes(rest as ContainerStatus)) throw new UsageError(`invalid filter 'status=${rest}': ${STATUSES.join(', ')}`, 'ps');
      status.push(rest as ContainerStatus);
    }
    else if (key === 'name') name = rest;
    else if (key === 'id') id = rest;
    else throw new UsageError(`invalid filter '${key}': berth ps filters by name, id, label and status`, 'ps');
  }
  return { options: { ...(labels.length ? { labels } : {}), ...(status.length ? { status } : {}), ...(name !== undefined ? { name } : {}) }, ...(id ? { id } : {}) };
}

export const commands: Record<string, CliCommand> = {
  ps: {
    usage: 'berth ps [OPTIONS]',
    summary: 'List containers',
    flags: {
      all: { type: 'boolean', short: 'a', description: 'Show all containers (default shows just running)' },
      quiet: { type: 'boolean', short: 'q', description: 'Only display container IDs' },
      last: { type: 'string', short: 'n', description: 'Show n last created containers (includes all states)' },
      latest: { type: 'boolean', short: 'l', description: 'Show the latest created container (includes all states)' },
      filter: { type: 'string', short: 'f', multiple: true, description: 'Filter output based on conditions provided (name=, id=, label=, status=)' },
      format: { type: 'string', description: "Format output using a custom template: 'table', 'table TEMPLATE', 'json', 'TEMPLATE'" },
      'no-trunc': { type: 'boolean', description: "Don't truncate output" },
    },
    maxArgs: 0,
    async run(parsed, ctx) {
      const runtime = await ctx.runtime();
      const last = parsed.flags.latest ? 1 : intFlag(parsed, 'last', 0);
      const { options, id } = filters(listFlag(parsed, 'filter'));
      const all = parsed.flags.all === true || last !== undefined;
      const containers = await runtime.containers.list({ ...options, all });
      let infos = (await Promise.all(containers.map((c) => c.inspect().catch(() => undefined)))).filter((i): i is ContainerInspect => i !== undefined);
      if (id) infos = infos.filter((i) => i.id.startsWith(id));
      infos.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
      if (last !== undefined && last > 0) infos = infos.slice(0, last);
      const noTrunc = parsed.flags['no-trunc'] === true;
      if (parsed.flags.quiet) {
        ctx.stdout.write(infos.map((i) => (noTrunc ? i.id : i.id.slice(0, 12)) + '\n').join(''));
        return 0;
      }
      const rows = infos.map((i) => psRow(i, noTrunc));
      const columns = [['ID', 'CONTAINER ID'], ['Image', 'IMAGE'], ['Command', 'COMMAND'], ['RunningFor', 'CREATED'], ['Status', 'STATUS'], ['Ports', 'PORTS'], ['Names', 'NAMES']] as const;
      writeList(ctx, stringFlag(parsed, 'format'), rows, columns, HEADERS);
      return 0;
    },
  },
};
