import assert from 'node:assert/strict';
import { statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Runtime } from '../lib/index.js';
import { build, makeContext, run } from './build-helpers.js';
import { BUSYBOX, temporaryRuntime } from './helpers.js';

const DOCKERFILE = [
  `FROM ${BUSYBOX}`,
  'RUN echo base > /base',
  'COPY deps.txt /app/deps.txt',
  'RUN cat /app/deps.txt > /app/deps-installed',
  'COPY src/ /app/src/',
  'RUN cat /app/src/*.txt > /app/built',
  'CMD ["cat", "/app/built"]',
].join('\n');

test('a changed source file re-runs only the steps after its COPY; no change runs nothing; noCache runs everything', async () => {
  await using runtime = await temporaryRuntime();
  using context = makeContext({ Dockerfile: DOCKERFILE, 'deps.txt': 'deps-1\n', 'src/a.txt': 'a-1\n', 'src/b.txt': 'b-1\n' });
  const first = await build(runtime, { context: context.dir, tags: ['app:dev'] });
  assert.equal(first.ran.length, 5);
  assert.deepEqual(first.cached, []);

  const unchanged = await build(runtime, { context: context.dir, tags: ['app:dev'] });
  assert.deepEqual(unchanged.ran, []);
  assert.equal(unchanged.cached.length, 5);
  assert.equal(unchanged.image.id, first.image.id, 'a rebuild without change gives the same image');

  context.write('src/b.txt', 'b-2\n');
  const sourceChanged = await build(runtime, { context: context.dir, tags: ['app:dev'] });
  assert.deepEqual(sourceChanged.cached, ['RUN echo base > /base', 'COPY deps.txt /app/deps.txt', 'RUN cat /app/deps.txt > /app/deps-installed']);
  assert.deepEqual(sourceChanged.ran, ['COPY src/ /app/src/', 'RUN cat /app/src/*.txt > /app/built']);
  assert.equal((await run(runtime, 'app:dev')).stdout, 'a-1\nb-2\n');

  context.write('deps.txt', 'deps-2\n');
  const depsChanged = await build(runtime, { context: context.dir, tags: ['app:dev'] });
  assert.deepEqual(depsChanged.cached, ['RUN echo base > /base']);
  assert.equal(depsChanged.ran.length, 4);

  // a file's mode is content too
  context.write('src/a.txt', { content: 'a-1\n', mode: 0o600 });
  assert.deepEqual((await build(runtime, { context: context.dir })).ran, ['COPY src/ /app/src/', 'RUN cat /app/src/*.txt > /app/built']);

  const forced = await build(runtime, { context: context.dir, noCache: true });
  assert.equal(forced.ran.length, 5);
  assert.deepEqual(forced.cached, []);
  const done = forced.events.at(-1);
  assert.equal(done?.type, 'done');
  assert.deepEqual(done?.type === 'done' ? [done.stepsRun, done.stepsCached] : [], [5, 0]);
});

test('the cache survives a new Runtime on the same root, is private, and image prune removes it', async () => {
  await using runtime = await temporaryRuntime();
  using context = makeContext({ Dockerfile: DOCKERFILE, 'deps.txt': 'deps\n', 'src/a.txt': 'a\n' });
  await build(runtime, { context: context.dir, tags: ['app:1'] });
  const reopened = await Runtime.open({ root: runtime.root });
  const again = await build(reopened, { context: context.dir, tags: ['app:1'] });
  assert.deepEqual(again.ran, []);
  const keys = join(runtime.root, 'build-cache', 'keys');
  assert.equal(statSync(join(runtime.root, 'build-cache')).mode & 0o777, 0o700);
  for (const key of readdirSync(keys)) assert.equal(statSync(join(keys, key)).mode & 0o777, 0o600);
  assert.equal(readdirSync(keys).length, 5);

  // while the result is tagged, prune keeps the steps' images (its build cache)
  assert.deepEqual((await runtime.images.prune()).images, []);
  assert.deepEqual((await build(runtime, { context: context.dir, tags: ['app:1'] })).ran, []);
  // untagged and pruned: gone, and the next build runs every step
  await (await runtime.images.get('app:1')).untag('app:1');
  const pruned = await runtime.images.prune();
  assert.equal(pruned.images.length, 6); // the five steps' and the result
  assert.deepEqual(readdirSync(keys), []);
  const rebuilt = await build(runtime, { context: context.dir });
  assert.equal(rebuilt.ran.length, 5);
});

