// What a row leaves running after its timed run, waited for outside the clock.
// A rootless row can return while processes it started still run as the
// rootless user (podman's conmon and the cleanup it starts, a rootless
// berth monitor letting go of its container); timed into whichever row came
// next, they made that row pay for them. Processes of the rootless user that
// were not there when the runs began (zombies aside) are waited for after each
// run, at most `limitMs`; the long-lived ones (the rootless berth worker,
// podman's pause process) are in the baseline. The bench prints how often it
// waited, for how long in all, and for what.
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** The processes whose real uid is `uid` ({pid, name}), zombies (which run nothing) left out. */
function processesOf(uid) {
  const found = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = readFileSync(`/proc/${name}/status`, 'latin1');
      if (Number(/\nUid:\s+(\d+)/.exec(status)?.[1]) === uid && !/\nState:\s+Z/.test(status)) {
        found.push({ pid: Number(name), name: /^Name:\s+(.*)/.exec(status)?.[1] ?? '?' });
      }
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/**
 * A settler for processes of `uid`: `begin()` takes the baseline; `settle()`
 * waits until none but those run, and resolves with the milliseconds waited.
 */
export function leftoverSettler(uid, limitMs = 2000) {
  let baseline = new Set();
  const stats = { runs: 0, waited: 0, totalMs: 0, names: new Set() };
  return {
    stats,
    begin() {
      baseline = new Set(processesOf(uid).map((p) => p.pid));
    },
    async settle() {
      const began = performance.now();
      let waited = false;
      let left;
      while ((left = processesOf(uid).filter((p) => !baseline.has(p.pid))).length && performance.now() - began < limitMs) {
        for (const p of left) stats.names.add(p.name);
        waited = true;
        await sleep(2);
      }
      const ms = performance.now() - began;
      stats.runs++;
      if (waited) {
        stats.waited++;
        stats.totalMs += ms;
      }
      return ms;
    },
  };
}
