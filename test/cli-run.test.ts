import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { arch, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { waitUntil } from './helpers.js';
import { assertExit, cliRoot } from './cli-helpers.js';

const BUSYBOX = 'localhost/busybox';

const COMMANDS = [
  'run', 'create', 'start', 'stop', 'restart', 'kill', 'pause', 'unpause', 'rm', 'wait', 'rename', 'ps', 'logs', 'exec', 'attach', 'top',
  'stats', 'port', 'inspect', 'diff', 'cp', 'export', 'commit', 'images', 'rmi', 'tag', 'history', 'save', 'load', 'import', 'pull', 'push',
  'login', 'logout', 'version', 'info', 'volume create', 'volume ls', 'volume rm', 'volume prune', 'volume inspect', 'network create',
  'network ls', 'network rm', 'network inspect', 'network connect', 'network disconnect', 'network prune', 'system df', 'system prune', 'system info',
  'container prune', 'image prune', 'update',
];

test('--version, --help on every command (exit 0), and Docker’s 125 for a bad command line', async () => {
  await using root = cliRoot();
  const version = root.berth(['--version']);
  assertExit(version, 0);
  assert.match(version.stdout, /^berth version \d+\.\d+\.\d+\n$/);
  const top = root.berth(['--help']);
  assertExit(top, 0);
  for (const name of ['run', 'ps', 'volume', 'network', 'system', 'compose']) assert.match(top.stdout, new RegExp(`^  ${name} `, 'm'));
  for (const command of COMMANDS) {
    const help = root.berth([...command.split(' '), '--help']);
    assertExit(help, 0, `${command} --help`);
    assert.match(help.stdout, new RegExp(`Usage:  berth ${command} `), command);
    assert.match(help.stdout, /--help +Print usage/, command);
  }
  for (const group of ['volume', 'network', 'system', 'container', 'image']) {
    const listing = root.berth([group]);
    assertExit(listing, 0, group);
    assert.match(listing.stdout, /Commands:\n/);
  }
  const unknown = root.berth(['frobnicate']);
  assertExit(unknown, 125);
  assert.match(unknown.stderr, /'frobnicate' is not a berth command/);
  const flag = root.berth(['ps', '--bogus']);
  assertExit(flag, 125);
  assert.equal(flag.stderr, "berth: unknown flag: --bogus\nSee 'berth ps --help'.\n");
  const missing = root.berth(['run']);
  assertExit(missing, 125);
  assert.match(missing.stderr, /"berth run" requires at least 1 argument/);
  const badPort = root.berth(['run', '-p', 'x:80', BUSYBOX, 'true']);
  assertExit(badPort, 125);
  assert.match(badPort.stderr, /invalid argument "x:80" for "-p" flag/);
  assert.deepEqual(readdirSync(root.path).includes('containers') ? readdirSync(join(root.path, 'containers')) : [], [], 'nothing created');
});

test('run: the command’s exit code, 127 not found, 126 not executable, 125 berth failed; --rm leaves nothing', async () => {
  await using root = cliRoot();
  const ran = root.berth(['run', '--rm', BUSYBOX, 'sh', '-c', 'echo ran; echo err >&2; exit 3']);
  assert.equal(ran.stdout, 'ran\n');
  assert.equal(ran.stderr, 'err\n');
  assertExit(ran, 3);

  const notFound = root.berth(['run', '--rm', '--name', 'broken', BUSYBOX, '/no/such/command']);
  assertExit(notFound, 127);
  assert.match(notFound.stderr, /^berth: .*\/no\/such\/command.*not in the image/);
  const notExecutable = root.berth(['run', '--rm', BUSYBOX, '/etc/passwd']);
  assertExit(notExecutable, 126);
  const noImage = root.berth(['run', '--rm', '--pull', 'never', 'localhost/nothing:here', 'true']);
  assertExit(noImage, 125);
  assert.match(noImage.stderr, /^berth: .*localhost\/nothing/);
  assert.deepEqual(readdirSync(join(root.path, 'containers')), [], '--rm removed the containers that never ran');

  // without --rm a container that failed to start stays, as Docker's
  assertExit(root.berth(['run', '--name', 'kept', BUSYBOX, '/no/such/command']), 127);
  assert.match(root.berth(['ps', '-a']).stdout, /\bCreated\s+kept\n/);

  // -i: our stdin is its stdin
  const cat = root.berth(['run', '--rm', '-i', BUSYBOX, 'sh', '-c', 'tr a-z A-Z'], { input: 'piped in\n' });
  assertExit(cat, 0);
  assert.equal(cat.stdout, 'PIPED IN\n');

  // a signal to berth goes to the container's command (Docker's sig-proxy)
  const trapping = root.start(['run', '--rm', '--name', 'trap', BUSYBOX, 'sh', '-c', 'trap "echo got-int; exit 9" INT; touch /tmp/set; while true; do sleep 0.1; done']);
  await waitUntil(() => root.berth(['exec', 'trap', 'test', '-e', '/tmp/set']).status === 0, 'the trap to be set');
  process.kill(trapping.pid, 'SIGINT');
  const trapped = await trapping.done;
  assert.equal(trapped.status, 9, trapped.stderr);
  assert.equal(trapped.stdout, 'got-int\n');

  // -d --rm: the monitor removes it once the command exits
  const detached = root.berth(['run', '-d', '--rm', '--name', 'brief', BUSYBOX, 'true']);
  assertExit(detached, 0);
  assert.match(detached.stdout, /^[0-9a-f]{64}\n$/);
  await waitUntil(() => !existsSync(join(root.path, 'names', 'brief')), 'the detached --rm container to be removed');
});

test('run: -t on a real terminal, and flags that shape the process (env, user, workdir, hostname, entrypoint, limits, security)', async () => {
  await using root = cliRoot();
  const onTty = root.onPty(['run', '--rm', '-it', BUSYBOX, 'sh', '-c', 'tty; exit 6'], '');
  assert.equal(onTty.status, 6, onTty.stdout);
  assert.match(onTty.stdout, /\/dev\/pts\/0/);

  const dir = mkdtempSync(join(tmpdir(), 'berth-cli-env-'));
  try {
    writeFileSync(join(dir, 'env'), '# a comment\nFROM_FILE=file value\n\nSHARED=from-file\n');
    const shaped = root.berth([
      'run', '--rm', '-e', 'A=1', '--env-file', join(dir, 'env'), '-e', 'SHARED=from-flag', '-w', '/tmp', '-u', '1234:5678', '--hostname', 'shaped',
      '--entrypoint', 'sh', '--read-only', '--tmpfs', '/scratch:size=1m', '--cap-drop', 'ALL', '--ulimit', 'nofile=100:200', '-m', '64m',
      '--memory-swap', '128m', '--cpus', '0.5', '--cpu-shares', '512', '--cpuset-cpus', '0', '--pids-limit', '50', '--init', '--security-opt', 'no-new-privileges',
      '--stop-signal', 'SIGINT', '--stop-timeout', '3', '--platform', `linux/${arch() === 'x64' ? 'amd64' : arch()}`, '--label', 'k=v',
      BUSYBOX, '-c',
      'echo "$A|$FROM_FILE|$SHARED"; id -u; id -g; pwd; hostname; ulimit -n; touch /x 2>/dev/null || echo read-only; touch /scratch/y && echo tmpfs; grep CapEff /proc/self/status; head -c 17 /proc/1/cmdline; echo; grep Cpus_allowed_list /proc/self/status',
    ]);
    assertExit(shaped, 0);
    assert.equal(
      shaped.stdout,
      '1|file value|from-flag\n1234\n5678\n/tmp\nshaped\n100\nread-only\ntmpfs\nCapEff:\t0000000000000000\n/sbin/docker-init\nCpus_allowed_list:\t0\n',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const privileged = root.berth(['run', '--rm', '--privileged', BUSYBOX, 'grep', 'CapEff', '/proc/self/status']);
  assertExit(privileged, 0);
  assert.doesNotMatch(privileged.stdout, /CapEff:\t0{16}/);
  const added = root.berth(['run', '--rm', '--cap-drop', 'ALL', '--cap-add', 'CHOWN', BUSYBOX, 'grep', 'CapEff', '/proc/self/status']);
  assert.equal(added.stdout, 'CapEff:\t0000000000000001\n');

  // a seccomp profile from a file: mkdir refused with EPERM, the rest allowed
  const dir2 = mkdtempSync(join(tmpdir(), 'berth-cli-seccomp-'));
  try {
    const profile = join(dir2, 'profile.json');
    writeFileSync(profile, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] }));
    const filtered = root.berth(['run', '--rm', '--security-opt', `seccomp=${profile}`, BUSYBOX, 'sh', '-c', 'mkdir /tmp/d || echo refused']);
    assertExit(filtered, 0);
    assert.match(filtered.stdout, /refused/);
    const unconfined = root.berth(['run', '--rm', '--security-opt', 'seccomp=unconfined', BUSYBOX, 'sh', '-c', 'mkdir /tmp/d && echo made']);
    assert.equal(unconfined.stdout, 'made\n');
  } finally {
    rmSync(dir2, { recursive: true, force: true });
  }
});