test('RUN --mount=type=cache keeps its directory across builds (and out of the image); prune -a empties it', async () => {
  await using runtime = await temporaryRuntime();
  using context = makeContext({
    Dockerfile: `FROM ${BUSYBOX}\nRUN --mount=type=cache,target=/var/cache/app,id=app-cache echo run >> /var/cache/app/log && wc -l < /var/cache/app/log > /runs\n`,
  });
  await build(runtime, { context: context.dir, tags: ['cache:1'] });
  await build(runtime, { context: context.dir, tags: ['cache:1'], noCache: true });
  assert.equal((await run(runtime, 'cache:1', ['sh', '-c', 'cat /runs; ls /var/cache/app 2>&1 | wc -l'])).stdout.trim().split('\n')[0], '2');
  assert.equal((await run(runtime, 'cache:1', ['ls', '/var/cache'])).stdout, '');
  await (await runtime.images.get('cache:1')).remove();
  await runtime.images.prune({ dangling: false });
  await build(runtime, { context: context.dir, tags: ['cache:1'] });
  assert.equal((await run(runtime, 'cache:1', ['cat', '/runs'])).stdout, '1\n');
});

test('independent stages build, and only the stages the target needs', async () => {
  await using runtime = await temporaryRuntime();
  using context = makeContext({
    Dockerfile: [
      `FROM ${BUSYBOX} AS one`,
      'RUN echo one > /one',
      `FROM ${BUSYBOX} AS two`,
      'RUN echo two > /two',
      `FROM ${BUSYBOX} AS unused`,
      'RUN echo never; exit 1',
      'FROM scratch AS final',
      'COPY --from=one /one /',
      'COPY --from=two /two /',
      'FROM final AS more',
      'COPY --from=1 /two /two-again',
    ].join('\n'),
  });
  const result = await build(runtime, { context: context.dir, target: 'final', tags: ['stages:1'] });
  assert.deepEqual(result.ran.sort(), ['COPY --from=one /one /', 'COPY --from=two /two /', 'RUN echo one > /one', 'RUN echo two > /two']);
  assert.equal(result.image.inspect().layers.length, 2);
  const more = await build(runtime, { context: context.dir, target: 'more' });
  assert.deepEqual(more.ran, ['COPY --from=1 /two /two-again']);
  await assert.rejects(runtime.images.build({ context: context.dir, target: 'nope' }), /target stage 'nope' is not in the Dockerfile \(its stages: one, two, unused, final, more\)/);
});

test('two builds of the same Dockerfile at once both succeed and agree; a third is all cached', async () => {
  await using runtime = await temporaryRuntime();
  using context = makeContext({ Dockerfile: DOCKERFILE, 'deps.txt': 'deps\n', 'src/a.txt': 'a\n' });
  const [one, two] = await Promise.all([
    build(runtime, { context: context.dir, tags: ['same:1'] }),
    build(runtime, { context: context.dir, tags: ['same:2'] }),
  ]);
  assert.equal((await run(runtime, 'same:1')).stdout, 'a\n');
  assert.equal((await run(runtime, 'same:2')).stdout, 'a\n');
  assert.deepEqual(one.image.inspect().layers.map((l) => l.diffId).slice(0, 1), two.image.inspect().layers.map((l) => l.diffId).slice(0, 1));
  const third = await build(runtime, { context: context.dir, tags: ['same:3'] });
  assert.deepEqual(third.ran, []);
});
