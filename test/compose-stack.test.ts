/**
 * The acceptance for stacks: web (busybox httpd + a CGI script that
 * asks `redis` by name) and a real redis (Debian's redis-server in an image
 * made here), a named volume, depends_on: service_healthy. `up -d`, the
 * counter rises through the published port, `down` + `up` keeps the data,
 * `down -v` leaves nothing of the project on the host.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { composeCommand } from '../lib/cli/compose.js';
import { cgroupsNamed, mountsUnder, processesMentioning, temporaryRuntime, withDeadline } from './helpers.js';
import { fakeContext, importRedisImage, networkLeftoversOf, projectDir } from './compose-helpers.js';

const COMPOSE = `
services:
  web:
    image: localhost/redis:7
    command: httpd -f -p 8080 -h /www
    init: true
    ports: ["127.0.0.1::8080"]
    volumes: [./www:/www:ro]
    depends_on:
      redis:
        condition: service_healthy
  redis:
    image: localhost/redis:7
    volumes: [counts:/data]
    healthcheck:
      test: ["CMD", "redis-cli", "ping"]
      interval: 1s
      start_period: 30s
      start_interval: 100ms
volumes:
  counts: {}
`;
const CGI = `#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
redis-cli -h redis INCR hits
`;

async function count(port: number): Promise<number> {
  const response = await withDeadline(fetch(`http://127.0.0.1:${port}/cgi-bin/count`), 'the counter page');
  assert.equal(response.status, 200);
  return Number((await response.text()).trim());
}

test('compose: web + redis by name, a named volume, service_healthy; down keeps the data, down -v removes everything', { timeout: 240_000 }, async () => {
  await using runtime = await temporaryRuntime();
  await importRedisImage(runtime);
  using project = projectDir('Counter.App', { 'compose.yaml': COMPOSE, 'www/cgi-bin/count': CGI });
  const cli = (...args: string[]) => {
    const ctx = fakeContext(runtime);
    return withDeadline(composeCommand(['-f', `${project.path}/compose.yaml`, ...args], ctx), `compose ${args.join(' ')}`, 120_000).then((code) => ({ code, ...ctx }));
  };

  const up = await cli('up', '-d');
  assert.equal(up.code, 0, up.stderr);
  // the directory name normalised: counterapp; redis healthy before web started
  assert.match(up.stderr, /counterapp-redis-1 {2}Healthy[\s\S]*counterapp-web-1 {2}Created/);
  const ps = await runtime.stacks.ps('counterapp');
  assert.deepEqual(ps.map((c) => [c.service, c.name, c.status]), [['redis', 'counterapp-redis-1', 'running'], ['web', 'counterapp-web-1', 'running']]);
  assert.equal(ps[0]!.health, 'healthy');
  const port = ps[1]!.ports[0]!.hostPort;
  assert.equal(await count(port), 1);
  assert.equal(await count(port), 2);
  assert.equal(await count(port), 3);
  const listed = await cli('ps');
  assert.match(listed.stdout, /^NAME +IMAGE +SERVICE +STATUS +PORTS\n/);
  assert.match(listed.stdout, new RegExp(`counterapp-web-1 +localhost/redis:7 +web +running +127\\.0\\.0\\.1:${port}->8080/tcp`));
  const ids = ps.map((c) => c.id);

  // a second up with no change keeps both containers
  assert.equal((await cli('up', '-d')).code, 0);
  assert.deepEqual((await runtime.stacks.ps('counterapp')).map((c) => c.id), ids);

  const exec = await cli('exec', 'redis', 'redis-cli', 'GET', 'hits');
  assert.deepEqual([exec.code, exec.stdout.trim()], [0, '3']);
  const logs = await cli('logs', 'redis');
  assert.match(logs.stdout, /^redis-1 +\| .*Ready to accept connections/m);

  const down = await cli('down');
  assert.equal(down.code, 0, down.stderr);
  assert.deepEqual(await runtime.stacks.ps('counterapp'), []);
  assert.deepEqual((await runtime.networks.list()).map((n) => n.name), []);
  assert.deepEqual((await runtime.volumes.list()).map((v) => v.name), ['counterapp_counts'], 'down keeps the named volume');

  assert.equal((await cli('up', '-d')).code, 0);
  const secondIds = (await runtime.stacks.ps('counterapp')).map((c) => c.id);
  const again = (await runtime.stacks.ps('counterapp'))[1]!.ports[0]!.hostPort;
  assert.equal(await count(again), 4, 'the count survived down and up in the named volume');

  const networks = await runtime.networks.list();
  const downV = await cli('down', '-v');
  assert.equal(downV.code, 0, downV.stderr);
  assert.match(downV.stderr, /Volume counterapp_counts {2}Removed/);
  assert.deepEqual(await runtime.containers.list({ all: true }), []);
  assert.deepEqual(await runtime.networks.list(), []);
  assert.deepEqual(await runtime.volumes.list(), []);
  assert.deepEqual(readdirSync(`${runtime.root}/volumes`).filter((name) => !name.startsWith('.')), []);
  assert.deepEqual(networkLeftoversOf(runtime, networks, [...ids, ...secondIds]), []);
  assert.deepEqual(cgroupsNamed([...ids, ...secondIds]), []);
  assert.deepEqual(mountsUnder(runtime.root), []);
  assert.deepEqual(processesMentioning(runtime.root), []);
});