test('run: volumes (-v named, bind, anonymous + --volumes-from, --mount), -p 0:80 shown by port, -P, networks with aliases and --ip, healthchecks, restart', async () => {
  await using root = cliRoot();
  const host = mkdtempSync(join(tmpdir(), 'berth-cli-bind-'));
  try {
    writeFileSync(join(host, 'hello'), 'from the host\n');
    assertExit(root.berth(['run', '--rm', '-v', 'data:/data', BUSYBOX, 'sh', '-c', 'echo kept > /data/f']), 0);
    const read = root.berth(['run', '--rm', '-v', 'data:/data:ro', '-v', `${host}:/host:ro`, '--mount', 'type=tmpfs,target=/t', BUSYBOX, 'sh', '-c', 'cat /data/f /host/hello; touch /host/x 2>/dev/null || echo bind-ro; mount | grep -c " /t type tmpfs"']);
    assertExit(read, 0);
    assert.equal(read.stdout, 'kept\nfrom the host\nbind-ro\n1\n');
    assertExit(root.berth(['run', '--name', 'holder', '-v', '/shared', BUSYBOX, 'sh', '-c', 'echo across > /shared/f']), 0);
    const from = root.berth(['run', '--rm', '--volumes-from', 'holder', BUSYBOX, 'cat', '/shared/f']);
    assert.equal(from.stdout, 'across\n');
  } finally {
    rmSync(host, { recursive: true, force: true });
  }

  // -p 0:80: a free port, printed by `port`, serving from the host
  const web = root.berth(['run', '-d', '--name', 'web', '-p', '0:80', BUSYBOX, 'sh', '-c', 'mkdir /www && echo served > /www/index.html && exec httpd -f -p 80 -h /www']);
  assertExit(web, 0);
  const port = root.berth(['port', 'web', '80']);
  assertExit(port, 0);
  const match = /^127\.0\.0\.1:(\d+)\n$/.exec(port.stdout);
  assert.ok(match, port.stdout);
  assert.match(root.berth(['port', 'web']).stdout, new RegExp(`^80/tcp -> 127\\.0\\.0\\.1:${match[1]}\\n$`));
  let body = '';
  await waitUntil(async () => {
    body = await fetch(`http://127.0.0.1:${match[1]}/`).then((r) => r.text(), () => '');
    return body !== '';
  }, 'httpd to answer on the published port');
  assert.equal(body, 'served\n');
  assert.match(root.berth(['ps']).stdout, new RegExp(`127\\.0\\.0\\.1:${match[1]}->80/tcp\\s+web`));
  assertExit(root.berth(['port', 'web', '81']), 1);

  // -P publishes what the image exposes
  assertExit(root.berth(['commit', '-c', 'EXPOSE 8080', 'web', 'exposing:1']), 0);
  assertExit(root.berth(['run', '-d', '--name', 'all', '-P', 'exposing:1', 'httpd', '-f', '-p', '8080']), 0);
  assert.match(root.berth(['port', 'all']).stdout, /^8080\/tcp -> 127\.0\.0\.1:\d+\n$/);

  // a user network: names and aliases, a fixed address
  assertExit(root.berth(['network', 'create', '--subnet', '10.213.7.0/24', 'app']), 0);
  assertExit(root.berth(['run', '-d', '--name', 'server', '--network', 'app', '--network-alias', 'db', '--ip', '10.213.7.50', BUSYBOX, 'sleep', '60']), 0);
  const ping = root.berth(['run', '--rm', '--network', 'app', BUSYBOX, 'sh', '-c', 'ping -c 1 -W 5 db >/dev/null && ping -c 1 -W 5 server | head -1']);
  assertExit(ping, 0);
  assert.match(ping.stdout, /10\.213\.7\.50/);

  // healthcheck flags: ps shows the health
  assertExit(root.berth(['run', '-d', '--name', 'checked', '--health-cmd', 'test -e /tmp/ok', '--health-interval', '100ms', '--health-retries', '1', '--health-timeout', '5s', '--health-start-period', '0s', BUSYBOX, 'sh', '-c', 'touch /tmp/ok; sleep 60']), 0);
  await waitUntil(() => /\(healthy\)\s+checked/.test(root.berth(['ps']).stdout), 'ps to show checked as healthy');

  // --restart: the monitor starts it again
  assertExit(root.berth(['run', '-d', '--name', 'flaky', '--restart', 'on-failure:2', BUSYBOX, 'sh', '-c', 'exit 1']), 0);
  await waitUntil(() => root.berth(['inspect', '--format', '{{.State.RestartCount}} {{.State.Status}}', 'flaky']).stdout === '2 exited\n', 'two restarts');
});

