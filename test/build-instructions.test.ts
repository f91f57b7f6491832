import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { test } from 'node:test';
import { build, makeContext, run } from './build-helpers.js';
import { BUSYBOX, temporaryRuntime, withDeadline } from './helpers.js';
import { tarOf } from './image-helpers.js';

test('a multi-stage build: a busybox stage makes the program, a FROM scratch stage gets only it and a static busybox', async () => {
  await using runtime = await temporaryRuntime();
  using context = makeContext({
    'src/greet.sh': 'echo "hello from $NAME, built $(cat /app/stamp)"\n',
    Dockerfile: [
      'ARG BASE=localhost/busybox',
      'FROM ${BASE} AS build',
      'WORKDIR /work',
      'COPY src/ ./',
      'RUN mkdir -p /out && cp greet.sh /out/greet.sh && echo v1 > /out/stamp && sha256sum /out/greet.sh > /out/SUMS',
      '',
      'FROM scratch AS final',
      'COPY --from=localhost/busybox /bin/busybox /bin/busybox',
      'COPY --from=build /out/ /app/',
      'ENV NAME=berth',
      'ENTRYPOINT ["/bin/busybox", "sh", "/app/greet.sh"]',
    ].join('\n'),
  });
  const result = await build(runtime, { context: context.dir, tags: ['greet:1'] });
  assert.equal((await run(runtime, 'greet:1')).stdout, 'hello from berth, built v1\n');
  // the final image has only its two COPY layers: nothing of the build stage's busybox tree or /work
  const inspect = result.image.inspect();
  assert.equal(inspect.layers.length, 2);
  const listing = await run(runtime, 'greet:1', ['/bin/busybox', 'find', '/', '-xdev'], { entrypoint: [] });
  assert.deepEqual(listing.stdout.split('\n').filter((p) => p && !/^\/(proc|sys|dev|etc)(\/|$)/.test(p)).sort(), [
    '/', '/app', '/app/SUMS', '/app/greet.sh', '/app/stamp', '/bin', '/bin/busybox',
  ]);
  // the builder's intermediate images are cache, not listed
  assert.deepEqual(
    (await runtime.images.list()).map((image) => image.references).flat().sort(),
    ['docker.io/library/greet:1', 'localhost/busybox:latest'],
  );
});

test('the config instructions, checked on a container of the image and in its config', async () => {
  await using runtime = await temporaryRuntime();
  using context = makeContext({
    Dockerfile: [
      `FROM ${BUSYBOX}`,
      'ARG GREETING=hi',
      'ENV APP_HOME=/srv/app MODE="two words" PLAIN=${GREETING:-x}',
      'ENV LEGACY legacy value',
      'LABEL org.example.name="berth test" version=1.0',
      'WORKDIR $APP_HOME',
      'WORKDIR sub',
      'RUN echo "builder:x:1234:1234::/tmp:/bin/sh" >> /etc/passwd && echo "builder:x:1234:" >> /etc/group && touch made-here',
      'USER builder:builder',
      'RUN id -u > /tmp/uid-at-build',
      'EXPOSE 8080 53/udp 9000-9001',
      'VOLUME ["/data", "/cache"]',
      'VOLUME /logs',
      'STOPSIGNAL SIGQUIT',
      'HEALTHCHECK --interval=5s --timeout=2s --start-period=1s --retries=4 CMD test -f /srv/app/sub/made-here',
      'SHELL ["/bin/sh", "-ec"]',
      'CMD echo "$MODE in $(pwd) as $(id -un)"',
    ].join('\n'),
  });
  const { image } = await build(runtime, { context: context.dir, tags: ['config:1'], buildArgs: { GREETING: 'hello' }, labels: { extra: 'from-options' } });
  const config = image.inspect().config;
  assert.deepEqual(config.Env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'APP_HOME=/srv/app', 'MODE=two words', 'PLAIN=hello', 'LEGACY=legacy value']);
  assert.deepEqual(config.Labels, { 'org.example.name': 'berth test', version: '1.0', extra: 'from-options' });
  assert.equal(config.WorkingDir, '/srv/app/sub');
  assert.equal(config.User, 'builder:builder');
  assert.deepEqual(config.ExposedPorts, { '8080/tcp': {}, '53/udp': {}, '9000/tcp': {}, '9001/tcp': {} });
  assert.deepEqual(config.Volumes, { '/data': {}, '/cache': {}, '/logs': {} });
  assert.equal(config.StopSignal, 'SIGQUIT');
  assert.deepEqual(config.Healthcheck, { Test: ['CMD-SHELL', 'test -f /srv/app/sub/made-here'], Interval: 5e9, Timeout: 2e9, StartPeriod: 1e9, Retries: 4 });
  assert.deepEqual(config.Shell, ['/bin/sh', '-ec']);
  assert.deepEqual(config.Cmd, ['/bin/sh', '-ec', 'echo "$MODE in $(pwd) as $(id -un)"']);
  // the ARG is not in the image's environment, but was in RUN's
  assert.equal((await run(runtime, 'config:1')).stdout, 'two words in /srv/app/sub as builder\n');
  assert.equal((await run(runtime, 'config:1', ['cat', '/tmp/uid-at-build'])).stdout, '1234\n');
  assert.equal((await run(runtime, 'config:1', ['sh', '-c', 'echo "[$GREETING]"'])).stdout, '[]\n');
  // history: one entry per instruction, layers only for the RUNs
  const history = image.inspect().history;
  const own = history.slice(1);
  assert.equal(own.length, 15); // every instruction but ARG
  assert.deepEqual(own.filter((h) => !h.empty_layer).map((h) => h.created_by), [
    'RUN |1 GREETING=hello /bin/sh -c echo "builder:x:1234:1234::/tmp:/bin/sh" >> /etc/passwd && echo "builder:x:1234:" >> /etc/group && touch made-here # buildkit',
    'RUN |1 GREETING=hello /bin/sh -c id -u > /tmp/uid-at-build # buildkit',
  ]);
  assert.ok(own.every((h) => h.comment === 'buildkit.dockerfile.v0'));
});

