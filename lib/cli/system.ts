/** `berth version`, `berth info`, `berth system df|prune|info` (prune: prune.ts). */
import { arch, cpus, platform, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Runtime } from '../index.js';
import { stringFlag, type CliCommand } from './command.js';
import { binarySize, humanSize } from './human.js';
import { commands as pruneCommands, dirSize } from './prune.js';

import { Template } from './template.js';
import { writeList } from './list-output.js';

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
      const { DEFAULT_ROOT, defaultRootlessRoot } = await import('../runtime.js');
      const { cgroupMode } = await import('../cgroup/cgroup-driver.js');
      const { release } = await import('node:os');
      const version = typeof __BERTH_VERSION__ === 'string' ? __BERTH_VERSION__ : '0.1.0';
      const data = {
        Client: { Version: version, NodeVersion: process.version, Os: platform(), Arch: arch() },
        Engine: { Version: version, KernelVersion: release(), CgroupVersion: cgroupMode(), Root: process.env.BERTH_ROOT ?? (process.getuid?.() === 0 ? DEFAULT_ROOT : defaultRootlessRoot()) },
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
      const columns = [['Type', 'TYPE'], ['TotalCount', 'TOTAL'], ['Active', 'ACTIVE'], ['Size', 'SIZE'], ['Reclaimable', 'RECLAIMABLE']] as const;
      writeList(ctx, stringFlag(parsed, 'format'), rows, columns, { TotalCount: 'TOTAL' });
      return 0;
    },
  },
  'system prune': pruneCommands['system prune']!,
};

declare const __BERTH_VERSION__: string | undefined;