test('create, start, stop, restart, kill, pause, unpause, wait, rm, rename: Docker’s output and states', async () => {
  await using root = cliRoot();
  const created = root.berth(['create', '--name', 'life', BUSYBOX, 'sleep', '60']);
  assertExit(created, 0);
  assert.match(created.stdout, /^[0-9a-f]{64}\n$/);
  assert.match(root.berth(['ps', '-a']).stdout, /"sleep 60"\s+.*Created\s+life/);
  assert.equal(root.berth(['start', 'life']).stdout, 'life\n');
  assert.match(root.berth(['ps']).stdout, /Up .*\s+life\n/);
  assert.equal(root.berth(['pause', 'life']).stdout, 'life\n');
  assert.match(root.berth(['ps']).stdout, /\(Paused\)\s+life\n/);
  assert.equal(root.berth(['unpause', 'life']).stdout, 'life\n');
  assert.equal(root.berth(['restart', '-t', '1', 'life']).stdout, 'life\n');
  assert.equal(root.berth(['inspect', '-f', '{{.State.Status}}', 'life']).stdout, 'running\n');
  assert.equal(root.berth(['kill', 'life']).stdout, 'life\n');
  const waited = root.berth(['wait', 'life']);
  assertExit(waited, 0);
  assert.equal(waited.stdout, '137\n');
  assert.match(root.berth(['ps', '-a']).stdout, /Exited \(137\) .* ago\s+life\n/);
  // kill -s: the signal the command gets
  assertExit(root.berth(['run', '-d', '--name', 'trapping', BUSYBOX, 'sh', '-c', 'trap "exit 7" TERM; touch /tmp/trapped; while true; do sleep 0.1; done']), 0);
  await waitUntil(() => root.berth(['exec', 'trapping', 'test', '-e', '/tmp/trapped']).status === 0, 'the trap to be set');
  assert.equal(root.berth(['kill', '-s', 'TERM', 'trapping']).stdout, 'trapping\n');
  assert.equal(root.berth(['wait', 'trapping']).stdout, '7\n');
  assertExit(root.berth(['rm', 'trapping']), 0);
  assertExit(root.berth(['start', 'life']), 0);
  assert.equal(root.berth(['stop', '-t', '1', 'life']).stdout, 'life\n');
  assertExit(root.berth(['rename', 'life', 'other']), 0);
  assert.match(root.berth(['ps', '-a', '--format', '{{.Names}}']).stdout, /^other$/m);
  assert.equal(root.berth(['rm', 'other']).stdout, 'other\n');
  const gone = root.berth(['rm', 'life', 'nothing']);
  assertExit(gone, 1);
  assert.match(gone.stderr, /life/);
  assert.equal(root.berth(['ps', '-aq']).stdout, '');
  // start -a: this start's output and the exit code (not an earlier run's output)
  assertExit(root.berth(['create', '--name', 'again', BUSYBOX, 'sh', '-c', 'echo started; exit 4']), 0);
  for (let run = 0; run < 2; run++) {
    const attached = root.berth(['start', '-a', 'again']);
    assertExit(attached, 4);
    assert.equal(attached.stdout, 'started\n');
  }
  assertExit(root.berth(['rm', 'again']), 0);
  // update: new limits on a running container
  assertExit(root.berth(['run', '-d', '--name', 'limited', BUSYBOX, 'sleep', '60']), 0);
  assert.equal(root.berth(['update', '--memory', '32m', '--pids-limit', '20', 'limited']).stdout, 'limited\n');
  assert.equal(root.berth(['inspect', '-f', '{{.Config.Resources.Memory}} {{.Config.Resources.PidsLimit}}', 'limited']).stdout, '32m 20\n');
  assertExit(root.berth(['update', 'limited']), 125);
  assertExit(root.berth(['rm', '-f', 'limited']), 0);
  // -f removes a running one
  assertExit(root.berth(['run', '-d', '--name', 'busy', BUSYBOX, 'sleep', '60']), 0);
  assertExit(root.berth(['rm', 'busy']), 1);
  assert.equal(root.berth(['rm', '-f', 'busy']).stdout, 'busy\n');
});
