/**
 * Readiness waits against a real server: PostgreSQL 15 from the host's Debian
 * packages (postgresql-15), its binaries, libraries and data files put into an
 * image in the test, pushed to a local registry and pulled from it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { ContainerExitedError, Wait, type Container, type Runtime } from '../lib/index.js';
import { temporaryRuntime } from './helpers.js';
import { busyboxTar, pushImage, requireTool, startRegistry, temporaryDir, type Registry } from './image-helpers.js';

const PG = '/usr/lib/postgresql/15';
const BINARIES = ['postgres', 'initdb', 'pg_isready'].map((name) => `${PG}/bin/${name}`);
const READY = 'database system is ready to accept connections';

/** The shared libraries `files` load (ldd), with the dynamic loader. */
function sharedLibraries(files: string[]): string[] {
  const output = execFileSync('ldd', files, { encoding: 'utf8' });
  return [...new Set([...output.matchAll(/(?:=> )?(\/\S+) \(0x/g)].map((m) => m[1]!))];
}

/** A layer with PostgreSQL's files and a `postgres` user (uid 999) owning /var/lib/postgresql. */
function postgresLayer(): Buffer {
  using dir = temporaryDir('berth-pg-');
  const put = (path: string) => {
    mkdirSync(join(dir.path, dirname(path)), { recursive: true });
    cpSync(path, join(dir.path, path), { dereference: true, recursive: true });
  };
  const plugins = ['plpgsql.so', 'dict_snowball.so'].map((name) => `${PG}/lib/${name}`);
  for (const path of [...BINARIES, ...plugins, ...sharedLibraries([...BINARIES, ...plugins]), '/usr/share/postgresql/15', '/usr/share/zoneinfo/UTC']) put(path);
  mkdirSync(join(dir.path, 'etc'));
  writeFileSync(join(dir.path, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\npostgres:x:999:999:PostgreSQL:/var/lib/postgresql:/bin/sh\n');
  writeFileSync(join(dir.path, 'etc/group'), 'root:x:0:\npostgres:x:999:\n');
  mkdirSync(join(dir.path, 'var/lib/postgresql'), { recursive: true });
  chownSync(join(dir.path, 'var/lib/postgresql'), 999, 999);
  mkdirSync(join(dir.path, 'tmp'));
  chmodSync(join(dir.path, 'tmp'), 0o1777);
  copyFileSync('/usr/share/zoneinfo/UTC', join(dir.path, 'etc/localtime'));
  return execFileSync('tar', ['--sort=name', '--mtime=@1600000000', '--numeric-owner', '-C', dir.path, '-cf', '-', '.'], { maxBuffer: 512 << 20 });
}

let registry: Registry;
let image: string;

before(async () => {
  requireTool(`${PG}/bin/postgres`, 'postgresql-15');
  registry = await startRegistry();
  image = `${registry.host}/postgres:15`;
  await pushImage(registry.host, 'postgres:15', [{
    layers: [busyboxTar(), postgresLayer()],
    config: {
      User: 'postgres',
      Env: [`PATH=${PG}/bin:/bin`, 'TZ=UTC', 'PGDATA=/var/lib/postgresql/data'],
      Cmd: ['sh', '-c', 'initdb -U postgres --auth=trust --no-locale -E UTF8 >/dev/null && exec postgres -k /tmp -c listen_addresses=127.0.0.1 "$@"', 'postgres'],
      Healthcheck: { Test: ['CMD', 'pg_isready', '-q', '-h', '127.0.0.1', '-U', 'postgres'], Interval: 1e9, StartInterval: 20e6, StartPeriod: 60e9 },
    },
  }]);
});

after(() => registry?.stop());

/** When the server logged that it accepts connections (the monitor's clock). */
async function readyLine(container: Container): Promise<number> {
  for await (const { line, time } of container.logs()) if (line.includes(READY)) return time.getTime();
  throw new Error('no ready line');
}

test('postgres pulled from the registry: port, log, command and healthcheck waits, measured against its ready line', async () => {
  await using runtime: Runtime & AsyncDisposable = await temporaryRuntime();
  await using db = await runtime.containers.create({ image, ports: { '5432': 0 }, init: true });
  await db.start();
  const resolvedAt: Record<string, number> = {};
  const timed = (name: string, strategy: ReturnType<typeof Wait.forHealthy>) =>
    db.waitFor(strategy, { timeout: 60_000 }).then(() => (resolvedAt[name] = Date.now()));
  await Promise.all([
    timed('listening port', Wait.forListeningPorts(5432)),
    timed('log line', Wait.forLogMessage(READY)),
    timed('command (pg_isready, every 20 ms)', Wait.forSuccessfulCommand(['pg_isready', '-q', '-h', '127.0.0.1', '-U', 'postgres'])),
    timed('healthcheck (start interval 20 ms)', Wait.forHealthy()),
  ]);
  const ready = await readyLine(db);
  for (const [name, at] of Object.entries(resolvedAt)) console.log(`# postgres ${name}: ${at - ready >= 0 ? '+' : ''}${at - ready} ms from "${READY}"`);
  // ready means ready: a client gets in (pg_isready's 0), through the published port too
  assert.equal((await db.exec(['pg_isready', '-h', '127.0.0.1', '-U', 'postgres'])).exitCode, 0);
  assert.equal((await db.inspect()).state.health?.status, 'healthy');
  assert.ok(db.mappedPort(5432) > 0);
  const stopped = await db.stop();
  assert.equal(stopped?.exitCode, 0, 'postgres shuts down cleanly at SIGTERM (smart shutdown) under berth-init');
});

test('postgres with a bad setting exits at once: the wait fails with its FATAL line, not at the timeout', async () => {
  await using runtime = await temporaryRuntime();
  await using db = await runtime.containers.create({ image, cmd: ['sh', '-c', 'initdb -U postgres --no-locale >/dev/null && exec postgres -c no_such_setting=1'] });
  const error = await db.start({ waitFor: Wait.forListeningPorts(5432), timeout: 600_000 }).then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof ContainerExitedError, String(error));
  assert.equal(error.exitCode, 1);
  assert.ok(error.logs.some((line) => line.includes('unrecognized configuration parameter "no_such_setting"')), error.logs.join('\n'));
});
