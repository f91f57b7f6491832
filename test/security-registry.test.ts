/**
 * A registry that misbehaves, served by the test on 127.0.0.1 (the real HTTP
 * client against a real hostile server): redirects that try to carry the
 * token elsewhere or leave http(s), blobs longer or other than their
 * descriptors, oversized manifests and configs, a gzip bomb, content that
 * does not match its media type. Every failure is typed and leaves the
 * store as it was.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { BerthError, type PullOptions, type Runtime } from '../lib/index.js';
import { temporaryRuntime, withDeadline } from './helpers.js';
import { busyboxTar, freePort, requireTool, tarOf, treeOf } from './image-helpers.js';

const REPO = 'evil/app';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const busybox = busyboxTar();
const busyboxGz = gzipSync(busybox);

const digestOf = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

interface Layer {
  /** The blob as served. */
  blob: Buffer;
  /** The uncompressed tar (its digest is the diff_id). */
  tar: Buffer;
  mediaType?: string;
}

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean;

/** A registry for one repository, with hooks that turn it hostile. */
class HostileRegistry implements AsyncDisposable {
  readonly blobs = new Map<string, Buffer>();
  readonly manifests = new Map<string, { bytes: Buffer; mediaType: string }>();
  /** Requests seen: `METHOD path` with their Authorization header. */
  readonly seen: { path: string; authorization: string | undefined }[] = [];
  /** Runs first; returns true when it answered. */
  hook: Handler | undefined;
  /** When set, /v2/ needs `Bearer <token>` from `realm` (default: this server's /token). */
  bearer: { token: string; realm?: string } | undefined;
  host = '';
  private server: Server | undefined;

  /** `tls`: serve HTTPS with this key and certificate; `name`: the host name it is reached by. */
  constructor(private readonly tls?: { key: string; cert: string; name: string }) {}

  async start(): Promise<this> {
    const port = await freePort();
    this.host = `${this.tls?.name ?? '127.0.0.1'}:${port}`;
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    this.server = this.tls ? createTlsServer({ key: this.tls.key, cert: this.tls.cert }, handler) : createServer(handler);
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    return this;
  }

  /** Stores an image under `tag`: the config from the layers' diff_ids (plus `config`), the manifest (plus `manifest` fields). */
  image(tag: string, layers: Layer[], extra: { manifest?: Record<string, unknown> } = {}): { manifest: Buffer; config: Buffer; configDigest: string } {
    const config = Buffer.from(
      JSON.stringify({ architecture: process.arch === 'arm64' ? 'arm64' : 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: layers.map((l) => digestOf(l.tar)) } }),
    );
    this.blobs.set(digestOf(config), config);
    for (const layer of layers) this.blobs.set(digestOf(layer.blob), layer.blob);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MANIFEST,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length },
        layers: layers.map((l) => ({ mediaType: l.mediaType ?? 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digestOf(l.blob), size: l.blob.length })),
        ...extra.manifest,
      }),
    );
    this.manifests.set(tag, { bytes: manifest, mediaType: MANIFEST });
    this.manifests.set(digestOf(manifest), { bytes: manifest, mediaType: MANIFEST });
    return { manifest, config, configDigest: digestOf(config) };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', `http://${this.host}`);
    this.seen.push({ path: `${req.method} ${url.pathname}`, authorization: req.headers.authorization });
    if (url.pathname === '/token') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: this.bearer?.token ?? 'none', expires_in: 300 }));
      return;
    }
    if (this.bearer && req.headers.authorization !== `Bearer ${this.bearer.token}`) {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${this.bearer.realm ?? `http://${this.host}/token`}",service="evil"` }).end();
      return;
    }
    if (this.hook?.(req, res, url)) return;
    if (url.pathname === '/v2/') {
      res.writeHead(200).end('{}');
      return;
    }
    const manifest = new RegExp(`^/v2/${REPO}/manifests/(.+)$`).exec(url.pathname)?.[1];
    const found = manifest ? this.manifests.get(decodeURIComponent(manifest)) : undefined;
    if (found) {
      res.writeHead(200, { 'content-type': found.mediaType, 'content-length': found.bytes.length, 'docker-content-digest': digestOf(found.bytes) });
      res.end(req.method === 'HEAD' ? undefined : found.bytes);
      return;
    }
    const blob = new RegExp(`^/v2/${REPO}/blobs/(sha256:[a-f0-9]{64})$`).exec(url.pathname)?.[1];
    const data = blob ? this.blobs.get(blob) : undefined;
    if (data) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': data.length }).end(data);
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'NOT_FOUND' }] }));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

