import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { waitUntil } from './helpers.js';
import { assertExit, cliRoot } from './cli-helpers.js';

const BUSYBOX = 'localhost/busybox';

test('ps: Docker’s columns, width-safe; -a -q -n --filter --no-trunc; --format with {{.Field}}, table and json', async () => {
  await using root = cliRoot();
  const long = 'a-container-name-much-longer-than-any-column-width-docker-would-give';
  assertExit(root.berth(['run', '--name', 'done', '--label', 'tier=batch', BUSYBOX, 'sh', '-c', 'exit 2']), 2);
  assertExit(root.berth(['run', '-d', '--name', long, '--label', 'tier=web', BUSYBOX, 'sh', '-c', 'sleep 60 # \x1b[2J\x1b]0;title\x07']), 0);
  const table = root.berth(['ps', '-a']).stdout.split('\n').filter(Boolean);
  assert.match(table[0]!, /^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$/);
  assert.equal(table.length, 3);
  // every row's NAMES starts where the header's does: a long status never runs into the next column
  const namesAt = table[0]!.indexOf('NAMES');
  const statusAt = table[0]!.indexOf('STATUS');
  for (const row of table.slice(1)) {
    assert.ok(row.slice(namesAt) === long || row.slice(namesAt) === 'done', row);
    assert.match(row.slice(statusAt), /^(Up|Exited \(2\)) .*? {3,}/);
  }
  // control characters in a command (an image's, say) never reach a terminal raw; a pipe gets the value as it is
  assert.doesNotMatch(root.berth(['ps', '-a']).stdout, /\x1b|\x07/);
  assertExit(root.berth(['create', '--name', 'noted', '--label', 'note=\x1b[2Jx\x07', BUSYBOX, 'true']), 0);
  const onPty = root.onPty(['ps', '-a', '--filter', 'name=noted', '--format', '{{.Labels}}']);
  assert.equal(onPty.stdout, 'note=?[2Jx?\r\n');
  assert.equal(root.berth(['ps', '-a', '--filter', 'name=noted', '--format', '{{.Labels}}']).stdout, 'note=\x1b[2Jx\x07\n', 'in a pipe: the value as it is, for scripts');
  assertExit(root.berth(['rm', 'noted']), 0);
  assert.equal(root.berth(['ps', '-q']).stdout.split('\n').filter(Boolean).length, 1);
  assert.match(root.berth(['ps', '-aq', '--no-trunc']).stdout, /^([0-9a-f]{64}\n){2}$/);
  assert.equal(root.berth(['ps', '-n', '1', '--format', '{{.Names}}']).stdout, `${long}\n`);
  assert.equal(root.berth(['ps', '-a', '--filter', 'status=exited', '--format', '{{.Names}} {{.State}} {{.Status}}']).stdout.replace(/\d+ seconds?|Less than a second/, 'T'), 'done exited Exited (2) T ago\n');
  assert.equal(root.berth(['ps', '-a', '--filter', 'label=tier=web', '--format', '{{.Names}}|{{.Labels}}|{{.Image}}']).stdout, `${long}|tier=web|${BUSYBOX}\n`);
  assert.equal(root.berth(['ps', '-a', '--filter', 'name=don', '-q']).stdout.length, 13);
  const formatted = root.berth(['ps', '-a', '--format', 'table {{.ID}}\\t{{.Names}}\\t{{.State}}']).stdout.split('\n');
  assert.match(formatted[0]!, /^CONTAINER ID +NAMES +STATE$/);
  assert.match(formatted[1]!, /^[0-9a-f]{12} +a-container-name-much-longer-than-any-column-width-docker-would-give +running$/);
  const json = root.berth(['ps', '--format', 'json']).stdout.trim().split('\n').map((line) => JSON.parse(line) as { Names: string; ID: string });
  assert.deepEqual(json.map((r) => r.Names), [long]);
  assert.equal(root.berth(['ps', '--format', '{{json .Names}} {{upper .State}} {{len .ID}}']).stdout, `"${long}" RUNNING 12\n`);
  const bad = root.berth(['ps', '--filter', 'color=red']);
  assertExit(bad, 125);
  const badTemplate = root.berth(['ps', '--format', '{{nosuch .X}}']);
  assertExit(badTemplate, 125);
  assert.match(badTemplate.stderr, /function "nosuch" not defined/);
});

