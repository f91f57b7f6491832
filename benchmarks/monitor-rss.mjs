// Memory per idle container monitor: start `count` containers running
// `sleep 3600`, read each berth-monitor's VmRSS (/proc/PID/status) and Pss
// (/proc/PID/smaps_rollup: shared pages split between the monitors that map
// them), then remove them all. Called from run.mjs (which provides the
// runtime, the rootfs and the private mount namespace).
import { readFileSync } from 'node:fs';

/** A "Key:   123 kB" field of a /proc file, in KiB. */
export function kib(path, key) {
  const match = readFileSync(path, 'utf8').match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
  if (!match) throw new Error(`no ${key} in ${path}`);
  return Number(match[1]);
}

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * @returns {{ count, rssKiB: number[], pssKiB: number[], medianRssKiB, medianPssKiB, containerRssKiB: number[], ownCgroups: number }}
 *   ownCgroups: how many of the containers are in cgroups other than this process's
 */
export async function measureMonitorMemory(runtime, { rootfs, count = 10, onCreate = () => {} }) {
  const containers = [];
  try {
    for (let i = 0; i < count; i++) {
      const container = await runtime.containers.create({ rootfs, cmd: ['sleep', '3600'] });
      containers.push(container);
      onCreate(container);
      await container.start();
    }
    const rssKiB = [];
    const pssKiB = [];
    const containerRssKiB = [];
    const ours = readFileSync('/proc/self/cgroup', 'utf8');
    let ownCgroups = 0;
    for (const container of containers) {
      const { state } = await container.inspect();
      if (!state.running || !state.monitorPid) throw new Error(`container ${container.name} is not running (${state.status})`);
      rssKiB.push(kib(`/proc/${state.monitorPid}/status`, 'VmRSS'));
      pssKiB.push(kib(`/proc/${state.monitorPid}/smaps_rollup`, 'Pss'));
      if (state.pid) {
        containerRssKiB.push(kib(`/proc/${state.pid}/status`, 'VmRSS'));
        if (readFileSync(`/proc/${state.pid}/cgroup`, 'utf8') !== ours) ownCgroups++;
      }
    }
    return { count, rssKiB, pssKiB, containerRssKiB, ownCgroups, medianRssKiB: median(rssKiB), medianPssKiB: median(pssKiB) };
  } finally {
    const errors = [];
    for (const container of containers) {
      try {
        await container.remove({ force: true });
      } catch (error) {
        errors.push(`${container.name}: ${error.message}`);
      }
    }
    if (errors.length) console.error(`monitor-rss: could not remove: ${errors.join('; ')}`);
  }
}
