/**
 * Stacks through the SDK and `berth compose` with a fake context: idempotent
 * up and recreation of a changed service, depends_on conditions and order,
 * networks with aliases, what a service's keys become on the container,
 * and a refused file that leaves nothing behind.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { ComposeError, ContainerExitedError } from '../lib/index.js';
import { composeCommand } from '../lib/cli/compose.js';
import { collectAll, temporaryRuntime, waitUntil, withDeadline } from './helpers.js';
import { fakeContext, networkLeftoversOf, projectDir } from './compose-helpers.js';

const BUSYBOX = 'localhost/busybox';
const SLEEPER = { image: BUSYBOX, command: ['sleep', '600'], init: true };

test('up is idempotent: an unchanged service keeps its container, a changed one is recreated', { timeout: 120_000 }, async () => {
  await using runtime = await temporaryRuntime();
  const spec = (greeting: string) => ({ name: 'idem', services: { a: { ...SLEEPER, environment: { GREETING: greeting } }, b: SLEEPER } });
  const first = await runtime.stacks.up(spec('hello'));
  const again = await runtime.stacks.up(spec('hello'));
  assert.deepEqual(again.map((c) => c.id), first.map((c) => c.id));
  const events: string[] = [];
  const changed = await runtime.stacks.up(spec('bonjour'), { onProgress: (service, event) => events.push(`${service} ${event}`) });
  assert.notEqual(changed[0]!.id, first[0]!.id, 'a: its environment changed');
  assert.equal(changed[1]!.id, first[1]!.id, 'b: unchanged');
  assert.deepEqual(events.sort(), ['a recreated', 'a started', 'b running']);
  assert.equal((await runtime.stacks.exec('idem', 'a', ['sh', '-c', 'echo $GREETING'])).stdout, 'bonjour\n');
  // a stopped container of an unchanged service is started again, not recreated
  await (await runtime.containers.get('idem-b-1')).stop();
  const restarted = await runtime.stacks.up(spec('bonjour'));
  assert.equal(restarted[1]!.id, first[1]!.id);
  assert.equal(restarted[1]!.status, 'running');
  await runtime.stacks.down('idem');
});

test('depends_on: service_completed_successfully runs a one-shot first; a failing one stops up with its exit and output', { timeout: 120_000 }, async () => {
  await using runtime = await temporaryRuntime();
  const spec = (script: string) => ({
    name: 'jobs',
    services: {
      app: { ...SLEEPER, volumes: ['shared:/shared'], depends_on: { migrate: { condition: 'service_completed_successfully' } } },
      migrate: { image: BUSYBOX, command: ['sh', '-c', script], volumes: ['shared:/shared'] },
    },
    volumes: { shared: {} },
  });
  const containers = await runtime.stacks.up(spec('echo migrated > /shared/state'));
  assert.deepEqual(containers.map((c) => [c.service, c.status, c.exitCode]), [['app', 'running', null], ['migrate', 'exited', 0]]);
  assert.equal((await runtime.stacks.exec('jobs', 'app', ['cat', '/shared/state'])).stdout, 'migrated\n');
  await runtime.stacks.down('jobs', { volumes: true });

  const error = await runtime.stacks.up(spec('echo "no database" >&2; exit 3')).then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof ContainerExitedError, String(error));
  assert.equal(error.exitCode, 3);
  assert.match(error.message, /jobs-migrate-1 exited with code 3, not 0.*no database/s);
  assert.deepEqual((await runtime.stacks.ps('jobs')).map((c) => c.service), ['migrate'], 'app was never created');
  await runtime.stacks.down('jobs', { volumes: true });

  // service_healthy: an unhealthy dependency stops up with its check's output; one without a healthcheck is refused
  const healthy = (healthcheck: Record<string, unknown> | undefined) => ({
    name: 'health', services: { app: { ...SLEEPER, network_mode: 'none', depends_on: { db: { condition: 'service_healthy' } } }, db: { ...SLEEPER, network_mode: 'none', ...(healthcheck ? { healthcheck } : {}) } },
  });
  const unhealthy = await runtime.stacks.up(healthy({ test: 'echo still broken; exit 1', interval: '100ms', retries: 2 })).then(() => undefined, (e: unknown) => e);
  assert.equal((unhealthy as { code?: string }).code, 'ERR_UNHEALTHY', String(unhealthy));
  assert.match(String(unhealthy), /health-db-1 is unhealthy after 2 failed checks; the last exited 1: still broken/);
  await runtime.stacks.down('health');
  const none = await runtime.stacks.up(healthy(undefined)).then(() => undefined, (e: unknown) => e);
  assert.ok(none instanceof ComposeError, String(none));
  assert.deepEqual([none.service, none.key], ['app', 'depends_on.db.condition']);
  assert.match(none.message, /service db has no healthcheck \(neither in the file nor in its image\), so it cannot become healthy/);
  assert.deepEqual((await runtime.stacks.down('health')).containers, ['health-db-1'], 'app was never created');
});

test('networks: a service on two networks answers to its name and aliases on each; a service elsewhere does not see it', { timeout: 120_000 }, async () => {
  await using runtime = await temporaryRuntime();
  await runtime.stacks.up({
    name: 'nets',
    services: {
      api: { ...SLEEPER, networks: { front: null, back: { aliases: ['database', 'db.internal'] } } },
      client: { ...SLEEPER, networks: ['back'], depends_on: ['api'] },
      outsider: { ...SLEEPER, networks: ['front'], depends_on: ['api'] },
      loner: SLEEPER,
    },
    networks: { front: {}, back: { internal: true, labels: { tier: 'private' } } },
  });
  assert.deepEqual((await runtime.networks.list()).map((n) => n.name).sort(), ['nets_back', 'nets_default', 'nets_front']);
  const back = await runtime.networks.get('nets_back');
  assert.equal(back.internal, true);
  assert.deepEqual(back.labels, { tier: 'private', 'com.docker.compose.project': 'nets', 'com.docker.compose.network': 'back' });
  const hosts = async (service: string) => (await runtime.stacks.exec('nets', service, ['cat', '/etc/hosts'])).stdout;
  const api = (await runtime.containers.get('nets-api-1'));
  const apiBack = (await api.inspect()).networks.find((e) => e.network === 'nets_back')!;
  const clientHosts = await hosts('client');
  for (const name of ['api', 'database', 'db.internal', 'nets-api-1']) {
    assert.match(clientHosts, new RegExp(`^${apiBack.ip.replaceAll('.', '\\.')}\\s.*\\b${name.replaceAll('.', '\\.')}\\b`, 'm'), `client sees ${name}`);
  }
  // ping by name over the bridge
  assert.equal((await runtime.stacks.exec('nets', 'client', ['ping', '-c', '1', '-W', '5', 'database'])).exitCode, 0);
  assert.doesNotMatch(await hosts('outsider'), /database/, 'the aliases are for the back network only');
  assert.doesNotMatch(await hosts('loner'), /\bapi\b/);
  const networks = await runtime.networks.list();
  const ids = (await runtime.stacks.ps('nets')).map((c) => c.id);
  await runtime.stacks.down('nets');
  assert.deepEqual(await runtime.networks.list(), []);
  assert.deepEqual(networkLeftoversOf(runtime, networks, ids), []);
});

test('a service\'s keys on its container: labels, user, working_dir, tmpfs, limits, restart, init, entrypoint', { timeout: 120_000 }, async () => {
  await using runtime = await temporaryRuntime();
  using dir = projectDir('keys', { 'conf/app.conf': 'setting=1\n' });
  await runtime.stacks.up({
    services: {
      app: {
        image: BUSYBOX, entrypoint: 'sh -c', command: ['sleep 600'], user: '1000:1000', working_dir: '/work', init: true, restart: 'unless-stopped',
        labels: { team: 'web' }, tmpfs: '/scratch:size=1m', volumes: ['./conf:/conf:ro'], network_mode: 'none',
        deploy: { resources: { limits: { cpus: 0.5, memory: '64m', pids: 50 } } },
      },
    },
  }, { projectDir: dir.path });
  const info = await (await runtime.containers.get('keys-app-1')).inspect();
  assert.deepEqual(
    Object.fromEntries(Object.entries(info.config.labels).filter(([k]) => k !== 'com.docker.compose.config-hash')),
    {
      team: 'web', 'com.docker.compose.project': 'keys', 'com.docker.compose.service': 'app', 'com.docker.compose.container-number': '1',
      'com.docker.compose.oneoff': 'False', 'com.docker.compose.project.working_dir': dir.path, 'com.docker.compose.project.config_files': '<object>',
    },
  );
  assert.match(info.config.labels['com.docker.compose.config-hash']!, /^[0-9a-f]{64}$/);
  assert.deepEqual([info.config.user, info.config.workdir, info.config.init, info.config.restart, info.config.network], ['1000:1000', '/work', true, 'unless-stopped', 'none']);
  assert.deepEqual(info.config.cmd.slice(-3), ['sh', '-c', 'sleep 600']);
  assert.deepEqual([info.config.resources.cpus, info.config.resources.memory, info.config.resources.pidsLimit], [0.5, 64 << 20, 50]);
  const exec = await runtime.stacks.exec('keys', 'app', ['sh', '-c', 'id -u; cat /conf/app.conf; grep " /scratch " /proc/mounts']);
  assert.match(exec.stdout, /^1000\nsetting=1\ntmpfs \/scratch tmpfs .*size=1024k/);
  await runtime.stacks.down('keys');
});

test('userns_mode: auto gives the service a user namespace of its own; network_mode: slirp4netns its own stack', { timeout: 120_000 }, async () => {
  await using runtime = await temporaryRuntime();
  using dir = projectDir('userns', {});
  await runtime.stacks.up({
    services: {
      app: { ...SLEEPER, userns_mode: 'auto', network_mode: 'slirp4netns' },
    },
  }, { projectDir: dir.path });
  const info = await (await runtime.containers.get('userns-app-1')).inspect();
  assert.equal(info.config.userns?.mode, 'auto');
  assert.equal(info.config.network, 'slirp4netns');
  const exec = await runtime.stacks.exec('userns', 'app', ['sh', '-c', 'cat /proc/self/uid_map; ip -4 addr show tap0']);
  const [inside, outside] = exec.stdout.trim().split(/\s+/);
  assert.equal(inside, '0');
  assert.notEqual(outside, '0', 'the container\'s root is not host root');
  assert.match(exec.stdout, /inet 10\.0\.2\.100\//);
  await runtime.stacks.down('userns');
  await assert.rejects(runtime.stacks.up({ services: { app: { ...SLEEPER, userns_mode: 'keep-id' } } }, { projectDir: dir.path }), { code: 'ERR_COMPOSE_UNSUPPORTED' });
});

test('a refused file or a missing external network creates nothing', { timeout: 60_000 }, async () => {
  await using runtime = await temporaryRuntime();
  await assert.rejects(runtime.stacks.up({ name: 'bad', services: { a: { ...SLEEPER, ports: ['80:80:80:80'] } } }), ComposeError);
  const error = await runtime.stacks.up({
    name: 'bad', services: { a: { ...SLEEPER, volumes: ['v:/v'] }, b: { ...SLEEPER, networks: ['outside'] } }, volumes: { v: {} }, networks: { outside: { external: true } },
  }).then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof ComposeError);
  assert.equal(error.code, 'ERR_NOT_FOUND');
  assert.match(error.message, /<object>: networks.outside: external network outside does not exist/);
  using dir = projectDir('binds', {});
  const missing = await runtime.stacks.up({
    name: 'bad', services: { a: { ...SLEEPER, volumes: ['v:/v', { type: 'bind', source: './not-there', target: '/x' }] } }, volumes: { v: {} },
  }, { projectDir: dir.path }).then(() => undefined, (e: unknown) => e);
  assert.ok(missing instanceof ComposeError);
  assert.deepEqual([missing.code, missing.service, missing.key], ['ERR_NOT_FOUND', 'a', 'volumes[1]']);
  assert.match(missing.message, /the bind source .*\/binds\/not-there does not exist/);
  assert.deepEqual([await runtime.containers.list({ all: true }), await runtime.networks.list(), await runtime.volumes.list()], [[], [], []]);
  // the short syntax makes a missing source directory, as Docker does
  await runtime.stacks.up({ name: 'made', services: { a: { ...SLEEPER, network_mode: 'none', volumes: ['./made/here:/x'] } } }, { projectDir: dir.path });
  assert.ok(existsSync(join(dir.path, 'made/here')));
  await runtime.stacks.down('made');
});

test('up warns about orphans (services gone from the file) and down removes them; attached up follows the logs until the stack exits', { timeout: 60_000 }, async () => {
  await using runtime = await temporaryRuntime();
  await runtime.stacks.up({ name: 'orph', services: { old: { ...SLEEPER, network_mode: 'none' }, kept: { ...SLEEPER, network_mode: 'none' } } });
  const warnings: string[] = [];
  await runtime.stacks.up({ name: 'orph', services: { kept: { ...SLEEPER, network_mode: 'none' } } }, { onWarning: (w) => warnings.push(w) });
  assert.deepEqual(warnings, ['found orphan containers (orph-old-1) for this project: services no longer in the file (down or up with removeOrphans removes them)']);
  assert.deepEqual((await runtime.stacks.down('orph')).containers.sort(), ['orph-kept-1', 'orph-old-1']);
  await runtime.stacks.up({ name: 'orph', services: { old: { ...SLEEPER, network_mode: 'none' }, kept: { ...SLEEPER, network_mode: 'none' } } });
  await runtime.stacks.up({ name: 'orph', services: { kept: { ...SLEEPER, network_mode: 'none' } } }, { removeOrphans: true });
  assert.deepEqual((await runtime.stacks.ps('orph')).map((c) => c.name), ['orph-kept-1']);
  await runtime.stacks.down('orph');

  using dir = projectDir('attached', {
    'compose.yaml': `services:
  one:
    image: ${BUSYBOX}
    command: echo first
  two:
    image: ${BUSYBOX}
    command: sh -c 'echo second; echo oops >&2; exit 3'
`,
  });
  const ctx = fakeContext(runtime);
  assert.equal(await withDeadline(composeCommand(['-f', join(dir.path, 'compose.yaml'), 'up'], ctx), 'attached up'), 0);
  assert.match(ctx.stdout, /^one-1 +\| first$/m);
  assert.match(ctx.stdout, /^two-1 +\| second$/m);
  assert.match(ctx.stdout, /^two-1 +\| oops$/m);
  // Ctrl-C while attached stops the stack (Docker Compose's "Gracefully stopping...")
  using server = projectDir('interrupted', {
    'compose.yaml': `services:\n  srv:\n    image: ${BUSYBOX}\n    command: sh -c 'echo serving; exec sleep 600'\n    init: true\n    network_mode: none\n`,
  });
  const attached = fakeContext(runtime);
  const running = composeCommand(['-f', join(server.path, 'compose.yaml'), 'up'], attached);
  await waitUntil(() => attached.stdout.includes('serving'), 'the attached output');
  process.emit('SIGINT');
  assert.equal(await withDeadline(running, 'up to end at Ctrl-C'), 0);
  assert.match(attached.stderr, /Gracefully stopping\.\.\.[\s\S]*Container interrupted-srv-1 {2}Stopped/);
  assert.deepEqual((await runtime.stacks.ps('interrupted')).map((c) => c.status), ['exited']);
  await runtime.stacks.down('interrupted');

  const services = fakeContext(runtime);
  assert.equal(await composeCommand(['-f', join(dir.path, 'compose.yaml'), 'config', '--services'], services), 0);
  assert.equal(services.stdout, 'one\ntwo\n');
  await runtime.stacks.down('attached');
});

test('berth compose: config, up --wait, ps, logs -f ending when the stack stops, exec exit codes, restart, usage errors', { timeout: 180_000 }, async () => {
  await using runtime = await temporaryRuntime();
  using dir = projectDir('cli', {
    'compose.yaml': `
services:
  talker:
    image: ${BUSYBOX}
    command: ["sh", "-c", "echo hello from $$HOSTNAME-$\${WHO}; trap 'echo bye; exit 0' TERM; while :; do sleep 1; done"]
    environment: { WHO: "\${WHO:-nobody}" }
    healthcheck: { test: "true", interval: 1s, start_interval: 100ms, start_period: 10s }
  other:
    image: ${BUSYBOX}
    command: ["sh", "-c", "echo other started; exec sleep 600"]
    init: true
`,
  });
  const cli = async (...args: string[]) => {
    const ctx = fakeContext(runtime);
    const code = await withDeadline(composeCommand(['--project-directory', dir.path, ...args], ctx), `compose ${args.join(' ')}`, 90_000);
    return { code, stdout: ctx.stdout, stderr: ctx.stderr };
  };
  const config = await cli('config');
  assert.equal(config.code, 0, config.stderr);
  const printed = parse(config.stdout);
  assert.equal(printed.name, 'cli');
  assert.deepEqual(printed.services.talker.environment, { WHO: 'nobody' });
  assert.match(printed.services.talker.command[2], /\$\$HOSTNAME-\$\$\{WHO\}/, 'dollars escaped: the printed file reads back the same');

  const up = await cli('up', '--wait');
  assert.equal(up.code, 0, up.stderr);
  assert.match(up.stderr, /Container cli-talker-1 {2}Healthy/);
  const ps = await cli('ps');
  assert.match(ps.stdout, /cli-talker-1 +localhost\/busybox +talker +running \(healthy\)/);
  assert.match(ps.stdout, /cli-other-1 +localhost\/busybox +other +running\n/);
  assert.equal((await cli('ps', '-q')).stdout.split('\n').filter(Boolean).length, 2);

  const exec = await cli('exec', 'talker', 'sh', '-c', 'echo out; echo err >&2; exit 7');
  assert.deepEqual([exec.code, exec.stdout, exec.stderr], [7, 'out\n', 'err\n']);

  const following = cli('logs', '-f');
  const before = (await runtime.containers.get('cli-talker-1'));
  const startedAt = (await before.inspect()).state.startedAt;
  const restart = await cli('restart', 'talker');
  assert.equal(restart.code, 0, restart.stderr);
  assert.notEqual((await before.inspect()).state.startedAt, startedAt, 'restarted');
  const down = await cli('down');
  assert.equal(down.code, 0, down.stderr);
  const logs = await following;
  assert.equal(logs.code, 0, 'logs -f ended when the containers stopped');
  assert.match(logs.stdout, /^talker-1 +\| hello from [0-9a-f]{12}-nobody$/m);
  assert.match(logs.stdout, /^talker-1 +\| bye$/m);
  assert.match(logs.stdout, /^other-1 +\| other started$/m);

  const help = await cli('--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: berth compose/);
  const unknown = await cli('frobnicate');
  assert.deepEqual([unknown.code, unknown.stderr], [125, "berth compose: unknown command: frobnicate\nSee 'berth compose --help'.\n"]);
  const badFlag = await cli('up', '--detach-please');
  assert.equal(badFlag.code, 125);
  assert.match(badFlag.stderr, /Unknown option '--detach-please'/);
  const twice = await cli('-f', 'a.yaml', '-f', 'b.yaml', 'up');
  assert.deepEqual([twice.code, twice.stderr.split('\n')[0]], [125, 'berth compose: -f given twice: berth reads one compose file (no merging)']);
  const broken = await cli('-f', `${dir.path}/nope.yaml`, 'up');
  assert.equal(broken.code, 125);
  assert.match(broken.stderr, /nope\.yaml: no such file or directory/);
  assert.deepEqual(await collectAll(runtime.stacks.logs('cli'), 'logs of nothing'), []);
});