test('logs: --tail, -t, --since/--until, stderr apart; -f ends when the container stops; attach gives the exit code', async () => {
  await using root = cliRoot();
  assertExit(root.berth(['run', '--name', 'both', BUSYBOX, 'sh', '-c', 'echo out; echo err >&2']), 0);
  const both = root.berth(['logs', 'both']);
  assert.equal(both.stdout, 'out\n');
  assert.equal(both.stderr, 'err\n');
  assertExit(root.berth(['run', '--name', 'said', BUSYBOX, 'sh', '-c', 'echo one; echo three']), 0);
  assert.equal(root.berth(['logs', '--tail', '1', 'said']).stdout, 'three\n');
  assert.match(root.berth(['logs', '-t', '-n', '1', 'said']).stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z three\n$/);
  assert.equal(root.berth(['logs', '--since', '2000-01-01T00:00:00Z', '--until', '2000-01-02T00:00:00Z', 'said']).stdout, '');
  assert.equal(root.berth(['logs', '--since', '1h', 'said']).stdout, 'one\nthree\n');
  assertExit(root.berth(['logs', '--tail', 'x', 'said']), 125);

  // -f: the lines as they come, and the end when the container stops
  assertExit(root.berth(['run', '-d', '--name', 'talker', BUSYBOX, 'sh', '-c', 'echo first; while [ ! -e /tmp/stop ]; do sleep 0.05; done; echo last']), 0);
  const follow = root.start(['logs', '-f', 'talker']);
  const attach = root.start(['attach', 'talker']);
  await waitUntil(() => root.berth(['logs', 'talker']).stdout === 'first\n', 'the first line');
  assertExit(root.berth(['exec', 'talker', 'touch', '/tmp/stop']), 0);
  const followed = await follow.done;
  assert.equal(followed.status, 0, followed.stderr);
  assert.equal(followed.stdout, 'first\nlast\n');
  const attached = await attach.done;
  assert.equal(attached.status, 0);
  assert.match(attached.stdout, /last\n$/);
});

test('exec: -e -w -u, exit codes (127 not found), -d in the background, -it through a real pty', async () => {
  await using root = cliRoot();
  assertExit(root.berth(['run', '-d', '--name', 'box', BUSYBOX, 'sleep', '120']), 0);
  const shaped = root.berth(['exec', '-e', 'X=y', '-w', '/etc', '-u', '42', 'box', 'sh', '-c', 'echo "$X $(pwd) $(id -u)"; exit 4']);
  assertExit(shaped, 4);
  assert.equal(shaped.stdout, 'y /etc 42\n');
  const input = root.berth(['exec', '-i', 'box', 'cat'], { input: 'through stdin\n' });
  assert.equal(input.stdout, 'through stdin\n');
  const missing = root.berth(['exec', 'box', '/no/such']);
  assertExit(missing, 127);
  assert.match(missing.stderr, /not in the container/);
  assertExit(root.berth(['exec', 'nobox', 'true']), 125);

  assertExit(root.berth(['exec', '-d', 'box', 'sh', '-c', 'sleep 0.2; touch /tmp/detached']), 0);
  await waitUntil(() => root.berth(['exec', 'box', 'test', '-e', '/tmp/detached']).status === 0, 'the detached exec to run');

  const pty = root.onPty(['exec', '-it', 'box', 'sh'], 'tty; echo "in $((40+2))"; exit 9\n');
  assert.equal(pty.status, 9, pty.stdout);
  assert.match(pty.stdout, /\/dev\/pts\/\d+\r*\n/);
  assert.match(pty.stdout, /in 42\r*\n/);
});

