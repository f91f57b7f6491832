/**
 * Test parts for images, all real: Debian's docker-registry on 127.0.0.1,
 * images built as OCI layouts by hand (GNU tar for busybox, tar-stream for
 * hand-made entries) and pushed with skopeo, a token service and Bearer proxy
 * served by the test itself.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, copyFileSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { pack, type Header } from 'tar-stream';
import { LayerUnpackError, type Runtime } from '../lib/index.js';
import { runAttached, withDeadline } from './helpers.js';

const run = promisify(execFile);

/** Fails (never skips) when a tool the tests need is missing. */
export function requireTool(path: string, install: string): void {
  if (!existsSync(path)) throw new Error(`${path} is missing: install it with \`apt-get install ${install}\` (.ci/run does)`);
}

/** A temporary directory, removed on dispose. */
export function temporaryDir(prefix = 'berth-image-'): { path: string } & Disposable {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, [Symbol.dispose]: () => rmSync(path, { recursive: true, force: true }) };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Registry extends AsyncDisposable {
  /** `127.0.0.1:PORT` */
  host: string;
  port: number;
  /** The registry's storage directory. */
  storage: string;
  stop(): Promise<void>;
}

async function waitForHttp(url: string, process: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (process.exitCode !== null) throw new Error(`the registry exited with ${process.exitCode}: ${log()}`);
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(url, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.once('error', reject);
        req.end();
      });
      if (status === 200 || status === 401) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the registry did not answer on ${url}: ${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * A registry for the tests of one file: started before them, stopped after
 * them. Its fields are read once it runs (inside tests).
 */
export function registryForThisFile(users?: Record<string, string>): Pick<Registry, 'host' | 'port' | 'storage'> {
  let started: Registry | undefined;
  before(async () => {
    started = await startRegistry(users);
  });
  after(() => started?.stop());
  const field = <K extends 'host' | 'port' | 'storage'>(key: K): Registry[K] => {
    if (!started) throw new Error('the registry runs only inside the tests');
    return started[key];
  };
  return {
    get host() {
      return field('host');
    },
    get port() {
      return field('port');
    },
    get storage() {
      return field('storage');
    },
  };
}

/** Starts Debian's docker-registry on 127.0.0.1 (with htpasswd Basic auth when `users` is given). */
export async function startRegistry(users?: Record<string, string>): Promise<Registry> {
  requireTool('/usr/bin/docker-registry', 'docker-registry');
  const dir = mkdtempSync(join(tmpdir(), 'berth-registry-'));
  const port = await freePort();
  const storage = join(dir, 'storage');
  mkdirSync(storage);
  let auth = '';
  if (users) {
    requireTool('/usr/bin/htpasswd', 'apache2-utils');
    const lines = Object.entries(users).map(([user, password]) => execFileSync('htpasswd', ['-Bbn', user, password], { encoding: 'utf8' }).trim());
    writeFileSync(join(dir, 'htpasswd'), lines.join('\n') + '\n');
    auth = `auth:\n  htpasswd:\n    realm: berth-test\n    path: ${join(dir, 'htpasswd')}\n`;
  }
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${storage}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
${auth}`,
  );
  const child = spawn('/usr/bin/docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await withDeadline(exited, 'the killed registry to exit');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForHttp(`http://127.0.0.1:${port}/v2/`, child, () => stderr);
  } catch (error) {
    await stop();
    throw error;
  }
  return { host: `127.0.0.1:${port}`, port, storage, stop, [Symbol.asyncDispose]: stop };
}

// ---- tars and OCI layouts, made without berth

export interface TarEntry {
  name: string;
  type?: Header['type'];
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
  devmajor?: number;
  devminor?: number;
}

/** A tar of hand-made entries (tar-stream's pack: names are written exactly as given). */
export async function tarOf(entries: TarEntry[]): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (chunk) => chunks.push(chunk as Buffer));
  const ended = new Promise<void>((resolve, reject) => tar.once('end', () => resolve()).once('error', reject));
  for (const entry of entries) {
    const type = entry.type ?? 'file';
    const header = {
      name: entry.name,
      type,
      mode: entry.mode ?? (type === 'directory' ? 0o755 : 0o644),
      mtime: new Date(1_600_000_000_000),
      uid: 0,
      gid: 0,
      ...(entry.linkname !== undefined ? { linkname: entry.linkname } : {}),
      ...(entry.devmajor !== undefined ? { devmajor: entry.devmajor, devminor: entry.devminor ?? 0 } : {}),
    };
    if (type === 'file') tar.entry(header, entry.content ?? '');
    else tar.entry(header);
  }
  tar.finalize();
  await ended;
  return Buffer.concat(chunks);
}

