import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { test } from 'node:test';
import { BuildStepError, DockerfileError, NotFoundError } from '../lib/index.js';
import { build, makeContext, run } from './build-helpers.js';
import { BUSYBOX, temporaryRuntime, withDeadline } from './helpers.js';
import { tarOf, treeOf } from './image-helpers.js';

function dockerfileError(file: string, line: number, column: number, pattern: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof DockerfileError, String(error));
    assert.deepEqual(error.location, { file, line, column });
    assert.match(error.message, pattern);
    return true;
  };
}

test('a Dockerfile with an error names file, line and column, and nothing is stored', async () => {
  await using runtime = await temporaryRuntime();
  const cases: [string, number, number, RegExp][] = [
    [`FROM ${BUSYBOX}\nRUN true\n  COPYY a b\n`, 3, 3, /unknown instruction COPYY/],
    [`FROM ${BUSYBOX}\nENV A="open\n`, 2, 5, /unterminated double quote/],
    [`FROM ${BUSYBOX}\nRUN --mount=type=cache,target=/x \\\n  --netwrk=host true\n`, 2, 1, /unknown flag --netwrk for RUN/],
    ['ARG BASE\nFROM ${BASE:?give BASE as a build arg}\n', 2, 1, /BASE: give BASE as a build arg/],
    [`FROM ${BUSYBOX} AS first\nCOPY --from=second /x /\nFROM ${BUSYBOX} AS second\nFROM first\n`, 2, 1, /stage 'second' is not defined before this line/],
    [`FROM ${BUSYBOX}\nRUN <<EOF\necho never ends\n`, 2, 1, /heredoc <<EOF is not terminated/],
    [`FROM ${BUSYBOX}\nEXPOSE 80/tcpx\n`, 2, 1, /EXPOSE: '80\/tcpx' is not a port/],
  ];
  for (const [text, line, column, pattern] of cases) {
    using context = makeContext({ 'build.Dockerfile': text });
    await assert.rejects(runtime.images.build({ context: context.dir, dockerfile: 'build.Dockerfile', tags: ['never:1'] }), dockerfileError('build.Dockerfile', line, column, pattern));
  }
  await assert.rejects(runtime.images.get('never:1'), NotFoundError);
  // the only thing stored is the built-in busybox, which the FROM lines asked for
  assert.deepEqual((await runtime.images.list()).flatMap((image) => image.references), ['localhost/busybox:latest']);
});

test('a failing RUN: its exit code, its last output lines and its line; nothing tagged, no container left', async () => {
  await using runtime = await temporaryRuntime();
  using context = makeContext({
    Dockerfile: `FROM ${BUSYBOX}\nRUN echo ok > /ok\nRUN echo first; echo second >&2; exit 3\nRUN echo never\n`,
  });
  await assert.rejects(build(runtime, { context: context.dir, tags: ['broken:1'] }), (error: unknown) => {
    assert.ok(error instanceof BuildStepError, String(error));
    assert.equal(error.code, 'ERR_BUILD_STEP');
    assert.equal(error.exitCode, 3);
    assert.deepEqual([...error.output].sort(), ['first', 'second']);
    assert.deepEqual(error.location, { file: 'Dockerfile', line: 3, column: 1 });
    assert.equal(error.instruction, 'RUN echo first; echo second >&2; exit 3');
    assert.match(error.message, /^Dockerfile:3: RUN echo first.*: the command exited with code 3/);
    return true;
  });
  await assert.rejects(runtime.images.get('broken:1'), NotFoundError);
  assert.deepEqual(await runtime.containers.list({ all: true }), []);
  // the step before it is cached (as Docker's are); the failed one is not
  context.write('Dockerfile', `FROM ${BUSYBOX}\nRUN echo ok > /ok\nRUN echo fixed\n`);
  const fixed = await build(runtime, { context: context.dir, tags: ['broken:1'] });
  assert.deepEqual(fixed.cached, ['RUN echo ok > /ok']);
  assert.deepEqual(fixed.ran, ['RUN echo fixed']);
});