test('top, stats (--no-stream, and live on a terminal), inspect --format, diff, commit, export', async () => {
  await using root = cliRoot();
  assertExit(root.berth(['run', '-d', '--name', 'work', '--label', 'role=worker', BUSYBOX, 'sh', '-c', 'mkdir /made; echo x > /made/file; rm /etc/group; echo >> /etc/passwd; exec sleep 120']), 0);
  await waitUntil(() => root.berth(['exec', 'work', 'test', '-e', '/made/file']).status === 0, 'the changes');
  const top = root.berth(['top', 'work']).stdout.split('\n');
  assert.match(top[0]!, /^UID +PID +PPID +C +STIME +TTY +TIME +CMD$/);
  assert.match(top[1]!, /sleep 120$/);
  assert.match(root.berth(['top', 'work', '-o', 'pid,comm']).stdout, /^PID +COMMAND\n\d+ +sleep\n$/);
  const badPs = root.berth(['top', 'work', '-o', 'no-such-column']);
  assertExit(badPs, 1);
  assert.match(badPs.stderr, /^berth: ps -o no-such-column: /);

  const stats = root.berth(['stats', '--no-stream']).stdout.split('\n');
  assert.match(stats[0]!, /^CONTAINER ID +NAME +CPU % +MEM USAGE \/ LIMIT +MEM % +NET I\/O +BLOCK I\/O +PIDS$/);
  assert.match(stats[1]!, /^[0-9a-f]{12} +work +\d+\.\d\d% +[\d.]+\w?i?B \/ [\d.]+\w+ +[\d.]+% +-- +\S+ \/ \S+ +1$/);
  assert.equal(root.berth(['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}}', 'work']).stdout, 'work 1\n');
  // live: the table redrawn in place until interrupted
  const live = spawnSync('script', ['-qec', `timeout --preserve-status -s INT 2.5 ${process.execPath} ${join(import.meta.dirname, '..', 'dist', 'cli.js')} stats`, '/dev/null'], {
    env: { ...process.env, BERTH_ROOT: root.path },
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(live.status, 0, live.stdout);
  assert.ok(live.stdout.split('\x1b[2J\x1b[H').length >= 3, `at least two frames: ${JSON.stringify(live.stdout)}`);

  assert.equal(root.berth(['inspect', '--format', '{{.Name}} {{.State.Status}} {{index .Config.Labels "role"}} {{json .Config.Labels}}', 'work']).stdout, 'work running worker {"role":"worker"}\n');
  const document = JSON.parse(root.berth(['inspect', 'work', BUSYBOX]).stdout) as [{ name: string }, { references: string[] }];
  assert.equal(document[0].name, 'work');
  assert.deepEqual(document[1].references, ['localhost/busybox:latest']);
  const missing = root.berth(['inspect', 'nothing-here']);
  assertExit(missing, 1);
  assert.match(missing.stderr, /No such object: nothing-here/);

  assert.equal(root.berth(['diff', 'work']).stdout, 'C /etc\nD /etc/group\nC /etc/passwd\nA /made\nA /made/file\n');

  const committed = root.berth(['commit', '-m', 'saved work', '-a', 'me', 'work', 'work:1']);
  assertExit(committed, 0);
  assert.match(committed.stdout, /^sha256:[0-9a-f]{64}\n$/);
  assert.equal(root.berth(['run', '--rm', 'work:1', 'sh', '-c', 'cat /made/file; test -e /etc/group || echo no-group']).stdout, 'x\nno-group\n');

  const dir = mkdtempSync(join(tmpdir(), 'berth-cli-export-'));
  try {
    assertExit(root.berth(['export', '-o', join(dir, 'fs.tar'), 'work']), 0);
    const names = spawnSync('tar', ['-tf', join(dir, 'fs.tar')], { encoding: 'utf8' }).stdout.split('\n');
    assert.ok(names.includes('made/file') && names.includes('bin/busybox'), names.slice(0, 5).join(','));
    assert.ok(!names.includes('etc/group'));
    const piped = spawnSync('sh', ['-c', `${process.execPath} ${join(import.meta.dirname, '..', 'dist', 'cli.js')} export work | tar -t | grep -c made/file`], { env: { ...process.env, BERTH_ROOT: root.path }, encoding: 'utf8' });
    assert.equal(piped.stdout, '1\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cp: both ways and with -; what the container makes hostile (symlinks, setuid, a link swapped for a directory) writes nothing outside', async () => {
  await using root = cliRoot();
  const dir = mkdtempSync(join(tmpdir(), 'berth-cli-cp-'));
  const target = mkdtempSync(join(tmpdir(), 'berth-cli-cp-target-'));
  try {
    assertExit(root.berth(['run', '-d', '--name', 'files', BUSYBOX, 'sh', '-c', `mkdir -p /data/sub && echo a > /data/sub/a && echo s > /data/suid && chmod 4755 /data/suid && ln -s ${target} /data/link && exec sleep 120`]), 0);
    await waitUntil(() => root.berth(['exec', 'files', 'test', '-L', '/data/link']).status === 0, 'the files');
    assertExit(root.berth(['cp', 'files:/data', dir]), 0);
    assert.equal(readFileSync(join(dir, 'data', 'sub', 'a'), 'utf8'), 'a\n');
    assert.equal(statSync(join(dir, 'data', 'suid')).mode & 0o7777, 0o755, 'no setuid bit on the host');
    assert.equal(readlinkSync(join(dir, 'data', 'link')), target, 'a symlink stays a symlink');
    assertExit(root.berth(['cp', 'files:/data/sub/a', join(dir, 'renamed')]), 0);
    assertExit(root.berth(['cp', 'files:/data/sub/.', join(dir, 'contents')]), 0);
    assert.deepEqual(readdirSync(join(dir, 'contents')), ['a'], "a source ending in /. copies the directory's contents");
    assert.equal(readFileSync(join(dir, 'renamed'), 'utf8'), 'a\n');

    // the container swaps the link for a directory with a file: copied again, the file lands in the copy, never in the link's target
    assertExit(root.berth(['exec', 'files', 'sh', '-c', 'rm /data/link && mkdir /data/link && echo pwned > /data/link/planted']), 0);
    assertExit(root.berth(['cp', 'files:/data', dir]), 0);
    assert.deepEqual(readdirSync(target), []);
    assert.ok(lstatSync(join(dir, 'data', 'link')).isDirectory());
    assert.equal(readFileSync(join(dir, 'data', 'link', 'planted'), 'utf8'), 'pwned\n');

    // into the container: a host file, and a tar on stdin
    assertExit(root.berth(['cp', join(dir, 'renamed'), 'files:/tmp/']), 0);
    assert.equal(root.berth(['exec', 'files', 'cat', '/tmp/renamed']).stdout, 'a\n');
    const tar = spawnSync('tar', ['-c', '-C', join(dir, 'data'), 'sub'], { encoding: 'buffer' }).stdout;
    assertExit(root.berth(['cp', '-', 'files:/restored'], { input: tar.toString('latin1') }), 0);
    assert.equal(root.berth(['exec', 'files', 'cat', '/restored/sub/a']).stdout, 'a\n');
    const out = spawnSync('sh', ['-c', `${process.execPath} ${join(import.meta.dirname, '..', 'dist', 'cli.js')} cp files:/data/sub - | tar -t`], { env: { ...process.env, BERTH_ROOT: root.path }, encoding: 'utf8' });
    assert.deepEqual(out.stdout.split('\n').filter(Boolean).sort(), ['sub/', 'sub/a']);
    assertExit(root.berth(['cp', 'files:/a', 'files:/b']), 125);
    assert.ok(!existsSync(join(target, 'planted')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(target, { recursive: true, force: true });
  }
});
