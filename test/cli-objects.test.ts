import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { assertExit, cliRoot, CLI } from './cli-helpers.js';

const BUSYBOX = 'localhost/busybox';

test('volume create, ls, inspect, rm, prune', async () => {
  await using root = cliRoot();
  assert.equal(root.berth(['volume', 'create', '--label', 'app=web', 'webdata']).stdout, 'webdata\n');
  assert.match(root.berth(['volume', 'create']).stdout, /^[0-9a-f]{64}\n$/);
  const listed = root.berth(['volume', 'ls']).stdout.split('\n');
  assert.match(listed[0]!, /^DRIVER +VOLUME NAME$/);
  assert.ok(listed.includes('local    webdata'), listed.join('\n'));
  assert.equal(root.berth(['volume', 'ls', '-q', '--filter', 'label=app=web']).stdout, 'webdata\n');
  assert.equal(root.berth(['volume', 'list', '--format', '{{.Name}} {{.Labels}}', '--filter', 'label=app']).stdout, 'webdata app=web\n');
  const inspected = JSON.parse(root.berth(['volume', 'inspect', 'webdata']).stdout) as [{ name: string; mountpoint: string }];
  assert.equal(inspected[0].name, 'webdata');
  assert.ok(existsSync(inspected[0].mountpoint));
  assert.equal(root.berth(['volume', 'inspect', '-f', '{{.Driver}} {{.Labels.app}}', 'webdata']).stdout, 'local web\n');

  assertExit(root.berth(['run', '--name', 'user', '-v', 'webdata:/data', BUSYBOX, 'sh', '-c', 'head -c 5000 /dev/zero > /data/f']), 0);
  const inUse = root.berth(['volume', 'rm', 'webdata']);
  assertExit(inUse, 1);
  assert.match(inUse.stderr, /webdata/);
  assertExit(root.berth(['volume', 'rm', 'nothing']), 1);
  assertExit(root.berth(['volume', 'rm', '-f', 'nothing']), 0);
  assertExit(root.berth(['rm', 'user']), 0);
  // prune: anonymous ones by default, named ones too with -a
  assertExit(root.berth(['run', '--rm', '-v', '/anonymous', BUSYBOX, 'true']), 0);
  assertExit(root.berth(['create', '--name', 'anon', '-v', '/anonymous', BUSYBOX, 'true']), 0);
  assertExit(root.berth(['rm', 'anon']), 0);
  const pruned = root.berth(['volume', 'prune', '-f']);
  assert.match(pruned.stdout, /^Deleted Volumes:\n[0-9a-f]{64}\n\nTotal reclaimed space: 0B\n$/);
  const all = root.berth(['volume', 'prune', '-af']);
  assert.match(all.stdout, /^Deleted Volumes:\n(webdata\n[0-9a-f]{64}|[0-9a-f]{64}\nwebdata)\n\nTotal reclaimed space: 5kB\n$/, 'the named ones, made by name or not');
  assert.equal(root.berth(['volume', 'ls', '-q']).stdout, '');
  const unknown = root.berth(['volume', 'frob']);
  assertExit(unknown, 125);
  assert.match(unknown.stderr, /'frob' is not a berth volume command/);
});