test('COPY sources missing, outside the context, or excluded are refused with the step named', async () => {
  await using runtime = await temporaryRuntime();
  using context = makeContext({ 'secret.key': 'k', '.dockerignore': 'secret.key\n', Dockerfile: '' });
  const cases: [string, RegExp][] = [
    ['COPY missing.txt /', /missing.txt is not in the build context/],
    ['COPY ../outside /', /\.\.\/outside is outside the build context/],
    ['COPY secret.key /', /secret.key is not in the build context \(.dockerignore excludes it\)/],
    ['COPY nomatch*.txt /', /no file in the build context matches nomatch\*.txt/],
    ['COPY --chown=nosuchuser secret.key /', /--chown=nosuchuser: unable to find user nosuchuser/],
    [`FROM ${BUSYBOX}\nCOPY --from=0 /nonexistent /`, /\/nonexistent does not exist in --from=0/],
    ['RUN --security=insecure true', /--security=insecure is not supported/],
    ['RUN --mount=type=ssh true', /--mount type=ssh is not supported/],
    ['RUN --network=bridge true', /--network=bridge: use none, host or default/],
    ['RUN --mount=type=secret,id=missing,required=true true', /the secret 'missing' is required/],
  ];
  for (const [line, pattern] of cases) {
    context.write('Dockerfile', `FROM ${BUSYBOX}\n${line}\n`);
    await assert.rejects(runtime.images.build({ context: context.dir }), (error: unknown) => {
      assert.ok(error instanceof BuildStepError, `${line}: ${String(error)}`);
      assert.equal(error.location.line, line.split('\n').length + 1);
      assert.match(error.message, pattern);
      return true;
    });
  }
});

test('.dockerignore: patterns, exceptions and ** decide what COPY . sees; <Dockerfile>.dockerignore takes precedence', async () => {
  await using runtime = await temporaryRuntime();
  using context = makeContext({
    '.dockerignore': '# build outputs\n*.log\n!keep.log\nsecret/\n**/tmp\n*Dockerfile*\n.dockerignore\n',
    'Special.Dockerfile.dockerignore': 'a.txt\n',
    'a.txt': 'a',
    'debug.log': 'x',
    'keep.log': 'kept',
    'secret/key': 'k',
    'deep/er/tmp/x': 'x',
    'deep/er/file': 'f',
    Dockerfile: `FROM ${BUSYBOX}\nCOPY . /ctx/\n`,
    'Special.Dockerfile': `FROM ${BUSYBOX}\nCOPY . /ctx/\n`,
  });
  await build(runtime, { context: context.dir, tags: ['ignore:1'] });
  const files = (await run(runtime, 'ignore:1', ['sh', '-c', 'cd /ctx && find . -type f | sort'])).stdout;
  assert.equal(files, './a.txt\n./deep/er/file\n./keep.log\n');
  await build(runtime, { context: context.dir, dockerfile: 'Special.Dockerfile', tags: ['ignore:2'] });
  const special = (await run(runtime, 'ignore:2', ['sh', '-c', 'cd /ctx && find . -type f | sort'])).stdout;
  assert.doesNotMatch(special, /a\.txt/);
  assert.match(special, /debug\.log/);
});

test('hostile contexts and archives: symlinks stay symlinks, resolve inside the context, ADD archive entries cannot leave the destination', async () => {
  await using runtime = await temporaryRuntime();
  const hostMarker = join('/tmp', `berth-build-escape-${process.pid}`);
  const escaping = await tarOf([{ name: `../../../../../../..${hostMarker}`, content: 'escaped' }]);
  const throughLink = await tarOf([
    { name: 'link', type: 'symlink', linkname: '/tmp' },
    { name: `link/berth-build-escape-${process.pid}`, content: 'escaped' },
  ]);
  using context = makeContext({
    'passwd-link': { symlink: '/etc/passwd' },
    'dir/up': { symlink: '../../../../etc' },
    'escape.tar': escaping,
    'through-link.tar': throughLink,
    Dockerfile: `FROM ${BUSYBOX}\nCOPY . /ctx/\n`,
  });
  await build(runtime, { context: context.dir, tags: ['links:1'] });
  assert.equal((await run(runtime, 'links:1', ['readlink', '/ctx/passwd-link'])).stdout, '/etc/passwd\n');
  // read in the container, the link leads to the image's passwd, not the host's
  assert.match((await run(runtime, 'links:1', ['cat', '/ctx/passwd-link'])).stdout, /^app:x:1000/m);
  // named as a source, a link is followed inside the context: /etc/passwd is not in it
  context.write('Dockerfile', `FROM ${BUSYBOX}\nCOPY passwd-link /x\n`);
  await assert.rejects(runtime.images.build({ context: context.dir }), /passwd-link is not in the build context/);
  context.write('Dockerfile', `FROM ${BUSYBOX}\nCOPY dir/up/passwd /x\n`);
  await assert.rejects(runtime.images.build({ context: context.dir }), /dir\/up\/passwd is not in the build context/);
  for (const archive of ['escape.tar', 'through-link.tar']) {
    context.write('Dockerfile', `FROM ${BUSYBOX}\nADD ${archive} /dest/\n`);
    await assert.rejects(runtime.images.build({ context: context.dir, tags: ['hostile:1'] }), (error: unknown) => {
      assert.ok(error instanceof BuildStepError, String(error));
      assert.match(error.message, /refusing archive entry .*('\.\.'|symbolic link)/);
      return true;
    });
    assert.equal(existsSync(hostMarker), false, 'nothing written on the host');
  }
  // FROM scratch: the archive becomes the layer directly; the layer unpacker refuses the same entries
  context.write('Dockerfile', 'FROM scratch\nADD escape.tar /dest/\n');
  await assert.rejects(runtime.images.build({ context: context.dir, tags: ['hostile:1'] }), /\.\./);
  assert.equal(existsSync(hostMarker), false);
  await assert.rejects(runtime.images.get('hostile:1'), NotFoundError);
  assert.deepEqual(treeOf(join(runtime.root, 'containers')), []);
  assert.ok(!readFileSync('/etc/passwd', 'utf8').includes('escaped'));
});