test('ENTRYPOINT with CMD as its arguments; an inherited CMD is dropped by a new ENTRYPOINT', async () => {
  await using runtime = await temporaryRuntime();
  using context = makeContext({
    Dockerfile: [`FROM ${BUSYBOX}`, 'ENTRYPOINT ["echo", "entry"]', 'CMD ["default", "args"]'].join('\n'),
    'Dockerfile.child': 'FROM parent:1\nENTRYPOINT ["echo", "child"]\n',
  });
  await build(runtime, { context: context.dir, tags: ['parent:1'] });
  assert.equal((await run(runtime, 'parent:1')).stdout, 'entry default args\n');
  assert.equal((await run(runtime, 'parent:1', ['other'])).stdout, 'entry other\n');
  const { image } = await build(runtime, { context: context.dir, dockerfile: 'Dockerfile.child', tags: ['child:1'] });
  assert.equal(image.config.Cmd, undefined);
  assert.equal((await run(runtime, 'child:1')).stdout, 'child\n');
});

test('ONBUILD triggers run when a later build uses the image as its base', async () => {
  await using runtime = await temporaryRuntime();
  using context = makeContext({
    Dockerfile: `FROM ${BUSYBOX}\nONBUILD COPY trigger.txt /from-trigger.txt\nONBUILD RUN echo ran > /onbuild-ran\n`,
    'Dockerfile.child': 'FROM base-onbuild\nRUN cat /from-trigger.txt /onbuild-ran\n',
    'trigger.txt': 'copied by the trigger\n',
  });
  const base = await build(runtime, { context: context.dir, tags: ['base-onbuild'] });
  assert.deepEqual(base.image.config.OnBuild, ['COPY trigger.txt /from-trigger.txt', 'RUN echo ran > /onbuild-ran']);
  const child = await build(runtime, { context: context.dir, dockerfile: 'Dockerfile.child', tags: ['child-onbuild'] });
  assert.deepEqual(child.output, ['copied by the trigger', 'ran']);
  assert.equal(child.image.config.OnBuild, undefined);
});

test('heredocs: RUN <<EOF scripts, a heredoc fed to a command, COPY <<EOF files with substitution', async () => {
  await using runtime = await temporaryRuntime();
  using context = makeContext({
    Dockerfile: [
      `FROM ${BUSYBOX}`,
      'ARG WHO=world',
      'RUN <<EOF',
      'echo "script line 1"',
      'echo "hello $WHO" > /greeting',
      'EOF',
      "RUN cat <<'RAW' > /raw && cat <<-TABS > /tabs",
      'kept $WHO',
      'RAW',
      '\tindented $WHO',
      '\tTABS',
      'COPY <<CONF /etc/app.conf',
      'who=${WHO}',
      'quote="kept"',
      'CONF',
      'RUN <<SCRIPT',
      '#!/bin/awk -f',
      'BEGIN { print "awk ran the script" > "/from-awk" }',
      'SCRIPT',
      'COPY <<A <<B /multi/',
      'first',
      'A',
      'second',
      'B',
    ].join('\n'),
  });
  const { output } = await build(runtime, { context: context.dir, tags: ['heredoc:1'] });
  assert.deepEqual(output, ['script line 1']);
  const cat = (path: string) => run(runtime, 'heredoc:1', ['cat', path]).then((r) => r.stdout);
  assert.equal(await cat('/greeting'), 'hello world\n');
  assert.equal(await cat('/raw'), 'kept $WHO\n');
  assert.equal(await cat('/tabs'), 'indented world\n');
  assert.equal(await cat('/etc/app.conf'), 'who=world\nquote="kept"\n');
  assert.equal(await cat('/multi/A'), 'first\n');
  assert.equal(await cat('/multi/B'), 'second\n');
  // a script with a #! line runs through its interpreter, and is not left in the image
  assert.equal(await cat('/from-awk'), 'awk ran the script\n');
  assert.equal((await run(runtime, 'heredoc:1', ['ls', '-a', '/'])).stdout.includes('berth'), false);
});