/** The busybox root filesystem as a layer tar made by GNU tar: /bin/busybox, its applets as symlinks, /etc/passwd. */
export function busyboxTar(): Buffer {
  requireTool('/bin/busybox', 'busybox-static');
  const dir = mkdtempSync(join(tmpdir(), 'berth-busybox-'));
  try {
    for (const sub of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev']) mkdirSync(join(dir, sub));
    copyFileSync('/bin/busybox', join(dir, 'bin/busybox'));
    chmodSync(join(dir, 'bin/busybox'), 0o755);
    for (const applet of execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox')) {
      symlinkSync('busybox', join(dir, 'bin', applet));
    }
    writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    return execFileSync('tar', ['--sort=name', '--mtime=@1600000000', '--owner=0', '--group=0', '--numeric-owner', '-C', dir, '-cf', '-', '.'], {
      maxBuffer: 64 * 1024 * 1024,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function digestOf(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export interface ImageSpec {
  /** Uncompressed layer tars, bottom first. */
  layers: Buffer[];
  architecture?: string;
  variant?: string;
  config?: Record<string, unknown>;
  /** Layer compression in the layout (default gzip; zstd by the zstd program). */
  compression?: 'gzip' | 'zstd' | 'none';
}

function writeBlob(layout: string, data: Buffer): { digest: string; size: number } {
  const digest = digestOf(data);
  mkdirSync(join(layout, 'blobs/sha256'), { recursive: true });
  writeFileSync(join(layout, 'blobs/sha256', digest.slice(7)), data);
  return { digest, size: data.length };
}

/** gzip of each layer buffer, made once (busybox is in most test images). */
const gzipped = new WeakMap<Buffer, Buffer>();

/** Writes one image into an OCI layout; returns its manifest descriptor. */
function writeImage(layout: string, spec: ImageSpec) {
  const compression = spec.compression ?? 'gzip';
  const compress = (tar: Buffer) => {
    if (compression === 'gzip') {
      const cached = gzipped.get(tar) ?? gzipSync(tar);
      gzipped.set(tar, cached);
      return cached;
    }
    if (compression === 'none') return tar;
    requireTool('/usr/bin/zstd', 'zstd');
    return execFileSync('zstd', ['-q', '-c'], { input: tar, maxBuffer: 256 * 1024 * 1024 });
  };
  const layers = spec.layers.map((tar) => ({
    mediaType: `application/vnd.oci.image.layer.v1.tar${compression === 'none' ? '' : `+${compression}`}`,
    ...writeBlob(layout, compress(tar)),
  }));
  const config = Buffer.from(
    JSON.stringify({
      created: '2020-09-13T12:26:40Z',
      architecture: spec.architecture ?? 'amd64',
      ...(spec.variant ? { variant: spec.variant } : {}),
      os: 'linux',
      config: { Env: ['PATH=/bin'], Cmd: ['sh'], ...spec.config },
      rootfs: { type: 'layers', diff_ids: spec.layers.map(digestOf) },
      history: spec.layers.map((_, i) => ({ created: '2020-09-13T12:26:40Z', created_by: `test layer ${i}` })),
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...writeBlob(layout, config) },
      layers,
    }),
  );
  return {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    ...writeBlob(layout, manifest),
    platform: { architecture: spec.architecture ?? 'amd64', os: 'linux', ...(spec.variant ? { variant: spec.variant } : {}) },
  };
}

/**
 * An OCI image layout at `layout` with the image under tag `tag`; several
 * specs make a multi-platform index.
 */
export function writeLayout(layout: string, tag: string, ...specs: ImageSpec[]): void {
  mkdirSync(layout, { recursive: true });
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const manifests = specs.map((spec) => writeImage(layout, spec));
  let top: Record<string, unknown>;
  if (manifests.length === 1) {
    const { platform: _platform, ...descriptor } = manifests[0]!;
    top = descriptor;
  } else {
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
    top = { mediaType: 'application/vnd.oci.image.index.v1+json', ...writeBlob(layout, index) };
  }
  const indexPath = join(layout, 'index.json');
  const existing = existsSync(indexPath) ? (JSON.parse(readFileSync(indexPath, 'utf8')) as { manifests: unknown[] }).manifests : [];
  writeFileSync(
    indexPath,
    JSON.stringify({ schemaVersion: 2, manifests: [...existing, { ...top, annotations: { 'org.opencontainers.image.ref.name': tag } }] }),
  );
}

/** `skopeo copy` (plain HTTP to the test registries). */
export async function skopeo(...args: string[]): Promise<string> {
  requireTool('/usr/bin/skopeo', 'skopeo');
  const tls = args[0] === 'copy' ? ['--src-tls-verify=false', '--dest-tls-verify=false'] : args[0] === 'inspect' ? ['--tls-verify=false'] : [];
  try {
    const { stdout } = await run('skopeo', ['--insecure-policy', args[0]!, ...tls, ...args.slice(1)], { maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    throw new Error(`skopeo ${args.join(' ')} failed: ${(error as { stderr?: string }).stderr ?? (error as Error).message}`);
  }
}

/** Builds an image as an OCI layout and pushes it to `registry` as `name` (e.g. `app:1`). */
export async function pushImage(registry: string, name: string, specs: ImageSpec[], copyArgs: string[] = []): Promise<void> {
  using dir = temporaryDir('berth-layout-');
  writeLayout(dir.path, 'image', ...specs);
  await skopeo('copy', ...(specs.length > 1 ? ['--all'] : []), ...copyArgs, `oci:${dir.path}:image`, `docker://${registry}/${name}`);
}

// ---- a token service and a Bearer proxy in front of a registry

export interface BearerProxy extends AsyncDisposable {
  host: string;
  /** GETs of each blob digest that reached the registry. */
  blobGets: Map<string, number>;
  tokenRequests: number;
  /** Makes the next `n` blob GETs fail with 503. */
  fail503(n: number): void;
  /** Cuts the next blob response longer than this many bytes after that many (once). */
  cutNextBlobAfter(bytes: number): void;
  stop(): Promise<void>;
}

/**
 * A proxy in front of `registry` that demands a Bearer token for /v2/, and a
 * token endpoint (`/token`) that hands tokens to `users` (Basic auth), or to
 * anyone when `users` is undefined.
 */
export async function startBearerProxy(registry: string, users?: Record<string, string>): Promise<BearerProxy> {
  const tokens = new Set<string>();
  const blobGets = new Map<string, number>();
  let failures = 0;
  let cutAfter: number | undefined;
  let tokenRequests = 0;
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', `http://${host}`);
    if (url.pathname === '/token') {
      tokenRequests++;
      if (users) {
        const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
        const [user, password] = basic ? Buffer.from(basic, 'base64').toString().split(':') : [];
        if (!user || users[user] !== password) {
          res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ details: 'bad credentials' }));
          return;
        }
      }
      const token = randomBytes(16).toString('hex');
      tokens.add(token);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300, issued_at: new Date().toISOString() }));
      return;
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!bearer || !tokens.has(bearer)) {
      const repository = /^\/v2\/(.+)\/(manifests|blobs|tags)\//.exec(url.pathname)?.[1];
      res.writeHead(401, {
        'www-authenticate': `Bearer realm="http://${host}/token",service="berth-test"${repository ? `,scope="repository:${repository}:pull"` : ''}`,
        'content-type': 'application/json',
      });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED' }] }));
      return;
    }
    const blob = req.method === 'GET' ? /\/blobs\/(sha256:[a-f0-9]{64})$/.exec(url.pathname)?.[1] : undefined;
    if (blob) {
      blobGets.set(blob, (blobGets.get(blob) ?? 0) + 1);
      if (failures > 0) {
        failures--;
        res.writeHead(503).end('try again');
        return;
      }
    }
    const headers = { ...req.headers, host: registry };
    delete headers.authorization;
    const upstream = request({ host: '127.0.0.1', port: Number(registry.split(':')[1]), method: req.method, path: req.url, headers }, (response) => {
      const out = { ...response.headers };
      if (typeof out.location === 'string') out.location = out.location.replace(`http://${registry}`, `http://${host}`);
      res.writeHead(response.statusCode ?? 502, out);
      if (blob && cutAfter !== undefined && response.statusCode === 200 && Number(response.headers['content-length']) > cutAfter) {
        const limit = cutAfter;
        cutAfter = undefined;
        let sent = 0;
        response.on('data', (chunk: Buffer) => {
          if (sent >= limit) return;
          const part = chunk.subarray(0, limit - sent);
          sent += part.length;
          res.write(part);
          if (sent >= limit) {
            response.destroy();
            res.socket?.destroy(); // the connection breaks mid-body
          }
        });
        return;
      }
      response.pipe(res);
    });
    upstream.once('error', () => res.destroy());
    req.pipe(upstream);
  };
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const stop = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return {
    host,
    blobGets,
    get tokenRequests() {
      return tokenRequests;
    },
    fail503: (n) => (failures = n),
    cutNextBlobAfter: (bytes) => (cutAfter = bytes),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** Every file and directory below `dir` (relative paths), for "nothing was left" checks. */
export function treeOf(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      out.push(path);
      if (entry.isDirectory()) walk(path);
    }
  };
  if (existsSync(dir)) walk('');
  return out.sort();
}

