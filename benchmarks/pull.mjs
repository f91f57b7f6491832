#!/usr/bin/env node
// berth's pull benchmark: pull + unpack of a ~100 MB image in 6 layers from a
// local registry (Debian's docker-registry on 127.0.0.1), berth against
// `skopeo copy docker://… oci:…` followed by `umoci unpack` (and `podman pull`
// when podman is installed and works here), in the same run, interleaved.
//
//   npm run build && node benchmarks/pull.mjs [--runs N] [--size MB] [--keep-going]
//
// Needs root (unpacking keeps owners and makes device nodes, as every peer does).
// Re-executes itself under `unshare --net --mount` with lo up, so the registry
// and all traffic stay in a network namespace of its own. Everything it makes
// lives in one temp dir, removed at the end. See benchmarks/PULL.md.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { inPrivateMountNamespace } from './mount-namespace.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);

function usage(problem) {
  if (problem) console.error(`pull.mjs: ${problem}`);
  console.error('usage: node benchmarks/pull.mjs [--runs N] [--size MB]');
  process.exit(problem ? 2 : 0);
}

const options = { runs: 5, size: 100 };
for (let i = 2; i < process.argv.length; i++) {
  const flag = process.argv[i];
  const number = () => {
    const n = Number(process.argv[++i]);
    if (!Number.isInteger(n) || n < 1) usage(`${flag} needs a positive integer`);
    return n;
  };
  if (flag === '--runs') options.runs = number();
  else if (flag === '--size') options.size = number();
  else if (flag === '--help' || flag === '-h') usage();
  else usage(`unknown argument ${flag}`);
}

if (process.getuid?.() !== 0) {
  console.error('pull.mjs needs root (berth, umoci and podman unpack as root)');
  process.exit(1);
}
inPrivateMountNamespace('BERTH_BENCH_NAMESPACE', root, { net: true }); // lo up inside; no berth/ cgroup parents left after

for (const [tool, pkg] of [['/usr/bin/docker-registry', 'docker-registry'], ['/usr/bin/skopeo', 'skopeo'], ['/usr/bin/umoci', 'umoci'], ['/bin/busybox', 'busybox-static']]) {
  if (!existsSync(tool)) usage(`${tool} is missing: apt-get install ${pkg}`);
}
if (!existsSync(join(root, 'dist/index.js'))) usage('dist/ is not built: run npm run build first');
const { Runtime } = await import('../dist/index.js');

const work = mkdtempSync(join(tmpdir(), 'berth-bench-pull-'));
const cleanups = [() => rmSync(work, { recursive: true, force: true })];
process.on('exit', () => cleanups.reverse().forEach((fn) => fn()));
process.on('SIGINT', () => process.exit(130));

// ---------------------------------------------------------------- the image

const sha256 = (data) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const WORDS = 'the quick brown fox jumps over lazy dog container image layer registry manifest digest blob config tar gzip overlay'.split(' ');

/** Text that compresses like source code or logs do (~4:1). */
function text(bytes) {
  const out = [];
  let size = 0;
  const seed = randomBytes(bytes / 4);
  for (let i = 0; size < bytes; i++) {
    const line = `${WORDS[seed[i % seed.length] % WORDS.length]} ${seed.readUInt16LE(i % (seed.length - 2))} ${WORDS[seed[(i * 7) % seed.length] % WORDS.length]}\n`;
    out.push(line);
    size += line.length;
  }
  return Buffer.from(out.join('')).subarray(0, bytes);
}

/**
 * A layer directory of about `mb` MB: busybox copies (binary, ~2:1), random
 * bytes (incompressible, like already-compressed assets) and text, in files
 * of many sizes, some in nested directories.
 */
