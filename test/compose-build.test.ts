/**
 * compose `build:`: `up` builds a missing image (named `<project>-<service>`)
 * before creating anything, keeps it when it exists, rebuilds with
 * `--build` and recreates the container when the image changed; a build
 * that fails names the service and leaves nothing of the stack.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { ComposeError } from '../lib/index.js';
import { composeCommand } from '../lib/cli/compose.js';
import { temporaryRuntime, withDeadline } from './helpers.js';
import { fakeContext, projectDir } from './compose-helpers.js';

const DOCKERFILE = 'FROM localhost/busybox\nCOPY hello.txt /www/hello.txt\nCMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n';
const COMPOSE = `
name: cb
services:
  web:
    build: ./web
    network_mode: none
    init: true
  tagged:
    image: localhost/tagged:1
    build:
      context: web
      args: [GREETING=hi]
      dockerfile_inline: |
        FROM localhost/busybox
        ARG GREETING
        RUN echo "$$GREETING" > /greeting  # $$: not a compose variable
        CMD ["sleep", "600"]
    network_mode: none
    init: true
`;

/** What the web service's httpd serves at /hello.txt. */
async function served(runtime: Awaited<ReturnType<typeof temporaryRuntime>>, project: string): Promise<string> {
  return (await runtime.stacks.exec(project, 'web', ['wget', '-q', '-O-', 'http://127.0.0.1:8080/hello.txt'])).stdout;
}

test('up builds missing images, keeps them after; up --build rebuilds and recreates the service whose image changed', { timeout: 300_000 }, async () => {
  await using runtime = await temporaryRuntime();
  using dir = projectDir('app', { 'compose.yaml': COMPOSE, 'web/Dockerfile': DOCKERFILE, 'web/hello.txt': 'first\n' });
  const events: string[] = [];
  const first = await withDeadline(runtime.stacks.up(dir.path, { onProgress: (service, event) => events.push(`${service} ${event}`) }), 'up', 240_000);
  assert.deepEqual(events.filter((e) => / buil/.test(e)).sort(), ['tagged building', 'tagged built', 'web building', 'web built']);
  assert.ok(events.indexOf('web built') < events.indexOf('web created'), 'built before created');
  assert.deepEqual(first.map((c) => [c.service, c.image, c.status]), [['tagged', 'localhost/tagged:1', 'running'], ['web', 'cb-web', 'running']]);
  assert.equal(await served(runtime, 'cb'), 'first\n');
  assert.equal((await runtime.stacks.exec('cb', 'tagged', ['cat', '/greeting'])).stdout, 'hi\n', 'args reach the build');
  assert.ok(await runtime.images.get('cb-web'), 'the image is named <project>-<service>');

  // the image exists: a changed context is not rebuilt without --build, and nothing is recreated
  writeFileSync(join(dir.path, 'web/hello.txt'), 'second\n');
  events.length = 0;
  const again = await withDeadline(runtime.stacks.up(dir.path, { onProgress: (service, event) => events.push(`${service} ${event}`) }), 'up', 240_000);
  assert.deepEqual(again.map((c) => c.id), first.map((c) => c.id));
  assert.deepEqual(events.sort(), ['tagged running', 'web running']);
  assert.equal(await served(runtime, 'cb'), 'first\n');

  // up --build (the CLI): both are built again; web's image changed, so web is recreated; tagged's did not (cached), so it is kept
  const ctx = fakeContext(runtime);
  assert.equal(await withDeadline(composeCommand(['--project-directory', dir.path, 'up', '-d', '--build'], ctx), 'up --build', 240_000), 0, ctx.stderr);
  assert.match(ctx.stderr, /Service web {2}Building\n[^]* Service web {2}Built\n/);
  assert.match(ctx.stderr, / Container cb-web-1 {2}Recreated\n/);
  assert.match(ctx.stderr, / Container cb-tagged-1 {2}Running\n/);
  const rebuilt = await runtime.stacks.ps('cb');
  assert.equal(rebuilt[0]!.id, first[0]!.id, 'tagged: the same image, the same container');
  assert.notEqual(rebuilt[1]!.id, first[1]!.id, 'web: a new image, a new container');
  assert.equal(await served(runtime, 'cb'), 'second\n');

  // compose config shows the resolved build section
  const config = fakeContext(runtime);
  assert.equal(await composeCommand(['--project-directory', dir.path, 'config'], config), 0, config.stderr);
  const printed = parse(config.stdout) as { services: Record<string, { image: string; build: Record<string, unknown> }> };
  assert.equal(printed.services.web!.image, 'cb-web');
  assert.deepEqual(printed.services.web!.build, { context: join(dir.path, 'web'), dockerfile: 'Dockerfile', args: {}, labels: {}, no_cache: false, pull: false, tags: [] });
  assert.deepEqual(printed.services.tagged!.build.args, { GREETING: 'hi' });
  await runtime.stacks.down('cb');
});

test('a build that fails names the service, and nothing of the stack is created', { timeout: 300_000 }, async () => {
  await using runtime = await temporaryRuntime();
  const compose = `
name: broken
services:
  db:
    image: localhost/busybox
    command: [sleep, "600"]
    volumes: [data:/data]
  web:
    build: ./web
    depends_on: [db]
volumes:
  data: {}
`;
  const cases = [
    { dockerfile: 'FROM localhost/busybox\nCOPYY hello.txt /\n', code: 'ERR_DOCKERFILE', message: /service "web": build: the image broken-web could not be built: Dockerfile:2:1: unknown instruction COPYY/ },
    { dockerfile: 'FROM localhost/busybox\nRUN echo compiling; exit 3\n', code: 'ERR_BUILD_STEP', message: /service "web": build: the image broken-web could not be built: Dockerfile:2: RUN echo compiling; exit 3: .*3[^]*compiling/ },
  ];
  for (const { dockerfile, code, message } of cases) {
    using dir = projectDir('app', { 'compose.yaml': compose, 'web/Dockerfile': dockerfile, 'web/hello.txt': 'x\n' });
    const error = await withDeadline(runtime.stacks.up(dir.path), 'up', 240_000).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof ComposeError, String(error));
    assert.deepEqual([error.code, error.service, error.key], [code, 'web', 'build']);
    assert.match(error.message, message);
    assert.deepEqual(await runtime.stacks.ps('broken'), [], 'no container');
    assert.deepEqual(await runtime.networks.list({ labels: { 'com.docker.compose.project': 'broken' } }), [], 'no network');
    assert.deepEqual(await runtime.volumes.list({ labels: { 'com.docker.compose.project': 'broken' } }), [], 'no volume');
    await assert.rejects(runtime.images.get('broken-web'), { code: 'ERR_NOT_FOUND' }, 'nothing tagged');
    // the CLI: exit code 125 and the same message
    const ctx = fakeContext(runtime);
    assert.equal(await withDeadline(composeCommand(['--project-directory', dir.path, 'up', '-d'], ctx), 'up', 240_000), 125);
    assert.match(ctx.stderr, message);
    assert.deepEqual(await runtime.stacks.ps('broken'), []);
  }
});