async function hostileRegistry(tls?: { key: string; cert: string; name: string }): Promise<HostileRegistry> {
  return new HostileRegistry(tls).start();
}

const PULL: PullOptions = { dockerConfig: false, retries: 0, timeout: 15_000 };

/** Everything under the runtime root but the lock files (empty files flock needs, not content). */
function storeFiles(runtime: Runtime): string[] {
  return treeOf(runtime.root).filter((path) => !['locks/collector', 'locks/records'].includes(path)) // the store's long-lived locks; a layer's goes with it;
}

/** Pulls, expecting a typed berth error with `code`; the store is as it was before. */
async function assertPullFails(runtime: Runtime, reference: string, code: string, message: RegExp, options: PullOptions = {}): Promise<BerthError> {
  const before = storeFiles(runtime);
  let caught: BerthError | undefined;
  await assert.rejects(runtime.images.pull(reference, { ...PULL, ...options }), (error: unknown) => {
    assert.ok(error instanceof BerthError, `expected a berth error, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.match(error.message, message);
    caught = error;
    return true;
  });
  assert.deepEqual(storeFiles(runtime), before, 'the store gained nothing');
  assert.equal((await runtime.images.list()).length, 0);
  return caught!;
}

const plainLayer = (): Layer => ({ blob: busyboxGz, tar: busybox });

test('a blob redirect to another origin gets no registry token; a redirect target that asks for credentials is refused', async () => {
  await using registry = await hostileRegistry();
  await using storage = await hostileRegistry();
  await using runtime = await temporaryRuntime();
  registry.bearer = { token: randomBytes(8).toString('hex') };
  registry.image('1', [plainLayer()]);
  for (const [digest, data] of registry.blobs) storage.blobs.set(digest, data);
  // storage serves blobs under any path: the registry redirects each blob there
  storage.hook = (_req, res, url) => {
    const digest = /(sha256:[a-f0-9]{64})$/.exec(url.pathname)?.[1];
    const data = digest ? storage.blobs.get(digest) : undefined;
    if (!data) return false;
    res.writeHead(200, { 'content-length': data.length }).end(data);
    return true;
  };
  registry.hook = (_req, res, url) => {
    const digest = /\/blobs\/(sha256:[a-f0-9]{64})$/.exec(url.pathname)?.[1];
    if (!digest) return false;
    res.writeHead(307, { location: `http://${storage.host}/signed/${digest}?sig=abc` }).end();
    return true;
  };
  const image = await runtime.images.pull(`${registry.host}/${REPO}:1`, PULL);
  assert.equal(image.layerPaths.length, 1);
  assert.ok(registry.seen.some((r) => r.authorization === `Bearer ${registry.bearer!.token}`), 'the registry got its token');
  assert.ok(storage.seen.length >= 2, 'the blobs came from storage');
  assert.deepEqual(storage.seen.filter((r) => r.authorization !== undefined), [], 'storage never saw an Authorization header');
  await image.remove();

  // the storage answers 401 with its own token service: no credentials go there, the pull fails
  await using thief = await hostileRegistry();
  storage.hook = (_req, res) => {
    res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${thief.host}/token",service="steal"` }).end();
    return true;
  };
  await runtime.images.prune({ dangling: false });
  await assertPullFails(runtime, `${registry.host}/${REPO}:1`, 'ERR_REDIRECT_REFUSED', /refused it \(HTTP 401\)/, {
    credentials: { username: 'alice', password: 'secret' },
  });
  assert.deepEqual(thief.seen, [], 'the thief saw no request');
  assert.deepEqual(storage.seen.filter((r) => r.authorization !== undefined), []);
});

test('redirects out of http(s) and token services that are not http(s) are refused', async () => {
  await using registry = await hostileRegistry();
  await using runtime = await temporaryRuntime();
  registry.image('1', [plainLayer()]);
  for (const target of ['file:///etc/passwd', 'ftp://127.0.0.1/blob', 'data:text/plain,hello']) {
    registry.hook = (_req, res, url) => {
      if (!url.pathname.includes('/blobs/')) return false;
      res.writeHead(302, { location: target }).end();
      return true;
    };
    await assertPullFails(runtime, `${registry.host}/${REPO}:1`, 'ERR_REDIRECT_REFUSED', /only http and https redirects/);
  }
  registry.hook = undefined;
  registry.bearer = { token: 't', realm: 'file:///etc/shadow' };
  await assertPullFails(runtime, `${registry.host}/${REPO}:1`, 'ERR_REGISTRY_AUTH', /only http\(s\) token services/);
});

test('a blob longer than its descriptor is an error, not cut short and accepted', async () => {
  await using registry = await hostileRegistry();
  await using runtime = await temporaryRuntime();
  registry.image('1', [plainLayer()]);
  const layerDigest = digestOf(busyboxGz);
  // chunked (no Content-Length): the descriptor's bytes, exactly right, then more
  registry.hook = (_req, res, url) => {
    if (!url.pathname.endsWith(layerDigest)) return false;
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.write(busyboxGz);
    res.end(randomBytes(64 * 1024));
    return true;
  };
  await assertPullFails(runtime, `${registry.host}/${REPO}:1`, 'ERR_SIZE_MISMATCH', /goes on past the \d+ bytes/);
  // a Content-Length that disagrees with the descriptor: refused before the body is read
  registry.hook = (_req, res, url) => {
    if (!url.pathname.endsWith(layerDigest)) return false;
    res.writeHead(200, { 'content-length': busyboxGz.length + 10 }).end(Buffer.concat([busyboxGz, Buffer.alloc(10)]));
    return true;
  };
  await assertPullFails(runtime, `${registry.host}/${REPO}:1`, 'ERR_SIZE_MISMATCH', new RegExp(`served as ${busyboxGz.length + 10} bytes`));
  // same size, other bytes: the digest says so
  const other = Buffer.from(busyboxGz);
  other.writeUInt8(other.readUInt8(other.length >> 1) ^ 0xff, other.length >> 1);
  registry.hook = (_req, res, url) => {
    if (!url.pathname.endsWith(layerDigest)) return false;
    res.writeHead(200, { 'content-length': other.length }).end(other);
    return true;
  };
  await assertPullFails(runtime, `${registry.host}/${REPO}:1`, 'ERR_DIGEST_MISMATCH', new RegExp(`not ${layerDigest}`));
});

test('a config other than its digest says is refused before any layer is kept', async () => {
  await using registry = await hostileRegistry();
  await using runtime = await temporaryRuntime();
  const { configDigest, config } = registry.image('1', [plainLayer()]);
  const swapped = Buffer.from(config.toString().replace('"sh"', '"id"'));
  assert.equal(swapped.length, config.length);
  registry.blobs.set(configDigest, swapped);
  await assertPullFails(runtime, `${registry.host}/${REPO}:1`, 'ERR_DIGEST_MISMATCH', new RegExp(`not ${configDigest}`));
  assert.ok(!registry.seen.some((r) => r.path.endsWith(digestOf(busyboxGz))), 'no layer was fetched');
});

test('manifests over 4 MiB and configs over 8 MiB are refused without reading them whole', async () => {
  await using registry = await hostileRegistry();
  await using runtime = await temporaryRuntime();
  const { manifest } = registry.image('1', [plainLayer()]);
  const padded = Buffer.from(JSON.stringify({ ...JSON.parse(manifest.toString()), annotations: { pad: 'x'.repeat(5 * 1024 * 1024) } }));
  registry.manifests.set('big', { bytes: padded, mediaType: MANIFEST });
  await assertPullFails(runtime, `${registry.host}/${REPO}:big`, 'ERR_TOO_LARGE', /manifest evil\/app:big .* is larger than 4194304 bytes/);
  // the same without a Content-Length (chunked): cut off at the limit
  registry.hook = (_req, res, url) => {
    if (!url.pathname.endsWith('/manifests/chunked')) return false;
    res.writeHead(200, { 'content-type': MANIFEST });
    res.end(padded);
    return true;
  };
  await assertPullFails(runtime, `${registry.host}/${REPO}:chunked`, 'ERR_TOO_LARGE', /larger than 4194304 bytes/);
  // a config descriptor of 100 MiB: refused before it is fetched
  registry.hook = undefined;
  const parsed = JSON.parse(manifest.toString()) as { config: { size: number; digest: string } };
  parsed.config.size = 100 * 1024 * 1024;
  registry.manifests.set('bigconfig', { bytes: Buffer.from(JSON.stringify(parsed)), mediaType: MANIFEST });
  const before = registry.seen.length;
  await assertPullFails(runtime, `${registry.host}/${REPO}:bigconfig`, 'ERR_TOO_LARGE', /104857600 bytes, more than the 8388608 accepted for a config/);
  assert.ok(!registry.seen.slice(before).some((r) => r.path.endsWith(parsed.config.digest)), 'the config was not fetched');
});

test('a gzip bomb stops at the decompression limit; nothing of it is kept', async () => {
  await using registry = await hostileRegistry();
  await using runtime = await temporaryRuntime();
  const bomb = await tarOf([{ name: 'zeros', content: Buffer.alloc(64 * 1024 * 1024) }]);
  const blob = gzipSync(bomb, { level: 9 });
  assert.ok(blob.length < bomb.length / 500, 'a real bomb: it expands hundreds of times');
  registry.image('1', [plainLayer(), { blob, tar: bomb }]);
  const error = await assertPullFails(runtime, `${registry.host}/${REPO}:1`, 'ERR_LAYER_TOO_LARGE', /larger than 16777216 bytes .*decompression bomb.*maxLayerSize/, {
    maxLayerSize: 16 * 1024 * 1024,
  });
  assert.match(error.message, new RegExp(`layer 2/2 \\(${digestOf(blob)}\\)`));
  assert.ok(!treeOf(runtime.root).some((path) => path.endsWith('/zeros')), 'no part of the file is left');
  // the same image under a limit it fits: pulled
  const image = await runtime.images.pull(`${registry.host}/${REPO}:1`, { ...PULL, maxLayerSize: 128 * 1024 * 1024 });
  assert.equal(image.layerPaths.length, 2);
  await assert.rejects(runtime.images.pull(`${registry.host}/${REPO}:1`, { ...PULL, maxLayerSize: -1 }), { name: 'TypeError', message: /maxLayerSize/ });
});

test('content that does not match its media type is refused', async () => {
  requireTool('/usr/bin/zstd', 'zstd');
  await using registry = await hostileRegistry();
  await using runtime = await temporaryRuntime();
  const zstd = execFileSync('zstd', ['-q', '-c'], { input: busybox, maxBuffer: 64 * 1024 * 1024 });
  registry.image('zstd-as-gzip', [{ blob: zstd, tar: busybox, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }]);
  await assertPullFails(runtime, `${registry.host}/${REPO}:zstd-as-gzip`, 'ERR_MEDIA_TYPE_MISMATCH', /says gzip data, but the blob is zstd data/);
  registry.image('gzip-as-tar', [{ blob: busyboxGz, tar: busybox, mediaType: 'application/vnd.oci.image.layer.v1.tar' }]);
  await assertPullFails(runtime, `${registry.host}/${REPO}:gzip-as-tar`, 'ERR_MEDIA_TYPE_MISMATCH', /says an uncompressed tar, but the blob is gzip data/);
  registry.image('tar-as-docker-gzip', [{ blob: busybox, tar: busybox, mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' }]);
  await assertPullFails(runtime, `${registry.host}/${REPO}:tar-as-docker-gzip`, 'ERR_MEDIA_TYPE_MISMATCH', /says gzip data, but the blob is an uncompressed tar/);
  // labelled right, each is fine
  registry.image('zstd', [{ blob: zstd, tar: busybox, mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' }]);
  assert.equal((await runtime.images.pull(`${registry.host}/${REPO}:zstd`, PULL)).layerPaths.length, 1);
});

// A self-signed certificate for berth-tls.test (made once with openssl; valid until 2126).
const TLS = {
  name: 'berth-tls.test',
  key: `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgAmlKfGpVrmGIM9RJ
4lwHR4cxQ5VH3zvophBOTg9Cdc+hRANCAAQoYjzSp9+2xhTvZ2K/JBkZc+KTWcH8
AF0nEp44SG2DLK2JSI5sBKuyPKsQ6cye5R7oTGHkdnvvvsGFAPFCDhje
-----END PRIVATE KEY-----
`,
  cert: `-----BEGIN CERTIFICATE-----
MIIBpTCCAUqgAwIBAgIUbLuQ9iYL3NOs4MIUhfZZaRFOqYcwCgYIKoZIzj0EAwIw
GTEXMBUGA1UEAwwOYmVydGgtdGxzLnRlc3QwIBcNMjYxMTI3MTA0MjUxWhgPMjEy
NjExMDMxMDQyNTFaMBkxFzAVBgNVBAMMDmJlcnRoLXRscy50ZXN0MFkwEwYHKoZI
zj0CAQYIKoZIzj0DAQcDQgAEKGI80qfftsYU72divyQZGXPik1nB/ABdJxKeOEht
gyytiUiObASrsjyrEOnMnuUe6Exh5HZ7777BhQDxQg4Y3qNuMGwwHQYDVR0OBBYE
FIv31enppW5yiBGCQD0t6s1lbWfzMB8GA1UdIwQYMBaAFIv31enppW5yiBGCQD0t
6s1lbWfzMA8GA1UdEwEB/wQFMAMBAf8wGQYDVR0RBBIwEIIOYmVydGgtdGxzLnRl
c3QwCgYIKoZIzj0EAwIDSQAwRgIhAJUrIDaM0t9fFmbHPV1tytAbi46Q1jgByH0O
nL9187ZBAiEAl8HdOyo86inZkPwr8Pnvk98ZzV6lwyfwmQ90nAVoTSE=
-----END CERTIFICATE-----
`,
};

/**
 * Runs `fn` with `name` resolving to 127.0.0.1 (a hosts file bind-mounted over
 * /etc/hosts, in the test runner's private mount namespace) and TLS
 * verification off for this process (the certificate is self-signed).
 */
async function withTlsName<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-hosts-'));
  const hosts = join(dir, 'hosts');
  writeFileSync(hosts, `${readFileSync('/etc/hosts', 'utf8')}\n127.0.0.1 ${name}\n`);
  execFileSync('mount', ['--bind', hosts, '/etc/hosts']);
  const verify = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  try {
    return await fn();
  } finally {
    if (verify === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    else process.env.NODE_TLS_REJECT_UNAUTHORIZED = verify;
    execFileSync('umount', ['/etc/hosts']);
    rmSync(dir, { recursive: true, force: true });
  }
}

test('an https registry cannot downgrade: no redirect to plain http, no plain-http token service', async () => {
  await using registry = await hostileRegistry(TLS);
  await using plain = await hostileRegistry();
  await using runtime = await temporaryRuntime();
  registry.image('1', [plainLayer()]);
  await withTlsName(TLS.name, async () => {
    // the https registry itself works
    const image = await runtime.images.pull(`${registry.host}/${REPO}:1`, PULL);
    await image.remove();
    await runtime.images.prune({ dangling: false });
    registry.hook = (_req, res, url) => {
      const digest = /\/blobs\/(sha256:[a-f0-9]{64})$/.exec(url.pathname)?.[1];
      if (!digest) return false;
      res.writeHead(307, { location: `http://${plain.host}/blobs/${digest}` }).end();
      return true;
    };
    await assertPullFails(runtime, `${registry.host}/${REPO}:1`, 'ERR_REDIRECT_REFUSED', /from https to plain http/);
    registry.hook = undefined;
    registry.bearer = { token: 't', realm: `http://${plain.host}/token` };
    await assertPullFails(runtime, `${registry.host}/${REPO}:1`, 'ERR_REGISTRY_AUTH', /plain-http token service .*refusing to send credentials/, {
      credentials: { username: 'alice', password: 'secret' },
    });
  });
  assert.deepEqual(plain.seen, [], 'nothing went over plain http');
});

test('a registry that closes or resets its connection mid-response never takes the process down: typed errors, or a resumed blob', async () => {
  const { httpRequest } = await import('../lib/image/http.js');
  let uncaught = 0;
  const count = () => uncaught++;
  process.on('uncaughtException', count);
  const server = createNetServer();
  try {
    // `Connection: close` and the FIN (or a reset) right behind 64 KiB of body that waits for its reader:
    // undici 7's parser asserts there (nodejs/undici#5360), from a socket listener nothing can catch
    const body = Buffer.alloc(64 * 1024, 0x61);
    let reset = false;
    server.on('connection', (socket) => {
      socket.on('error', () => {});
      socket.once('data', () => {
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
        socket.write(body);
        if (reset) setTimeout(() => socket.resetAndDestroy(), 5);
        else socket.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/`);
    for (const how of ['end', 'reset']) {
      reset = how === 'reset';
      for (let i = 0; i < 5; i++) {
        const response = await httpRequest(url, { method: 'GET', headersTimeout: 5_000, bodyTimeout: 5_000 });
        await new Promise((resolve) => setTimeout(resolve, 30)); // the reader is busy elsewhere
        let read = 0;
        try {
          await withDeadline((async () => {
            for await (const chunk of response.body) read += (chunk as Buffer).length;
          })(), `the ${how} body`, 10_000);
          assert.equal(read, body.length, `${how}: a body that completes is whole`);
        } catch (error) {
          assert.equal((error as { code?: string }).code, 'UND_ERR_SOCKET', `${how}: a broken connection: ${String(error)}`);
        }
      }
    }
    assert.equal(uncaught, 0, 'no uncaught exception');
  } finally {
    process.off('uncaughtException', count);
    server.close();
  }

  // through a pull: a manifest and a blob cut short by a reset are typed errors; with retries the blob resumes
  await using registry = await hostileRegistry();
  await using runtime = await temporaryRuntime();
  const { manifest } = registry.image('1', [plainLayer()]);
  const layerDigest = digestOf(busyboxGz);
  let cuts = 0;
  const cut = (res: ServerResponse, data: Buffer) => {
    res.writeHead(200, { 'content-type': MANIFEST, 'content-length': data.length });
    res.write(data.subarray(0, data.length >> 1), () => setTimeout(() => res.socket?.resetAndDestroy(), 5));
  };
  registry.hook = (_req, res, url) => {
    if (url.pathname.endsWith('/manifests/1')) cut(res, manifest);
    else return false;
    return true;
  };
  // a reset is seen as ECONNRESET, or as the other side closing (UND_ERR_SOCKET), as the kernel delivers it
  const assertBroken = (message: RegExp) =>
    assert.rejects(runtime.images.pull(`${registry.host}/${REPO}:1`, PULL), (error: unknown) => {
      assert.ok(error instanceof BerthError, `a berth error: ${String(error)}`);
      assert.ok(['ECONNRESET', 'UND_ERR_SOCKET'].includes(error.code ?? ''), error.message);
      assert.match(error.message, message);
      return true;
    });
  await assertBroken(/cannot GET .*\/manifests\/1/);
  registry.hook = (req, res, url) => {
    if (!url.pathname.endsWith(layerDigest) || (cuts > 0 && req.headers.range)) return false;
    cuts++;
    cut(res, busyboxGz);
    return true;
  };
  await assertBroken(new RegExp(`cannot GET .*${layerDigest}`));
  assert.equal((await runtime.images.list()).length, 0);
  cuts = 0;
  const image = await runtime.images.pull(`${registry.host}/${REPO}:1`, { ...PULL, retries: 2 });
  assert.equal(image.layerPaths.length, 1);
  assert.ok(registry.seen.some((r) => r.path.endsWith(layerDigest)) && cuts === 1, 'the blob was cut once, then resumed');
});

test('error answers and token answers without end, or cut off, are typed errors read only in part, never buffered whole', async () => {
  await using registry = await hostileRegistry();
  await using tokens = await hostileRegistry();
  await using runtime = await temporaryRuntime();
  registry.image('1', [plainLayer()]);
  /** A body that never ends (16 KiB a millisecond, until the client goes away), or one cut off by a reset. */
  const endless = (res: ServerResponse, status: number) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    const more = () => {
      if (res.destroyed) return;
      res.write(Buffer.alloc(16 * 1024, 0x20), () => setTimeout(more, 1));
    };
    more();
  };
  const cutOff = (res: ServerResponse, status: number) => {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': 1000 });
    res.write('{"token":', () => setTimeout(() => res.socket?.resetAndDestroy(), 5));
  };
  const pull = (options: PullOptions = {}) => withDeadline(runtime.images.pull(`${registry.host}/${REPO}:1`, { ...PULL, ...options }), 'the pull', 20_000);
  for (const answer of [endless, cutOff]) {
    // the registry's 500 about a manifest
    registry.hook = (_req, res, url) => {
      if (!url.pathname.endsWith('/manifests/1')) return false;
      answer(res, 500);
      return true;
    };
    await assert.rejects(pull(), (error: unknown) => {
      assert.ok(error instanceof BerthError, `a berth error: ${String(error)}`);
      assert.match(error.message, /HTTP 500/);
      return true;
    });
  }
  // the token service's answer (the registry's challenge is remembered from here on)
  registry.hook = undefined;
  registry.bearer = { token: 'secret-token', realm: `http://${tokens.host}/auth` };
  for (const answer of [endless, cutOff]) {
    tokens.hook = (_req, res) => {
      answer(res, 200);
      return true;
    };
    await assert.rejects(pull(), (error: unknown) => {
      assert.ok(error instanceof BerthError, `a berth error: ${String(error)}`);
      assert.equal(error.code, 'ERR_REGISTRY_AUTH', error.message);
      assert.match(error.message, /token service/);
      return true;
    });
  }
  assert.equal((await runtime.images.list()).length, 0);
});

test('layers whose gzip breaks after some entries, or whose tar ends mid-entry (digests matching), are typed errors', async () => {
  await using registry = await hostileRegistry();
  await using runtime = await temporaryRuntime();
  const tar = await tarOf([{ name: 'a', content: randomBytes(100_000) }, { name: 'b', content: randomBytes(300_000) }, { name: 'c', content: 'x' }]);
  const gz = gzipSync(tar);
  const brokenGzip = Buffer.concat([gz.subarray(0, gz.length >> 1), randomBytes(4096)]);
  const midEntry = tar.subarray(0, 512 + 100_352 + 512 + 1000); // a, then b's header and part of its data
  const cases: [string, Layer, RegExp][] = [
    ['gzip that breaks', { blob: brokenGzip, tar }, /not valid gzip/],
    ['gzip of a tar that ends mid-entry', { blob: gzipSync(midEntry), tar: midEntry }, /entry 'b': Unexpected end of data|not a valid tar/],
    ['a tar that ends mid-entry', { blob: midEntry, tar: midEntry, mediaType: 'application/vnd.oci.image.layer.v1.tar' }, /entry 'b': Unexpected end of data|not a valid tar/],
  ];
  for (const [what, layer, message] of cases) {
    registry.image(what.replaceAll(' ', '-'), [layer]);
    await assertPullFails(runtime, `${registry.host}/${REPO}:${what.replaceAll(' ', '-')}`, 'ERR_LAYER_INVALID', message);
  }
});

test('a push to a registry that opens its uploads at a Location that is not a URL, or not http(s), is a typed error', async () => {
  await using registry = await hostileRegistry();
  await using runtime = await temporaryRuntime();
  const image = await runtime.images.get('localhost/busybox');
  for (const [location, code, message] of [
    ['http://[not a url', 'ERR_REGISTRY', /Location that is not a URL/],
    ['file:///etc/passwd', 'ERR_REDIRECT_REFUSED', /file: URL; only http and https/],
  ] as const) {
    registry.hook = (req, res, url) => {
      if (req.method !== 'POST' || !url.pathname.endsWith('/blobs/uploads/')) return false;
      res.writeHead(202, { location, 'content-length': 0 }).end();
      return true;
    };
    await assert.rejects(withDeadline(image.push(`${registry.host}/${REPO}:pushed`, { dockerConfig: false, retries: 0 }), 'the push'), (error: unknown) => {
      assert.ok(error instanceof BerthError, `a berth error: ${String(error)}`);
      assert.equal(error.code, code, error.message);
      assert.match(error.message, message);
      return true;
    });
  }
});

test('one layer refused while the others still stream: the pull fails at once with its error, the others are cut, nothing unhandled', async () => {
  await using registry = await hostileRegistry();
  await using runtime = await temporaryRuntime();
  const slowTar = await tarOf([{ name: 'slow', content: randomBytes(2 * 1024 * 1024) }]);
  const slow = { blob: gzipSync(slowTar), tar: slowTar };
  const bad = { blob: gzipSync(busybox), tar: Buffer.from('not what the config says') }; // its diff_id cannot match
  registry.image('1', [slow, bad, slow]);
  const slowDigest = digestOf(slow.blob);
  let open = 0;
  // the slow blob trickles, 1 KiB every 20 ms: the pull must not wait for it once another layer failed
  registry.hook = (_req, res, url) => {
    if (!url.pathname.endsWith(slowDigest)) return false;
    open++;
    res.writeHead(200, { 'content-length': slow.blob.length });
    let sent = 0;
    const more = () => {
      if (res.destroyed || sent >= slow.blob.length) return;
      res.write(slow.blob.subarray(sent, sent + 1024), () => setTimeout(more, 20));
      sent += 1024;
    };
    res.on('close', () => open--);
    more();
    return true;
  };
  const seen: unknown[] = [];
  const record = (error: unknown) => seen.push(error);
  process.on('unhandledRejection', record);
  process.on('uncaughtException', record);
  try {
    await assert.rejects(withDeadline(runtime.images.pull(`${registry.host}/${REPO}:1`, PULL), 'the failed pull', 15_000), (error: unknown) => {
      assert.ok(error instanceof BerthError, `a berth error: ${String(error)}`);
      assert.equal(error.code, 'ERR_DIGEST_MISMATCH', error.message);
      return true;
    });
    await withDeadline((async () => {
      while (open > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    })(), 'the slow downloads to be cut', 5_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
  } finally {
    process.off('unhandledRejection', record);
    process.off('uncaughtException', record);
  }
  assert.deepEqual(seen.map(String), [], 'nothing unhandled or uncaught');
  assert.equal((await runtime.images.list()).length, 0);
});
