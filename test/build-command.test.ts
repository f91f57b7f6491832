import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { tarOf } from './image-helpers.js';
import { buildCommand } from '../lib/build/build-command.js';
import type { Runtime } from '../lib/index.js';
import { makeContext, run } from './build-helpers.js';
import { BUSYBOX, temporaryRuntime, withDeadline } from './helpers.js';

async function berthBuild(runtime: Runtime, args: string[], stdin?: Readable): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await withDeadline(
    buildCommand(args, { openRuntime: async () => runtime, out: (text) => (out += text), err: (text) => (err += text), isTTY: false, ...(stdin ? { stdin } : {}) }),
    `berth build ${args.join(' ')}`,
  );
  return { code, out, err };
}

test('berth build: BuildKit-like plain progress, the id on stdout, CACHED on a rebuild', async () => {
  await using runtime = await temporaryRuntime();
  using context = makeContext({ Dockerfile: `FROM ${BUSYBOX}\nARG WHO\nRUN echo "hello $WHO"\nCOPY Dockerfile /\n`, 'other.Dockerfile': `FROM ${BUSYBOX}\nLABEL from=other\n` });
  const first = await berthBuild(runtime, ['-t', 'cli:1', '--build-arg', 'WHO=cli', '--label', 'k=v', context.dir]);
  assert.equal(first.code, 0, first.err);
  assert.match(first.out, /^sha256:[a-f0-9]{64}\n$/);
  assert.match(first.err, /^#1 \[0 FROM\] FROM localhost\/busybox$/m);
  assert.match(first.err, /^#2 \[0 2\/3\] RUN echo "hello \$WHO"$/m);
  assert.match(first.err, /^#2 \d+\.\d hello cli$/m);
  assert.match(first.err, /^#2 DONE \d+\.\ds$/m);
  assert.match(first.err, /naming to docker.io\/library\/cli:1 done/);
  assert.equal((await runtime.images.get('cli:1')).config.Labels?.k, 'v');
  const second = await berthBuild(runtime, ['--tag=cli:1', '--build-arg=WHO=cli', '--label', 'k=v', context.dir]);
  assert.match(second.err, /^#2 CACHED$/m);
  assert.match(second.err, /^#3 CACHED$/m);
  assert.match(second.err, /2 cached/);
  assert.equal(second.out, first.out);
  const other = await berthBuild(runtime, ['-f', `${context.dir}/other.Dockerfile`, '-t', 'cli:2', '-q', context.dir]);
  assert.equal(other.code, 0);
  assert.equal(other.err, '');
  assert.equal((await run(runtime, 'cli:2', ['true'])).exitCode, 0);
});

test('berth build: a failing step exits 1 with the error; usage errors exit 2', async () => {
  await using runtime = await temporaryRuntime();
  using context = makeContext({ Dockerfile: `FROM ${BUSYBOX}\nRUN exit 4\n` });
  const failed = await berthBuild(runtime, ['-t', 'fails:1', context.dir]);
  assert.equal(failed.code, 1);
  assert.match(failed.err, /^ERROR: Dockerfile:2: RUN exit 4: the command exited with code 4$/m);
  assert.equal(failed.out, '');
  for (const args of [[], ['--bogus', context.dir], ['a', 'b'], ['--build-arg', 'novalue=', '--label', 'bad', context.dir]]) {
    const usage = await berthBuild(runtime, args);
    assert.equal(usage.code, 2, args.join(' '));
    assert.match(usage.err, /^berth build: .*\n\nUsage: berth build/);
  }
  const help = await berthBuild(runtime, ['--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /^Usage: berth build/);
});

test('berth build -: the context as a tar on stdin', async () => {
  await using runtime = await temporaryRuntime();
  const tar = await tarOf([{ name: 'Dockerfile', content: `FROM ${BUSYBOX}\nCOPY msg /msg\nCMD ["cat", "/msg"]\n` }, { name: 'msg', content: 'from stdin\n' }]);
  const result = await berthBuild(runtime, ['-t', 'stdin:1', '-'], Readable.from([tar]));
  assert.equal(result.code, 0, result.err);
  assert.equal((await run(runtime, 'stdin:1')).stdout, 'from stdin\n');
});