test('COPY: files, directories (their contents), wildcards, --chown by name and number, --chmod, --exclude, existing directories', async () => {
  await using runtime = await temporaryRuntime();
  using context = makeContext({
    'a.txt': 'a',
    'b.txt': 'b',
    'c.md': 'c',
    'tree/x/y.txt': 'y',
    'tree/skip.log': 'log',
    'tree/run.sh': { content: '#!/bin/sh\n', mode: 0o755 },
    Dockerfile: [
      `FROM ${BUSYBOX}`,
      'COPY a.txt /one/renamed.txt',
      'COPY a.txt /tmp',
      'COPY *.txt /globbed/',
      'COPY --exclude=*.log tree /tree',
      'COPY --chown=app --chmod=640 b.txt /owned/b.txt',
      'COPY --chown=7:8 c.md /owned/',
      'WORKDIR /rel',
      'COPY a.txt .',
    ].join('\n'),
  });
  await build(runtime, { context: context.dir, tags: ['copy:1'] });
  const sh = (script: string) => run(runtime, 'copy:1', ['sh', '-c', script]).then((r) => r.stdout);
  assert.equal(await sh('cat /one/renamed.txt /tmp/a.txt /rel/a.txt'), 'aaa');
  assert.equal(await sh('ls /globbed'), 'a.txt\nb.txt\n');
  assert.equal(await sh('cd /tree && find . | sort'), '.\n./run.sh\n./x\n./x/y.txt\n');
  assert.equal(await sh('stat -c %a /tree/run.sh'), '755\n');
  assert.equal(await sh('stat -c "%u:%g %a" /owned/b.txt /owned/c.md /one/renamed.txt'), '1000:1000 640\n7:8 644\n0:0 644\n');
  // /tmp kept its mode (1777), /tmp/a.txt is a file in it
  assert.equal(await sh('stat -c %a /tmp'), '1777\n');
});

