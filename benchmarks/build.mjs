#!/usr/bin/env node
// berth's build benchmark: the same Dockerfile and context built by berth
// (`runtime.images.build()`, in this process, and as a new Node process per
// build, as `berth build` would run) and by `buildah bud --layers` (Debian's
// buildah, chroot isolation, vfs storage), in one run:
//
//   cold         no build cache (the base image is already in each store)
//   warm         the same build again, nothing changed
//   one file     one source file changed: the steps after its COPY run again
//
//   npm run build && node benchmarks/build.mjs [--runs N]
//
// Needs root. Re-executes itself under `unshare --net --mount` with lo up: the
// base image comes from a local registry (Debian's docker-registry) that berth
// fills with its built-in busybox; everything lives in one temp dir, removed
// at the end. Prints medians (ms) and buildah/berth ratios.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inPrivateMountNamespace } from './mount-namespace.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);

function usage(problem) {
  if (problem) console.error(`build.mjs: ${problem}`);
  console.error('usage: node benchmarks/build.mjs [--runs N]');
  process.exit(problem ? 2 : 0);
}

const options = { runs: 3 };
for (let i = 2; i < process.argv.length; i++) {
  const flag = process.argv[i];
  if (flag === '--runs') {
    options.runs = Number(process.argv[++i]);
    if (!Number.isInteger(options.runs) || options.runs < 1) usage('--runs needs a positive integer');
  } else if (flag === '--help' || flag === '-h') usage();
  else usage(`unknown argument ${flag}`);
}
if (process.getuid?.() !== 0) usage('needs root');
inPrivateMountNamespace('BERTH_BENCH_NAMESPACE', root, { net: true }); // lo up inside; no berth/ cgroup parents left after
for (const [tool, pkg] of [['/usr/bin/docker-registry', 'docker-registry'], ['/usr/bin/buildah', 'buildah']]) {
  if (!existsSync(tool)) usage(`${tool} is missing: apt-get install ${pkg}`);
}
if (!existsSync(join(root, 'dist/index.js'))) usage('dist/ is not built: run npm run build first');
const { Runtime } = await import('../dist/index.js');

const work = mkdtempSync(join(tmpdir(), 'berth-build-bench-'));
const children = [];
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

// ---------------------------------------------------------------- registry and base image
async function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
const port = await freePort();
mkdirSync(join(work, 'registry'));
writeFileSync(join(work, 'registry/config.yml'), `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(work, 'registry/storage')}\nhttp:\n  addr: 127.0.0.1:${port}\n`);
children.push(spawn('/usr/bin/docker-registry', ['serve', join(work, 'registry/config.yml')], { stdio: 'ignore' }));
for (let i = 0; ; i++) {
  if ((await fetch(`http://127.0.0.1:${port}/v2/`).catch(() => undefined))?.ok) break;
  if (i > 100) throw new Error('the registry did not start');
  await new Promise((resolve) => setTimeout(resolve, 50));
}
const base = `127.0.0.1:${port}/base/busybox:1`;
{
  const seed = await Runtime.open({ root: join(work, 'seed') });
  await (await seed.images.get('localhost/busybox')).push(base);
}

// ---------------------------------------------------------------- the context
const context = join(work, 'context');
mkdirSync(join(context, 'src'), { recursive: true });
writeFileSync(join(context, 'deps.txt'), 'dep-a\ndep-b\n');
for (let i = 0; i < 200; i++) writeFileSync(join(context, 'src', `file-${i}.txt`), `${'x'.repeat(4000)} ${i}\n`);
writeFileSync(join(context, '.dockerignore'), '*.tmp\n');
writeFileSync(join(context, 'Dockerfile'), [
  `FROM ${base}`,
  'WORKDIR /app',
  'COPY deps.txt .',
  'RUN for i in $(seq 1 500); do echo "installed $i"; done > /app/deps-installed',
  'COPY src/ ./src/',
  'RUN cat src/*.txt | wc -c > /app/build-output',
  'ENV MODE=production',
  'EXPOSE 8080',
  'CMD ["cat", "/app/build-output"]',
].join('\n') + '\n');
let changeCount = 0;
const changeOneFile = () => writeFileSync(join(context, 'src', 'file-7.txt'), `changed ${++changeCount}\n`);

// ---------------------------------------------------------------- the builders
const now = () => Number(process.hrtime.bigint()) / 1e6;

function berthApi(dir) {
  let runtime;
  return {
    name: 'berth (API, in process)',
    async prepare() {
      runtime = await Runtime.open({ root: dir });
      await runtime.images.pull(base);
    },
    async build() {
      const start = now();
      await runtime.images.build({ context, tags: ['bench:1'] });
      return now() - start;
    },
  };
}

function berthProcess(dir) {
  const script = `const { Runtime } = await import(${JSON.stringify(join(root, 'dist/index.js'))});
const runtime = await Runtime.open({ root: ${JSON.stringify(dir)} });
await runtime.images.build({ context: ${JSON.stringify(context)}, tags: ['bench:1'] });`;
  return {
    name: 'berth (a new node process)',
    async prepare() {
      const runtime = await Runtime.open({ root: dir });
      await runtime.images.pull(base);
    },
    async build() {
      const start = now();
      execFileSync(process.execPath, ['--input-type=module', '-e', script], { stdio: 'inherit' });
      return now() - start;
    },
  };
}

function buildah(dir) {
  const args = ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--storage-driver', 'vfs'];
  return {
    name: 'buildah bud --layers',
    async prepare() {
      execFileSync('buildah', [...args, 'pull', '--tls-verify=false', '-q', base], { stdio: 'ignore' });
    },
    async build() {
      const start = now();
      execFileSync('buildah', [...args, 'bud', '--layers', '--isolation', 'chroot', '--tls-verify=false', '-q', '-t', 'bench:1', context], { stdio: 'ignore' });
      return now() - start;
    },
  };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const scenarios = ['cold', 'warm (no change)', 'one file changed'];
const results = new Map();
for (let run = 0; run < options.runs; run++) {
  // each run: fresh stores (cold = no build cache, base image present), builders in a rotating order
  const makers = [berthApi, berthProcess, buildah];
  const order = makers.map((_, i) => makers[(i + run) % makers.length]);
  for (const make of order) {
    const dir = mkdtempSync(join(work, 'store-'));
    const builder = make(dir);
    await builder.prepare();
    const times = [await builder.build(), await builder.build()];
    changeOneFile();
    times.push(await builder.build());
    for (const [i, scenario] of scenarios.entries()) {
      const key = `${builder.name}\0${scenario}`;
      results.set(key, [...(results.get(key) ?? []), times[i]]);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

const names = ['berth (API, in process)', 'berth (a new node process)', 'buildah bud --layers'];
console.log(`build benchmark: ${options.runs} runs, medians in ms (context: 200 files, Dockerfile: 2 COPY, 2 RUN, 4 config steps)\n`);
console.log(['scenario'.padEnd(18), ...names.map((n) => n.padStart(28)), '  buildah/berth API', '  buildah/berth process'].join(''));
for (const scenario of scenarios) {
  const values = names.map((name) => median(results.get(`${name}\0${scenario}`)));
  console.log([
    scenario.padEnd(18),
    ...values.map((v) => v.toFixed(0).padStart(28)),
    `${(values[2] / values[0]).toFixed(1)}×`.padStart(19),
    `${(values[2] / values[1]).toFixed(1)}×`.padStart(24),
  ].join(''));
}
process.exit(0);
