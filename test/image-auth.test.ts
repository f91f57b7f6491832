import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Container, RegistryAuthError } from '../lib/index.js';
import { temporaryRuntime } from './helpers.js';
import { busyboxTar, pushImage, startBearerProxy, startRegistry, temporaryDir, type BearerProxy, type Registry } from './image-helpers.js';

const USERS = { alice: 'wonderland', bob: 'builder' };

let basic: Registry; // htpasswd Basic auth
let open: Registry; // behind the Bearer proxy
let bearer: BearerProxy;

before(async () => {
  [basic, open] = await Promise.all([startRegistry(USERS), startRegistry()]);
  bearer = await startBearerProxy(open.host, USERS);
  const busybox = busyboxTar();
  await pushImage(open.host, 'private/app:1', [{ layers: [busybox] }]);
  // skopeo pushes to the Basic registry with the same credentials
  await pushImage(basic.host, 'private/app:1', [{ layers: [busybox] }], ['--dest-creds', 'alice:wonderland']);
});
after(async () => {
  await bearer?.stop();
  await Promise.all([basic?.stop(), open?.stop()]);
});

function dockerConfig(dir: string, content: object): string {
  const path = join(dir, 'config.json');
  writeFileSync(path, JSON.stringify(content));
  return path;
}

const auth = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString('base64');

function isAuthError(error: unknown): boolean {
  assert.ok(error instanceof RegistryAuthError, `expected a RegistryAuthError, got ${String(error)}`);
  assert.equal(error.code, 'ERR_REGISTRY_AUTH');
  return true;
}

test('Basic auth: credentials from options and from config.json; wrong or missing ones are typed auth errors', async () => {
  await using runtime = await temporaryRuntime();
  using dir = temporaryDir();
  const ref = `${basic.host}/private/app:1`;

  await assert.rejects(runtime.images.pull(ref, { dockerConfig: false }), (error: unknown) => {
    isAuthError(error);
    assert.match((error as Error).message, /needs credentials/);
    return true;
  });
  await assert.rejects(runtime.images.pull(ref, { credentials: { username: 'alice', password: 'wrong' } }), (error: unknown) => {
    isAuthError(error);
    assert.match((error as Error).message, /credentials were refused/);
    return true;
  });
  assert.equal(runtime.images.list().length, 0);

  const fromOptions = await runtime.images.pull(ref, { credentials: { username: 'alice', password: 'wonderland' } });
  await fromOptions.remove();

  const config = dockerConfig(dir.path, { auths: { [`http://${basic.host}`]: { auth: auth('bob', 'builder') } } });
  const fromConfig = await runtime.images.pull(ref, { dockerConfig: config });
  assert.equal((await Container.run(fromConfig.id, ['echo', 'ok'], { runtime })).stdout, 'ok\n');

  const wrongConfig = dockerConfig(dir.path, { auths: { [basic.host]: { username: 'bob', password: 'nope' } } });
  await assert.rejects(runtime.images.pull(ref, { dockerConfig: wrongConfig }), isAuthError);
});

test('Bearer tokens: the token flow with credentials from options and config.json; tokens are cached', async () => {
  await using runtime = await temporaryRuntime();
  using dir = temporaryDir();
  const ref = `${bearer.host}/private/app:1`;

  await assert.rejects(runtime.images.pull(ref, { dockerConfig: false }), (error: unknown) => {
    isAuthError(error);
    assert.match((error as Error).message, /refused anonymous access/);
    return true;
  });
  await assert.rejects(runtime.images.pull(ref, { credentials: { username: 'alice', password: 'bad' } }), (error: unknown) => {
    isAuthError(error);
    assert.equal((error as RegistryAuthError).status, 401);
    return true;
  });

  const before = bearer.tokenRequests;
  const image = await runtime.images.pull(ref, { credentials: { username: 'alice', password: 'wonderland' } });
  assert.equal(bearer.tokenRequests - before, 1, 'one token for the pull (manifest, config and layer reuse it)');
  await runtime.images.pull(ref, { credentials: { username: 'alice', password: 'wonderland' } });
  assert.equal(bearer.tokenRequests - before, 1, 'the cached token serves the second pull');
  await image.remove();

  const config = dockerConfig(dir.path, { auths: { [bearer.host]: { auth: auth('bob', 'builder') } } });
  const fromConfig = await runtime.images.pull(ref, { dockerConfig: config });
  assert.equal((await Container.run(fromConfig.id, ['echo', 'ok'], { runtime })).stdout, 'ok\n');
});

test('credentials from a docker-credential helper (credHelpers and credsStore)', async () => {
  await using runtime = await temporaryRuntime();
  using dir = temporaryDir();
  const bin = join(dir.path, 'bin');
  mkdirSync(bin);
  // a real helper program, speaking the docker-credential protocol on stdin/stdout
  writeFileSync(
    join(bin, 'docker-credential-berthtest'),
    `#!/bin/sh
[ "$1" = get ] || exit 1
read server
case "$server" in
  ${basic.host}) echo '{"ServerURL":"'$server'","Username":"alice","Secret":"wonderland"}' ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`,
  );
  chmodSync(join(bin, 'docker-credential-berthtest'), 0o755);
  const path = process.env.PATH;
  process.env.PATH = `${bin}:${path}`;
  try {
    const helpers = dockerConfig(dir.path, { credHelpers: { [basic.host]: 'berthtest' } });
    await runtime.images.pull(`${basic.host}/private/app:1`, { dockerConfig: helpers });
    const store = dockerConfig(dir.path, { credsStore: 'berthtest' });
    const image = await runtime.images.pull(`${basic.host}/private/app:1`, { dockerConfig: store });
    assert.equal(image.references[0], `${basic.host}/private/app:1`);
    const missing = dockerConfig(dir.path, { credsStore: 'not-installed' });
    await assert.rejects(runtime.images.pull(`${basic.host}/private/app:1`, { dockerConfig: missing }), (error: unknown) => {
      isAuthError(error);
      assert.match((error as Error).message, /docker-credential-not-installed/);
      return true;
    });
  } finally {
    process.env.PATH = path;
  }
});

test('retries: 503s and a connection cut mid-blob are retried and resumed', async () => {
  await using runtime = await temporaryRuntime();
  const ref = `${bearer.host}/private/app:1`;
  const credentials = { username: 'alice', password: 'wonderland' };
  bearer.fail503(2);
  bearer.cutNextBlobAfter(300_000);
  const gets = new Map(bearer.blobGets);
  const image = await runtime.images.pull(ref, { credentials });
  const layer = image.inspect().layers[0]!;
  assert.ok((bearer.blobGets.get(layer.digest) ?? 0) - (gets.get(layer.digest) ?? 0) >= 2, 'the layer was asked for again after the cut');
  assert.equal((await Container.run(image.id, ['echo', 'ok'], { runtime })).stdout, 'ok\n');
});