test('an aborted build stops its running step, leaves no container and tags nothing', async () => {
  await using runtime = await temporaryRuntime();
  using context = makeContext({ Dockerfile: `FROM ${BUSYBOX}\nRUN sleep 60\n` });
  const controller = new AbortController();
  const building = runtime.images.build({
    context: context.dir,
    tags: ['aborted:1'],
    signal: controller.signal,
    onProgress: (event) => event.type === 'step-start' && event.instruction.startsWith('RUN') && setTimeout(() => controller.abort(), 200),
  });
  await assert.rejects(withDeadline(building, 'the aborted build to end', 20_000), { name: 'AbortError' });
  await assert.rejects(runtime.images.get('aborted:1'), NotFoundError);
  assert.deepEqual(await runtime.containers.list({ all: true }), []);
});

test('a context given as a tar stream (gzip) builds; one whose entries leave it is refused, nothing written outside', async () => {
  await using runtime = await temporaryRuntime();
  const good = await tarOf([
    { name: 'Dockerfile', content: `FROM ${BUSYBOX}\nCOPY app/ /app/\nCMD ["cat", "/app/msg"]\n` },
    { name: 'app/', type: 'directory' },
    { name: 'app/msg', content: 'from a tar context\n' },
  ]);
  await build(runtime, { context: Readable.from([gzipSync(good)]), tags: ['tarctx:1'] });
  assert.equal((await run(runtime, 'tarctx:1')).stdout, 'from a tar context\n');
  const marker = `/tmp/berth-ctx-escape-${process.pid}`;
  const hostile = await tarOf([{ name: 'Dockerfile', content: `FROM ${BUSYBOX}\n` }, { name: `../../../../../../..${marker}`, content: 'x' }]);
  await assert.rejects(runtime.images.build({ context: Readable.from([hostile]) }), (error: unknown) => {
    assert.ok(error instanceof DockerfileError, String(error));
    assert.match(error.message, /the build context's tar: refusing archive entry/);
    return true;
  });
  assert.equal(existsSync(marker), false);
  assert.deepEqual(readdirSync(join(runtime.root, 'build-cache')).filter((name) => name.startsWith('tmp-')), []);
  await assert.rejects(runtime.images.build({ context: '/nonexistent/dir' }), /the context \/nonexistent\/dir is not a directory/);
  await assert.rejects(runtime.images.build({ context: '/tmp', dockerfileContent: 'FROM not-here/image:1\n', pull: 'never' }), (error: unknown) => {
    assert.ok(error instanceof BuildStepError, String(error));
    assert.equal(error.code, 'ERR_NOT_FOUND');
    assert.match(error.message, /^Dockerfile:1: FROM not-here\/image:1: the base image cannot be had: /);
    return true;
  });
});

test('symlinks a build stage made lead inside its own filesystem: COPY --from through one, COPY to one', async () => {
  await using runtime = await temporaryRuntime();
  const name = `berth-build-through-link-${process.pid}`;
  using context = makeContext({
    'payload.txt': 'payload\n',
    Dockerfile: [
      `FROM ${BUSYBOX} AS links`,
      'RUN ln -s /etc /etc-link && ln -s ../../../../../../../../tmp /up-link',
      `FROM ${BUSYBOX}`,
      'COPY --from=links /etc-link/passwd /copied-passwd',
      'RUN ln -s /etc /target && ln -s ../../../../../../tmp /tmp-up',
      `COPY payload.txt /target/${name}`,
      `COPY payload.txt /tmp-up/${name}`,
    ].join('\n'),
  });
  await build(runtime, { context: context.dir, tags: ['links:2'] });
  // the stage's /etc/passwd (berth's busybox image), not the host's
  const copied = (await run(runtime, 'links:2', ['cat', '/copied-passwd'])).stdout;
  assert.match(copied, /^app:x:1000:1000/m);
  assert.notEqual(copied, readFileSync('/etc/passwd', 'utf8'));
  assert.equal((await run(runtime, 'links:2', ['cat', `/etc/${name}`, `/tmp/${name}`])).stdout, 'payload\npayload\n');
  assert.equal(existsSync(`/etc/${name}`), false);
  assert.equal(existsSync(`/tmp/${name}`), false);
});

test('build options: network sets the network of RUN steps that do not say; a platform other than the host is refused before anything runs', async () => {
  await using runtime = await temporaryRuntime();
  using context = makeContext({ Dockerfile: `FROM ${BUSYBOX}\nRUN ls /sys/class/net | sort | tr '\\n' ' ' > /nets\nRUN --network=none ls /sys/class/net | tr '\\n' ' ' > /nets-none\n` });
  const sandboxed = await build(runtime, { context: context.dir, tags: ['nets:none'] });
  assert.equal((await run(runtime, sandboxed.image.id, ['cat', '/nets'])).stdout, 'lo ');
  // the test runner's own network namespace, with an interface of this test's
  execFileSync('ip', ['link', 'add', 'bbuildnet0', 'type', 'veth', 'peer', 'name', 'bbuildnet1']);
  try {
    const hosted = await build(runtime, { context: context.dir, tags: ['nets:host'], network: 'host', noCache: true });
    assert.match((await run(runtime, hosted.image.id, ['cat', '/nets'])).stdout, /\bbbuildnet0\b/);
    assert.equal((await run(runtime, hosted.image.id, ['cat', '/nets-none'])).stdout, 'lo ', 'RUN --network=none keeps its own');
  } finally {
    execFileSync('ip', ['link', 'del', 'bbuildnet0']);
  }
  await assert.rejects(runtime.images.build({ context: context.dir, network: 'bridge' as 'host' }), TypeError);
  const other = process.arch === 'arm64' ? 'linux/amd64' : 'linux/arm64';
  await assert.rejects(runtime.images.build({ context: context.dir, platform: other }), { code: 'ERR_PLATFORM_UNAVAILABLE' });
  await build(runtime, { context: context.dir, platform: process.arch === 'arm64' ? 'linux/arm64' : 'linux/amd64' });
});

test('ADD of a URL whose server resets mid-body, closes without answering or sends less than it announced is a step error, nothing uncaught', async () => {
  await using runtime = await temporaryRuntime();
  const body = Buffer.alloc(256 * 1024, 0x61);
  const server = createNetServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', (request) => {
      const path = /^GET (\S+)/.exec(request.toString('latin1'))?.[1];
      if (path === '/silent') return socket.end(); // no answer at all
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
      if (path === '/reset') socket.write(body.subarray(0, body.length >> 1), () => setTimeout(() => socket.resetAndDestroy(), 5));
      else socket.end(body.subarray(0, body.length >> 1)); // /short: fewer bytes than announced, then the FIN
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  let uncaught = 0;
  const count = () => uncaught++;
  process.on('uncaughtException', count);
  try {
    for (const path of ['/reset', '/silent', '/short']) {
      using context = makeContext({ Dockerfile: `FROM ${BUSYBOX}\nADD http://127.0.0.1:${port}${path} /downloads/\n` });
      await assert.rejects(withDeadline(build(runtime, { context: context.dir, tags: ['add:1'] }), 'the build'), (error: unknown) => {
        assert.ok(error instanceof BuildStepError, `${path}: a step error, got ${String(error)}`);
        assert.match(error.message, new RegExp(`^Dockerfile:2: ADD .*: downloading http://127.0.0.1:${port}${path}: `));
        return true;
      });
    }
  } finally {
    process.off('uncaughtException', count);
    await withDeadline(new Promise((resolve) => server.close(resolve)), 'the server to close');
  }
  assert.equal(uncaught, 0, 'no uncaught exception');
  assert.equal((await runtime.images.list()).filter((image) => image.references.includes('docker.io/library/add:1')).length, 0);
});
