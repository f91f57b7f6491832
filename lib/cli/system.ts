/** `berth version`, `berth info`, `berth system df|prune|info`. */
import { lstatSync, readdirSync } from 'node:fs';
import { arch, cpus, platform, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Runtime } from '../index.js';
import { stringFlag, type CliCommand } from './command.js';
import type { CliContext } from './context.js';
import { binarySize, humanSize } from './human.js';
import { renderTable } from './table.js';
import { Template } from './template.js';

/** Bytes of the files under `dir`, walked with lstat (nothing followed). */
function dirSize(dir: string): number {
  let total = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const stats = lstatSync(join(dir, name), { throwIfNoEntry: false });
    if (!stats) continue;
    total += stats.isDirectory() ? dirSize(join(dir, name)) : stats.size;
  }
  return total;
}

async function infoOf(runtime: Runtime) {
  const infos = await Promise.all((await runtime.containers.list({ all: true })).map((c) => c.inspect().catch(() => undefined)));
  const count = (status: string) => infos.filter((i) => i?.state.status === status).length;
  const base = runtime.info();
  return {
    ID: base.root,
    Containers: infos.length,
    ContainersRunning: count('running'),
    ContainersPaused: count('paused'),
    ContainersStopped: count('exited') + count('created'),
    Images: runtime.images.list().length,
    ServerVersion: base.version,
    KernelVersion: base.kernel,
    CgroupVersion: base.cgroupMode,
    OperatingSystem: platform(),
    Architecture: arch(),
    NCPU: cpus().length,
    MemTotal: totalmem(),
    BerthRootDir: base.root,
  };
}

async function confirm(ctx: CliContext, warning: string): Promise<boolean> {
  ctx.stdout.write(`${warning}\nAre you sure you want to continue? [y/N] `);
  const lines = createInterface({ input: process.stdin });
  const answer = await lines[Symbol.asyncIterator]().next();
  lines.close();
  return /^y(es)?$/i.test(String(answer.value ?? '').trim());
}

const formatFlag = { type: 'string', short: 'f', description: 'Format output using a custom template' } as const;

const info: CliCommand = {
  usage: 'berth info [OPTIONS]',
  summary: 'Display system-wide information',
  flags: { format: formatFlag },
  maxArgs: 0,
  async run(parsed, ctx) {
    const i = await infoOf(await ctx.runtime());
    const format = stringFlag(parsed, 'format');
    if (format) {
      ctx.stdout.write(new Template(format, ctx.isTTY).render(i) + '\n');
      return 0;
    }
    ctx.stdout.write(
      `Server:\n Containers: ${i.Containers}\n  Running: ${i.ContainersRunning}\n  Paused: ${i.ContainersPaused}\n  Stopped: ${i.ContainersStopped}\n Images: ${i.Images}\n` +
        ` Server Version: ${i.ServerVersion} (no daemon: the CLI is the engine)\n Cgroup Version: ${i.CgroupVersion}\n Kernel Version: ${i.KernelVersion}\n` +
        ` Operating System: ${i.OperatingSystem}\n Architecture: ${i.Architecture}\n CPUs: ${i.NCPU}\n Total Memory: ${binarySize(i.MemTotal)}\n Berth Root Dir: ${i.BerthRootDir}\n`,
    );
    return 0;
  },
};