/** Runs a container with the image's own Cmd/Entrypoint; returns its stdout. */
export async function runImageDefault(runtime: Runtime, image: string): Promise<string> {
  const { exitCode, stdout } = await runAttached(runtime, { image });
  if (exitCode !== 0) throw new Error(`${image} exited with ${exitCode}`);
  return stdout;
}

/** The store holds no layer, blob, image record or temporary file. */
export function assertStoreEmpty(runtime: Runtime): void {
  for (const dir of ['layers', 'blobs/sha256', 'images']) {
    assert.deepEqual(treeOf(join(runtime.root, dir)), [], `${dir} is empty`);
  }
}

/** Pulling `reference` fails with a LayerUnpackError naming `entry`, and the store keeps nothing. */
export async function assertLayerRefused(runtime: Runtime, reference: string, entry: string, code = 'ERR_UNSAFE_ENTRY'): Promise<void> {
  await assert.rejects(runtime.images.pull(reference), (error: unknown) => {
    assert.ok(error instanceof LayerUnpackError, `expected a LayerUnpackError, got ${String(error)}`);
    assert.equal(error.entry, entry);
    assert.equal(error.code, code);
    assert.ok(error.message.includes(`'${entry}'`), `the message names the entry: ${error.message}`);
    return true;
  });
  assertStoreEmpty(runtime);
}
