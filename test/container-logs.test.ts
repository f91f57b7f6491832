import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Container, LogEntry, LogsOptions } from '../lib/index.js';
import { BUSYBOX, temporaryRuntime, withDeadline, collectAll } from './helpers.js';

function collect(container: Container, options: LogsOptions = {}): Promise<LogEntry[]> {
  return collectAll(container.logs(options), `the log entries (${JSON.stringify(options)})`);
}

const lines = (entries: LogEntry[]) => entries.map((e) => e.line);

test('logs of an exited container: lines in order with their times, by stream, tail, since and until', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({
    image: BUSYBOX, cmd: ['sh', '-c', 'for i in 1 2 3 4 5; do echo out-$i; sleep 0.05; echo err-$i >&2; sleep 0.05; done'],
  });
  const before = Date.now();
  await container.start();
  await withDeadline(container.wait(), 'the container to exit');

  const all = await collect(container);
  assert.deepEqual(lines(all), [1, 2, 3, 4, 5].flatMap((i) => [`out-${i}`, `err-${i}`]));
  assert.deepEqual(all.map((e) => e.stream), [1, 2, 3, 4, 5].flatMap(() => ['stdout', 'stderr']));
  for (const [i, entry] of all.entries()) {
    assert.ok(entry.time.getTime() >= before - 1000 && entry.time.getTime() <= Date.now());
    if (i > 0) assert.ok(entry.time >= all[i - 1]!.time, 'times never go back');
  }
  assert.deepEqual(lines(await collect(container, { stderr: false })), ['out-1', 'out-2', 'out-3', 'out-4', 'out-5']);
  assert.deepEqual(lines(await collect(container, { stdout: false, tail: 2 })), ['err-4', 'err-5']);
  assert.deepEqual(lines(await collect(container, { tail: 3 })), ['err-4', 'out-5', 'err-5']);
  assert.deepEqual(await collect(container, { tail: 0 }), []);
  assert.deepEqual(lines(await collect(container, { since: all[4]!.time })), lines(all.slice(4)));
  assert.deepEqual(lines(await collect(container, { until: all[4]!.time })), lines(all.slice(0, 4)));
  assert.deepEqual(lines(await collect(container, { since: all[2]!.time, until: all[6]!.time, tail: 2 })), ['out-3', 'err-3']);
  assert.deepEqual(lines(await collect(container, { since: all[9]!.time.getTime() / 1000 + 1 })), []);
  assert.equal((await collect(container, { since: '1h' })).length, 10);

  // as text, like `docker logs -t`
  let text = '';
  for await (const chunk of container.logStream({ timestamps: true, stderr: false, tail: 2 })) text += chunk;
  assert.match(text, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z out-4\n\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z out-5\n$/);
  text = '';
  for await (const chunk of container.logStream()) text += chunk;
  assert.equal(text.split('\n').filter(Boolean).length, 10);
});

test('follow delivers new lines as they come and ends when the container exits', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({
    image: BUSYBOX, cmd: ['sh', '-c', 'echo first; read go; for i in 1 2 3; do echo next-$i; sleep 0.1; done'], stdin: true,
  });
  await container.start();
  const seen: string[] = [];
  await withDeadline((async () => {
    for await (const entry of container.logs({ follow: true })) {
      seen.push(entry.line);
      if (entry.line === 'first') container.stdin!.end('go\n'); // more output only after we read the first line
    }
  })(), 'the followed log to end');
  assert.deepEqual(seen, ['first', 'next-1', 'next-2', 'next-3']);
  assert.equal((await container.inspect()).state.status, 'exited');
  // following an exited container ends after what is there; tail then follow
  assert.deepEqual(lines(await collect(container, { follow: true, tail: 1 })), ['next-3']);
});

test('follow keeps every line, in order, while the log rotates under it', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({
    image: BUSYBOX,
    cmd: ['sh', '-c', 'i=0; while [ $i -lt 300 ]; do i=$((i+1)); echo "line-$i"; [ $((i % 20)) = 0 ] && sleep 0.02; done'],
    log: { maxSize: '2k', maxFiles: 100 },
  });
  await container.start();
  const seen = lines(await collect(container, { follow: true }));
  assert.deepEqual(seen, Array.from({ length: 300 }, (_, i) => `line-${i + 1}`));
  const files = readdirSync((await container.inspect()).path).filter((f) => f.startsWith('container.log'));
  assert.ok(files.length > 5, `the log rotated (${files.length} files)`);
  // tail across rotated files
  assert.deepEqual(lines(await collect(container, { tail: 45 })), seen.slice(-45));
});

test('a 100 MB burst stays within the rotation limit, and tail gives the last lines', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({
    image: BUSYBOX,
    cmd: ['sh', '-c', 'yes "a line of output from a chatty container, repeated until 100 MB are written" | head -c 100000000; echo; i=0; while [ $i -lt 10 ]; do i=$((i+1)); echo last-$i; done'],
    log: { maxSize: '1m', maxFiles: 3 },
  });
  await container.start();
  assert.equal((await withDeadline(container.wait(), 'the container to exit')).exitCode, 0);
  const dir = (await container.inspect()).path;
  const files = readdirSync(dir).filter((f) => f.startsWith('container.log'));
  const total = files.reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
  assert.ok(files.length <= 3, `${files.join(' ')}`);
  assert.ok(total <= 3 * 1024 * 1024, `${total} bytes of log`);
  const tail = await collect(container, { tail: 10 });
  assert.deepEqual(lines(tail), Array.from({ length: 10 }, (_, i) => `last-${i + 1}`));
});

test('logs options are checked; a removed container has none', async () => {
  await using runtime = await temporaryRuntime();
  const container = await runtime.containers.create({ image: BUSYBOX, cmd: ['true'] });
  assert.deepEqual(await collect(container), []); // never started
  assert.throws(() => container.logs({ tail: -1 }), TypeError);
  assert.throws(() => container.logs({ stdout: false, stderr: false }), TypeError);
  assert.throws(() => container.logs({ since: 'yesterday' }), TypeError);
  await container.remove();
  assert.throws(() => container.logs(), { name: 'NotFoundError' });
});

test('a container killed mid-burst: every line it wrote is in the log, in order, across rotation', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({
    image: BUSYBOX,
    // numbered lines as fast as the shell's printf goes, far more than are written before the kill
    cmd: ['sh', '-c', 'echo go; seq 1 5000000 | sed "s/^/burst-line-/"'],
    log: { maxSize: '4m', maxFiles: 100 },
  });
  await container.start();
  // kill once the burst is under way (the first rotation happened)
  const dir = (await container.inspect()).path;
  const deadline = Date.now() + 20_000;
  while (!readdirSync(dir).includes('container.log.1')) {
    assert.ok(Date.now() < deadline, 'the log never rotated');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await container.kill('SIGKILL');
  assert.equal((await container.wait()).signal, 'SIGKILL');
  const seen = lines(await collect(container, {})).filter((line) => line.startsWith('burst-line-'));
  assert.ok(seen.length > 10_000, `a burst was logged (${seen.length} lines)`);
  // lines 1..n-1 complete and in order; the last may have been cut by the kill
  const whole = seen.slice(0, -1);
  whole.forEach((line, i) => assert.equal(line, `burst-line-${i + 1}`));
  assert.ok(`burst-line-${seen.length}`.startsWith(seen.at(-1)!), `the last line is a prefix of line ${seen.length}: ${seen.at(-1)}`);
});