export const commands: Record<string, CliCommand> = {
  version: {
    usage: 'berth version [OPTIONS]',
    summary: 'Show the berth version information',
    flags: { format: formatFlag },
    maxArgs: 0,
    async run(parsed, ctx) {
      const { DEFAULT_ROOT } = await import('../runtime.js');
      const { cgroupMode } = await import('../cgroup/cgroup-driver.js');
      const { release } = await import('node:os');
      const version = typeof __BERTH_VERSION__ === 'string' ? __BERTH_VERSION__ : '0.1.0';
      const data = {
        Client: { Version: version, NodeVersion: process.version, Os: platform(), Arch: arch() },
        Engine: { Version: version, KernelVersion: release(), CgroupVersion: cgroupMode(), Root: process.env.BERTH_ROOT ?? DEFAULT_ROOT },
      };
      const format = stringFlag(parsed, 'format');
      if (format) ctx.stdout.write(new Template(format, ctx.isTTY).render(data) + '\n');
      else
        ctx.stdout.write(
          `Client:\n Version:      ${version}\n Node version: ${process.version}\n OS/Arch:      ${platform()}/${arch()}\n\n` +
            `Engine (in-process, no daemon):\n Version:      ${version}\n Kernel:       ${data.Engine.KernelVersion}\n Cgroups:      ${data.Engine.CgroupVersion}\n Root:         ${data.Engine.Root}\n`,
        );
      return 0;
    },
  },
  info,
  'system info': { ...info, usage: 'berth system info [OPTIONS]' },
  'system df': {
    usage: 'berth system df [OPTIONS]',
    summary: 'Show berth disk usage',
    flags: { format: { type: 'string', description: 'Format output using a custom template' } },
    maxArgs: 0,
    async run(parsed, ctx) {
      const runtime = await ctx.runtime();
      const images = runtime.images.list().map((image) => image.inspect());
      const containers = (await Promise.all((await runtime.containers.list({ all: true })).map((c) => c.inspect().catch(() => undefined)))).filter((i) => i !== undefined);
      const used = new Set(await Promise.all(containers.map((c) => runtime.images.get(c.image).then((i) => i.id, () => undefined))));
      const active = images.filter((image) => used.has(image.id));
      const imageBytes = images.reduce((sum, i) => sum + i.size, 0);
      const containerBytes = containers.map((c) => ({ running: c.state.running, size: dirSize(join(c.path, 'upper')) }));
      const volumes = await Promise.all((await runtime.volumes.list()).map((v) => v.inspect()));
      const volumeBytes = volumes.map((v) => ({ used: v.usedBy.length > 0, size: dirSize(v.mountpoint) }));
      const sum = (items: { size: number }[]) => items.reduce((total, i) => total + i.size, 0);
      const pct = (part: number, whole: number) => (whole > 0 ? ` (${Math.round((part / whole) * 100)}%)` : '');
      const reclaimImages = imageBytes - active.reduce((total, i) => total + i.size, 0);
      const reclaimContainers = sum(containerBytes.filter((c) => !c.running));
      const reclaimVolumes = sum(volumeBytes.filter((v) => !v.used));
      const rows = [
        { Type: 'Images', TotalCount: images.length, Active: active.length, Size: humanSize(imageBytes), Reclaimable: humanSize(reclaimImages) + pct(reclaimImages, imageBytes) },
        { Type: 'Containers', TotalCount: containers.length, Active: containerBytes.filter((c) => c.running).length, Size: humanSize(sum(containerBytes)), Reclaimable: humanSize(reclaimContainers) + pct(reclaimContainers, sum(containerBytes)) },
        { Type: 'Local Volumes', TotalCount: volumes.length, Active: volumeBytes.filter((v) => v.used).length, Size: humanSize(sum(volumeBytes)), Reclaimable: humanSize(reclaimVolumes) + pct(reclaimVolumes, sum(volumeBytes)) },
      ];
      const format = stringFlag(parsed, 'format');
      if (format) ctx.stdout.write(new Template(format, ctx.isTTY).renderAll(rows, { TotalCount: 'TOTAL' }));
      else ctx.stdout.write(renderTable([['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'], ...rows.map((r) => [r.Type, String(r.TotalCount), String(r.Active), r.Size, r.Reclaimable])]));
      return 0;
    },
  },
  'system prune': {
    usage: 'berth system prune [OPTIONS]',
    summary: 'Remove unused data: stopped containers, unused networks, dangling images (and anonymous volumes with --volumes)',
    flags: {
      all: { type: 'boolean', short: 'a', description: 'Remove all unused images not just dangling ones' },
      force: { type: 'boolean', short: 'f', description: 'Do not prompt for confirmation' },
      volumes: { type: 'boolean', description: 'Prune anonymous volumes' },
    },
    maxArgs: 0,
    async run(parsed, ctx) {
      if (!parsed.flags.force) {
        const warning = `WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n${parsed.flags.volumes ? '  - all anonymous volumes not used by at least one container\n' : ''}  - ${parsed.flags.all ? 'all images without at least one container associated to them' : 'all dangling images'}`;
        if (!(await confirm(ctx, warning))) return 0;
      }
      const runtime = await ctx.runtime();
      const { DEFAULT_NETWORK } = await import('../network/network-collection.js');
      const removed: string[] = [];
      for (const container of await runtime.containers.list({ status: ['exited', 'created'] })) {
        await container.remove(); // its anonymous volumes stay for --volumes, as Docker's
        removed.push(container.id);
      }
      if (removed.length) ctx.stdout.write(`Deleted Containers:\n${removed.join('\n')}\n\n`);
      const networks: string[] = [];
      for (const network of await runtime.networks.list()) {
        if (network.name === DEFAULT_NETWORK || (await network.containers()).length > 0) continue;
        await network.remove();
        networks.push(network.name);
      }
      if (networks.length) ctx.stdout.write(`Deleted Networks:\n${networks.join('\n')}\n\n`);
      let reclaimed = 0;
      if (parsed.flags.volumes) {
        const result = await runtime.volumes.prune();
        reclaimed += result.reclaimedBytes;
        if (result.volumes.length) ctx.stdout.write(`Deleted Volumes:\n${result.volumes.join('\n')}\n\n`);
      }
      const images = await runtime.images.prune({ dangling: parsed.flags.all !== true });
      reclaimed += images.reclaimedBytes;
      if (images.images.length) ctx.stdout.write(`Deleted Images:\n${images.images.map((id) => `deleted: ${id}`).join('\n')}\n\n`);
      ctx.stdout.write(`Total reclaimed space: ${humanSize(reclaimed)}\n`);
      return 0;
    },
  },
};

declare const __BERTH_VERSION__: string | undefined;