test('network create, ls, inspect, connect, disconnect, rm', async () => {
  await using root = cliRoot();
  const created = root.berth(['network', 'create', '--subnet', '10.214.3.0/24', '--label', 'team=a', 'backend']);
  assertExit(created, 0);
  assert.match(created.stdout, /^[0-9a-f]{64}\n$/);
  assertExit(root.berth(['network', 'create', '--internal', 'sealed']), 0);
  assertExit(root.berth(['network', 'create', '-d', 'overlay', 'nope']), 1);
  const listed = root.berth(['network', 'ls']).stdout.split('\n');
  assert.match(listed[0]!, /^NETWORK ID +NAME +DRIVER +SCOPE$/);
  assert.ok(listed.some((line) => /^[0-9a-f]{12} +backend +bridge +local$/.test(line)), listed.join('\n'));
  assert.equal(root.berth(['network', 'ls', '--format', '{{.Name}} {{.Subnet}}']).stdout.split('\n').filter((l) => l.startsWith('backend')).join(), 'backend 10.214.3.0/24');

  assertExit(root.berth(['run', '-d', '--name', 'member', BUSYBOX, 'sleep', '60']), 0);
  assertExit(root.berth(['network', 'connect', '--alias', 'api', '--ip', '10.214.3.9', 'backend', 'member']), 0);
  assert.match(root.berth(['exec', 'member', 'ip', '-4', 'addr']).stdout, /inet 10\.214\.3\.9\//);
  assert.equal(root.berth(['network', 'inspect', '-f', '{{.Name}} {{len .Containers}}', 'backend']).stdout, 'backend 1\n');
  const inspected = JSON.parse(root.berth(['network', 'inspect', 'backend']).stdout) as [{ subnet: string; containers: { name: string; aliases: string[] }[] }];
  assert.equal(inspected[0].subnet, '10.214.3.0/24');
  assert.deepEqual(inspected[0].containers.map((c) => [c.name, c.aliases]), [['member', ['api']]]);
  const busy = root.berth(['network', 'rm', 'backend']);
  assertExit(busy, 1);
  assertExit(root.berth(['network', 'disconnect', 'backend', 'member']), 0);
  assert.doesNotMatch(root.berth(['exec', 'member', 'ip', '-4', 'addr']).stdout, /10\.214\.3\.9/);
  assert.equal(root.berth(['network', 'rm', 'backend', 'sealed']).stdout, 'backend\nsealed\n');
  assert.doesNotMatch(root.berth(['network', 'ls']).stdout, /backend|sealed/);
});

test('system df, system prune, version, info; compose is routed to its module', async () => {
  await using root = cliRoot();
  assertExit(root.berth(['run', '--name', 'stopped', '-v', '/anon', BUSYBOX, 'sh', '-c', 'head -c 3000 /dev/zero > /big']), 0);
  assertExit(root.berth(['run', '-d', '--name', 'running', BUSYBOX, 'sleep', '60']), 0);
  assertExit(root.berth(['network', 'create', 'unused']), 0);
  const df = root.berth(['system', 'df']).stdout.split('\n');
  assert.match(df[0]!, /^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE$/);
  assert.match(df[1]!, /^Images +1 +1 +[\d.]+MB +0B \(0%\)$/);
  assert.match(df[2]!, /^Containers +2 +1 +3kB +3kB \(100%\)$/);
  assert.match(df[3]!, /^Local Volumes +1 +1 +0B +0B$/);

  const cancelled = root.berth(['system', 'prune'], { input: 'n\n' });
  assertExit(cancelled, 0);
  assert.match(cancelled.stdout, /WARNING! This will remove:[\s\S]*Are you sure you want to continue\? \[y\/N\] $/);
  assert.match(root.berth(['ps', '-a']).stdout, /stopped/);
  const pruned = root.berth(['system', 'prune', '--volumes'], { input: 'y\n' });
  assertExit(pruned, 0);
  assert.match(pruned.stdout, /Deleted Containers:\n[0-9a-f]{64}\n\nDeleted Networks:\nunused\n\nDeleted Volumes:\n[0-9a-f]{64}\n\nTotal reclaimed space: /);
  assert.equal(root.berth(['ps', '-a', '--format', '{{.Names}}']).stdout, 'running\n');
  assert.match(root.berth(['images', '-q']).stdout, /^[0-9a-f]{12}\n$/, 'an image in use stays');

  // Docker's management commands, and the prunes of one kind
  assertExit(root.berth(['container', 'run', '--name', 'old', BUSYBOX, 'true']), 0);
  assert.equal(root.berth(['container', 'ls', '-a', '--format', '{{.Names}}']).stdout, 'old\nrunning\n');
  assert.equal(root.berth(['image', 'ls', '--format', '{{.Repository}}']).stdout, 'localhost/busybox\n');
  assert.equal(root.berth(['image', 'inspect', '-f', '{{index .References 0}}', BUSYBOX]).stdout, 'localhost/busybox:latest\n');
  assertExit(root.berth(['container', 'inspect', BUSYBOX]), 1);
  const containerPrune = root.berth(['container', 'prune', '-f']);
  assert.match(containerPrune.stdout, /^Deleted Containers:\n[0-9a-f]{64}\n\nTotal reclaimed space: \d+B\n$/);
  assertExit(root.berth(['network', 'create', 'spare']), 0);
  assert.equal(root.berth(['network', 'prune', '-f']).stdout, 'Deleted Networks:\nspare\n\n');
  assertExit(root.berth(['tag', BUSYBOX, 'spare:1']), 0);
  assert.equal(root.berth(['image', 'prune', '-f']).stdout, 'Total reclaimed space: 0B\n', 'a tagged image is not dangling');
  assertExit(root.berth(['image', 'rm', 'spare:1']), 0);
  const refusedPrune = root.berth(['image', 'prune', '-a'], { input: 'no\n' });
  assert.match(refusedPrune.stdout, /WARNING! This will remove all images without at least one container associated to them\.\nAre you sure/);
  assert.match(root.berth(['images', '-q']).stdout, /^[0-9a-f]{12}\n$/);

  const version = root.berth(['version']);
  assertExit(version, 0);
  assert.match(version.stdout, /^Client:\n Version: +\d+\.\d+\.\d+\n Node version: +v\d+/);
  assert.match(version.stdout, /Engine \(in-process, no daemon\):\n/);
  assert.match(root.berth(['version', '--format', '{{.Client.Version}}']).stdout, /^\d+\.\d+\.\d+\n$/);
  const info = root.berth(['info']);
  assert.match(info.stdout, /^Server:\n Containers: 1\n  Running: 1\n  Paused: 0\n  Stopped: 0\n Images: 1\n/);
  assert.equal(root.berth(['system', 'info', '--format', '{{.ContainersRunning}}/{{.Containers}} {{.BerthRootDir}}']).stdout, `1/1 ${root.path}\n`);

  const compose = root.berth(['compose', '--help']);
  if (existsSync(join(CLI, '..', 'compose.js'))) {
    assert.doesNotMatch(compose.stderr, /compose: not available/, 'the compose module is built: berth compose reaches it');
  } else {
    assertExit(compose, 125);
    assert.equal(compose.stderr, 'compose: not available\n');
  }
});