function fillLayer(dir, index, mb) {
  const busybox = readFileSync('/bin/busybox');
  let budget = mb * 1024 * 1024;
  for (let file = 0; budget > 0; file++) {
    const sub = join(dir, `opt/layer${index}/d${file % 16}`);
    mkdirSync(sub, { recursive: true });
    const kind = file % 5;
    const data = kind === 0 ? busybox : kind === 1 ? randomBytes(256 * 1024 + (file % 7) * 65536) : text(4096 + ((file * 7919) % 200_000));
    writeFileSync(join(sub, `f${file}`), data.subarray(0, Math.min(data.length, budget)));
    budget -= data.length;
  }
}

function tarDir(dir) {
  return execFileSync('tar', ['--sort=name', '--mtime=@1600000000', '--owner=0', '--group=0', '--numeric-owner', '-C', dir, '-cf', '-', '.'], {
    maxBuffer: 1024 * 1024 * 1024,
  });
}

function buildLayout(layout, layerCount, totalMb) {
  const rootfs = join(work, 'rootfs');
  const tars = [];
  // layer 1: a busybox root filesystem
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  for (const d of ['etc', 'tmp', 'proc', 'sys', 'dev']) mkdirSync(join(rootfs, d));
  copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
  chmodSync(join(rootfs, 'bin/busybox'), 0o755);
  for (const applet of execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox')) {
    symlinkSync('busybox', join(rootfs, 'bin', applet));
  }
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  tars.push(tarDir(rootfs));
  for (let i = 1; i < layerCount; i++) {
    const dir = join(work, `layer${i}`);
    mkdirSync(dir);
    fillLayer(dir, i, totalMb / (layerCount - 1));
    tars.push(tarDir(dir));
    rmSync(dir, { recursive: true });
  }
  rmSync(rootfs, { recursive: true });
  mkdirSync(join(layout, 'blobs/sha256'), { recursive: true });
  const blob = (data) => {
    writeFileSync(join(layout, 'blobs/sha256', sha256(data).slice(7)), data);
    return { digest: sha256(data), size: data.length };
  };
  const layers = tars.map((tar) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...blob(gzipSync(tar)) }));
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: tars.map(sha256) },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...blob(config) },
      layers,
    }),
  );
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...blob(manifest), annotations: { 'org.opencontainers.image.ref.name': 'bench' } }],
    }),
  );
  return {
    uncompressed: tars.reduce((sum, tar) => sum + tar.length, 0),
    compressed: layers.reduce((sum, layer) => sum + layer.size, 0),
    layers: layers.length,
  };
}

// ---------------------------------------------------------------- the registry

async function freePort() {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function startRegistry() {
  const port = await freePort();
  const dir = join(work, 'registry');
  mkdirSync(join(dir, 'storage'), { recursive: true });
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/storage\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const child = spawn('/usr/bin/docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  cleanups.push(() => child.kill('SIGKILL'));
  for (let i = 0; i < 400; i++) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/v2/`);
      if (response.ok) return `127.0.0.1:${port}`;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('the registry did not start');
}

// ---------------------------------------------------------------- the contenders

function run(command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')}: exit ${code}: ${stderr}`))));
  });
}

const time = async (fn) => {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
};

function podmanWorks() {
  if (spawnSync('sh', ['-c', 'command -v podman'], { stdio: 'ignore' }).status !== 0) return 'not installed';
  const probe = spawnSync('podman', ['--root', join(work, 'podman-probe'), '--runroot', join(work, 'podman-probe-run'), 'info'], { encoding: 'utf8' });
  rmSync(join(work, 'podman-probe'), { recursive: true, force: true });
  return probe.status === 0 ? undefined : `podman info failed: ${(probe.stderr || '').trim().split('\n').pop()}`;
}

