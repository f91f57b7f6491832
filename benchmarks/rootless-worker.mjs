// The rootless berth row's other half: runs as the unprivileged user
// berth-rootless (started by benchmarks/rootless.mjs, inside run.mjs's mount
// namespace), with a rootless runtime on a state root of its own. Each line
// `run` on stdin is one create+start+wait of /bin/true, timed here as the root
// row is timed in run.mjs (API, in-process; remove() after the clock); each
// answer is one JSON line on stdout: {"ms": …} or {"error": "…"}.
import { createInterface } from 'node:readline';

const send = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
const { Runtime } = await import('../dist/index.js');

let runtime;
let rootfs;
try {
  runtime = await Runtime.open({ root: process.env.BERTH_BENCH_ROOT });
  if (runtime.rootless !== true) throw new Error(`Runtime.open() as uid ${process.getuid()} did not give a rootless runtime (runtime.rootless is ${runtime.rootless})`);
  // the same rootfs as the root rows: the built-in busybox image's layer (this runtime's own)
  rootfs = (await runtime.images.get('localhost/busybox')).layerPaths[0];
  send({ ready: true, root: runtime.root });
} catch (error) {
  send({ error: error.message });
  process.exit(1);
}

for await (const line of createInterface({ input: process.stdin })) {
  if (line !== 'run') break;
  let ms;
  try {
    const t0 = process.hrtime.bigint();
    const container = await runtime.containers.create({ rootfs, cmd: ['/bin/true'] });
    try {
      await container.start();
      const { exitCode } = await container.wait();
      ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (exitCode !== 0) throw new Error(`/bin/true exited ${exitCode}`);
    } finally {
      await container.remove({ force: true });
    }
    send({ ms });
  } catch (error) {
    send({ error: error.message });
  }
}
for (const container of await runtime.containers.list({ all: true })) await container.remove({ force: true });