test('ADD: a local tar archive is extracted (gzip too; a .gz of text is copied), a URL is downloaded and checked against --checksum', async () => {
  await using runtime = await temporaryRuntime();
  const archive = await tarOf([{ name: 'pkg/', type: 'directory' }, { name: 'pkg/file.txt', content: 'from the archive\n' }]);
  const body = Buffer.from('downloaded content\n');
  const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
  const server = createServer((request, response) => {
    if (request.url === '/files/remote.txt') response.end(body);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  try {
    using context = makeContext({
      'plain.tar': archive,
      'packed.tar.gz': gzipSync(archive),
      'notes.txt.gz': gzipSync('just text\n'),
      Dockerfile: [
        `FROM ${BUSYBOX}`,
        'ADD plain.tar /plain/',
        'ADD packed.tar.gz /packed',
        'ADD notes.txt.gz /notes/',
        `ADD --checksum=${digest} http://127.0.0.1:${port}/files/remote.txt /downloads/`,
      ].join('\n'),
      'Dockerfile.bad': `FROM ${BUSYBOX}\nADD --checksum=sha256:${'0'.repeat(64)} http://127.0.0.1:${port}/files/remote.txt /x\n`,
    });
    await build(runtime, { context: context.dir, tags: ['add:1'] });
    const sh = (script: string) => run(runtime, 'add:1', ['sh', '-c', script]).then((r) => r.stdout);
    assert.equal(await sh('cat /plain/pkg/file.txt /packed/pkg/file.txt'), 'from the archive\nfrom the archive\n');
    // a gzip file that is not a tar is copied as it is
    assert.equal(await sh('gunzip -c /notes/notes.txt.gz'), 'just text\n');
    assert.equal(await sh('cat /downloads/remote.txt; stat -c %a /downloads/remote.txt'), 'downloaded content\n600\n');
    await assert.rejects(build(runtime, { context: context.dir, dockerfile: 'Dockerfile.bad', tags: ['bad:1'] }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'ERR_BUILD_STEP');
      assert.match(error.message, /^Dockerfile.bad:2: ADD .*: the content of .* has digest sha256:[a-f0-9]{64}, not sha256:0{64}/);
      return true;
    });
  } finally {
    await withDeadline(new Promise((resolve) => server.close(resolve)), 'the server to close');
  }
});

test('ARG: meta ARGs in FROM, per-stage ARGs, build args over defaults, the predefined platform ARGs', async () => {
  await using runtime = await temporaryRuntime();
  using context = makeContext({
    Dockerfile: [
      'ARG IMAGE=localhost/busybox',
      'ARG VERSION',
      'FROM $IMAGE',
      'ARG VERSION',
      'ARG LOCAL=default-${VERSION}',
      'ARG TARGETARCH',
      'ARG UNSET',
      'RUN echo "v=$VERSION l=$LOCAL arch=$TARGETARCH unset=${UNSET:-none}"',
    ].join('\n'),
  });
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const warnings: string[] = [];
  const { output } = await build(runtime, { context: context.dir, buildArgs: { VERSION: '7', NOT_DECLARED: 'x' } });
  assert.deepEqual(output, [`v=7 l=default-7 arch=${arch} unset=none`]);
  const second = await runtime.images.build({
    context: context.dir,
    buildArgs: { LOCAL: 'given', NOT_DECLARED: 'x' },
    onProgress: (event) => event.type === 'warning' && warnings.push(event.message),
  });
  assert.ok(second.id);
  assert.deepEqual(warnings, ['build args not consumed by any ARG: NOT_DECLARED']);
});

test('RUN: network none by default, --network=host sees the host interfaces; tmpfs, bind and secret mounts leave nothing in the layer', async () => {
  await using runtime = await temporaryRuntime();
  using context = makeContext({
    'conf/settings.ini': 'setting=1\n',
    Dockerfile: [
      `FROM ${BUSYBOX}`,
      'RUN cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " " > /ifaces-none',
      'RUN --network=host cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " " | sort > /ifaces-host',
      'RUN --mount=type=tmpfs,target=/scratch echo tmp > /scratch/file && test ! -e /scratch-left',
      'RUN --mount=type=bind,source=conf,target=/conf cp /conf/settings.ini /copied.ini',
      'RUN --mount=type=secret,id=token cat /run/secrets/token > /dev/null && echo "secret seen: $(wc -c < /run/secrets/token)"',
      'RUN --mount=type=secret,id=other,target=/opt/other.key,required=false test ! -e /opt/other.key',
    ].join('\n'),
  });
  const { output } = await build(runtime, { context: context.dir, tags: ['run:1'], secrets: { token: 's3cret' } });
  assert.deepEqual(output, ['secret seen: 6']);
  const sh = (script: string) => run(runtime, 'run:1', ['sh', '-c', script]).then((r) => r.stdout);
  assert.equal(await sh('cat /ifaces-none'), 'lo\n');
  assert.ok((await sh('cat /ifaces-host')).split('\n').length >= 2);
  assert.equal(await sh('cat /copied.ini'), 'setting=1\n');
  assert.equal(await sh('ls -a /scratch /conf /run/secrets /opt 2>&1 | grep -c "No such file"'), '4\n');
  // the secret is in no layer and no blob of the store (grep exits 1: no match)
  const image = await runtime.images.get('run:1');
  const searched = spawnSync('grep', ['-r', '-l', '-a', 's3cret', ...image.layerPaths, join(runtime.root, 'blobs'), join(runtime.root, 'images')]);
  assert.equal(searched.status, 1, searched.stdout.toString());
});

test('COPY --from with wildcards (matching files by name, a matching directory by its contents); RUN --mount=type=bind,from=<stage>', async () => {
  await using runtime = await temporaryRuntime();
  using context = makeContext({
    Dockerfile: [
      `FROM ${BUSYBOX} AS make`,
      'RUN mkdir -p /out/dir/deeper && echo a > /out/a.sh && echo b > /out/b.txt && echo x > /out/dir/x && echo y > /out/dir/deeper/y',
      `FROM ${BUSYBOX}`,
      'COPY --from=make /out/*.sh /w1/',
      'COPY --from=make /out/d* /w2/',
      'COPY --from=make /out/*/deeper/y /w3/',
      'RUN --mount=type=bind,from=make,source=/out/dir,target=/in cat /in/x /in/deeper/y > /from-mount && ! touch /in/w 2>/dev/null',
    ].join('\n'),
  });
  await build(runtime, { context: context.dir, tags: ['wild:1'] });
  const find = (dir: string) => run(runtime, 'wild:1', ['sh', '-c', `cd ${dir} && find . | sort`]).then((r) => r.stdout);
  assert.equal(await find('/w1'), '.\n./a.sh\n');
  assert.equal(await find('/w2'), '.\n./deeper\n./deeper/y\n./x\n');
  assert.equal(await find('/w3'), '.\n./y\n');
  // RUN --mount=type=bind,from=<stage>: that stage's files, read-only, not left in the layer
  assert.equal((await run(runtime, 'wild:1', ['sh', '-c', 'cat /from-mount; ls /in 2>&1 | grep -c "No such"'])).stdout, 'x\ny\n1\n');
});