async function main() {
  console.log(`building a ~${options.size} MB image in 6 layers…`);
  const layout = join(work, 'layout');
  const image = buildLayout(layout, 6, options.size);
  console.log(`image: ${image.layers} layers, ${(image.uncompressed / 1e6).toFixed(1)} MB uncompressed, ${(image.compressed / 1e6).toFixed(1)} MB gzip`);
  const registry = await startRegistry();
  execFileSync('skopeo', ['--insecure-policy', 'copy', '--dest-tls-verify=false', `oci:${layout}:bench`, `docker://${registry}/bench:1`], { stdio: 'ignore' });
  const reference = `${registry}/bench:1`;

  const rows = [
    {
      name: 'berth pull (in this process)',
      async once(dir) {
        const runtime = await Runtime.open({ root: dir });
        return time(() => runtime.images.pull(reference));
      },
    },
    {
      name: 'berth pull (a new node process)',
      once: (dir) =>
        time(() =>
          run(process.execPath, ['--input-type=module', '-e', `const { Runtime } = await import(${JSON.stringify(join(root, 'dist/index.js'))}); const r = await Runtime.open({ root: ${JSON.stringify(dir)} }); await r.images.pull(${JSON.stringify(reference)});`]),
        ),
    },
    {
      name: 'skopeo copy + umoci unpack',
      parts: ['skopeo copy', 'umoci unpack'],
      async once(dir, parts) {
        const copy = await time(() => run('skopeo', ['--insecure-policy', 'copy', '--src-tls-verify=false', `docker://${reference}`, `oci:${dir}/oci:bench`]));
        const unpack = await time(() => run('umoci', ['unpack', '--image', `${dir}/oci:bench`, `${dir}/bundle`]));
        parts.push([copy, unpack]);
        return copy + unpack;
      },
    },
  ];
  const podman = podmanWorks();
  if (podman === undefined) {
    rows.push({
      name: 'podman pull',
      once: (dir) => time(() => run('podman', ['--root', `${dir}/storage`, '--runroot', `${dir}/run`, 'pull', '--tls-verify=false', '-q', `docker://${reference}`])),
    });
  }

  const results = new Map(rows.map((row) => [row.name, { times: [], parts: [] }]));
  for (let round = -1; round < options.runs; round++) {
    // round -1 warms up; the order rotates, so background noise lands on every row alike
    for (let k = 0; k < rows.length; k++) {
      const row = rows[(k + Math.max(round, 0)) % rows.length];
      const dir = mkdtempSync(join(work, 'run-'));
      const parts = [];
      try {
        spawnSync('sync');
        const ms = await row.once(dir, parts);
        if (round >= 0) {
          results.get(row.name).times.push(ms);
          results.get(row.name).parts.push(...parts);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    if (round >= 0) process.stdout.write(`round ${round + 1}/${options.runs} done\n`);
  }

  const median = (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  };
  const berth = median(results.get('berth pull (in this process)').times);
  console.log(`\n${options.runs} runs each, milliseconds (median, min, max); image ${(image.compressed / 1e6).toFixed(1)} MB gzip → ${(image.uncompressed / 1e6).toFixed(1)} MB\n`);
  console.log('row'.padEnd(34) + 'median'.padStart(9) + 'min'.padStart(9) + 'max'.padStart(9) + '   vs berth');
  for (const row of rows) {
    const { times, parts } = results.get(row.name);
    const m = median(times);
    console.log(
      row.name.padEnd(34) +
        m.toFixed(0).padStart(9) +
        Math.min(...times).toFixed(0).padStart(9) +
        Math.max(...times).toFixed(0).padStart(9) +
        `   ${(m / berth).toFixed(2)}×`,
    );
    if (row.parts) {
      row.parts.forEach((part, i) => console.log(`  ${part}`.padEnd(34) + median(parts.map((p) => p[i])).toFixed(0).padStart(9)));
    }
  }
  if (podman !== undefined) console.log(`podman pull: not measured (${podman})`);
  const peer = median(results.get('skopeo copy + umoci unpack').times);
  console.log(`\nberth ≥ 1.5× faster than skopeo+umoci: ${peer / berth >= 1.5 ? 'yes' : 'no'} (${(peer / berth).toFixed(2)}×)`);
}

await main();
process.exit(0); // the registry child would hold the event loop; the exit handler stops it and removes the temp dir
