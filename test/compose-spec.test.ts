/**
 * Reading compose files: interpolation, project names and Docker Compose's
 * naming, short and long syntax, and errors that name the file, the service
 * and the key. Nothing here starts a container: `stacks.config()` only reads.
 */
import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ComposeError, normalizeProjectName } from '../lib/index.js';
import { loadStack } from '../lib/stack/compose-file.js';
import { projectDir } from './compose-helpers.js';

const config = (dir: string, options: Parameters<typeof loadStack>[1] = {}) => loadStack(dir, { env: {}, ...options }).spec;

/** The ComposeError `fn` throws, checked for its code and place. */
function composeError(fn: () => unknown, expected: { code?: string; service?: string; key?: string; message: RegExp }): ComposeError {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof ComposeError, `expected a ComposeError, got ${String(error)}`);
  assert.equal(error.code, expected.code ?? 'ERR_COMPOSE_INVALID');
  assert.equal(error.service, expected.service);
  assert.equal(error.key, expected.key);
  assert.match(error.message, expected.message);
  return error;
}

test('interpolation: ${VAR}, $VAR, defaults, alternatives, $$, nested defaults; the environment over .env', () => {
  using dir = projectDir('app', {
    '.env': '# comment\nTAG=from-dotenv\nexport PORT=8080\nQUOTED="a b\\nc"\nSINGLE=\'$raw\'\nEMPTY=\n',
    'compose.yaml': `
services:
  web:
    image: "registry.example/web:\${TAG}"
    command: ["$PORT", "\${UNSET:-fallback}", "\${EMPTY:-empty-default}", "\${EMPTY-kept-empty}", "\${TAG:+set}", "\${UNSET+x}", "$$HOME", "\${UNSET:-\${TAG}-nested}", "cost: 5$"]
    environment:
      QUOTED: \${QUOTED}
      SINGLE: \${SINGLE}
`,
  });
  const warnings: string[] = [];
  const spec = config(dir.path, { env: { TAG: 'from-env' }, onWarning: (w) => warnings.push(w) });
  assert.equal(spec.services.web!.image, 'registry.example/web:from-env', 'the environment wins over .env');
  assert.deepEqual(spec.services.web!.command, ['8080', 'fallback', 'empty-default', '', 'set', '', '$HOME', 'from-env-nested', 'cost: 5$']);
  assert.deepEqual(spec.services.web!.environment, { QUOTED: 'a b\nc', SINGLE: '$raw' });
  assert.equal(warnings.length, 0, warnings.join("\n"));
  // an unset variable without a default: '' and a warning naming it and where it is
  using other = projectDir('app', { 'compose.yaml': 'services:\n  web:\n    image: busybox\n    user: ${NOBODY}\n' });
  const spec2 = config(other.path, { onWarning: (w) => warnings.push(w) });
  assert.equal(spec2.services.web!.user, '');
  assert.match(warnings[0]!, /NOBODY variable is not set.*services: web: user/);
});

test('interpolation errors: ${VAR:?message} and a malformed ${ name the file, service and key', () => {
  using dir = projectDir('app', { 'compose.yaml': 'services:\n  db:\n    image: postgres\n    environment:\n      PASSWORD: ${DB_PASSWORD:?set DB_PASSWORD first}\n' });
  const file = join(dir.path, 'compose.yaml');
  const error = composeError(() => config(dir.path), { service: 'db', key: 'environment.PASSWORD', message: /required variable DB_PASSWORD is missing a value: set DB_PASSWORD first/ });
  assert.equal(error.file, file);
  assert.ok(error.message.startsWith(`${file}: service "db": environment.PASSWORD: `), error.message);
  assert.equal(config(dir.path, { env: { DB_PASSWORD: 's3cret' } }).services.db!.environment.PASSWORD, 's3cret');
  using bad = projectDir('app', { 'compose.yaml': 'services:\n  db:\n    image: "x:${TAG"\n' });
  composeError(() => config(bad.path), { service: 'db', key: 'image', message: /invalid interpolation format.*unclosed/ });
  using badName = projectDir('app', { 'compose.yaml': 'services:\n  db:\n    image: "x:${1TAG}"\n' });
  composeError(() => config(badName.path), { service: 'db', key: 'image', message: /invalid interpolation format/ });
});

test('project names: the directory normalised, name:, $COMPOSE_PROJECT_NAME, -p; Compose naming of containers, networks, volumes', () => {
  assert.equal(normalizeProjectName('My_Project.v2'), 'my_projectv2');
  assert.equal(normalizeProjectName('-_Web App'), 'webapp');
  using dir = projectDir('My.Shop_2', {
    'compose.yaml': 'services:\n  web:\n    image: busybox\n    volumes: [data:/data]\n    networks: [front, back]\n  worker:\n    image: busybox\n    container_name: the-worker\n' +
      'networks:\n  front: {}\n  back:\n    name: shared-back\n  outside:\n    external: true\nvolumes:\n  data: {}\n  ext:\n    external: true\n    name: kept\n',
  });
  const spec = config(dir.path);
  assert.equal(spec.name, 'myshop_2');
  assert.equal(spec.services.web!.container_name, 'myshop_2-web-1');
  assert.equal(spec.services.worker!.container_name, 'the-worker');
  assert.deepEqual(Object.fromEntries(Object.entries(spec.networks).map(([k, n]) => [k, n.name])), {
    front: 'myshop_2_front', back: 'shared-back', outside: 'outside', default: 'myshop_2_default',
  });
  assert.deepEqual(Object.fromEntries(Object.entries(spec.volumes).map(([k, v]) => [k, [v.name, v.external]])), { data: ['myshop_2_data', false], ext: ['kept', true] });
  assert.deepEqual(Object.keys(spec.services.web!.networks), ['front', 'back']);
  assert.equal(config(dir.path, { env: { COMPOSE_PROJECT_NAME: 'fromenv' } }).name, 'fromenv');
  assert.equal(config(dir.path, { projectName: 'given', env: { COMPOSE_PROJECT_NAME: 'fromenv' } }).name, 'given');
  composeError(() => config(dir.path, { projectName: 'Bad Name' }), { message: /project name "Bad Name" \(-p\) must be lower-case/ });
  using named = projectDir('whatever', { 'compose.yaml': 'name: ${STACK:-named}\nservices:\n  a:\n    image: busybox\n' });
  assert.equal(config(named.path).name, 'named');
  assert.equal(config(named.path, { env: { STACK: 'other' } }).name, 'other');
});

test('services: short and long ports and volumes, tmpfs, environment lists and env_file, healthcheck durations, limits', () => {
  using dir = projectDir('app', {
    'web.env': 'FROM_FILE=1\nOVERRIDDEN=file\n',
    'compose.yaml': `
services:
  web:
    image: busybox
    command: sh -c 'echo "hello world"'
    entrypoint: ["/bin/env"]
    env_file: [web.env, { path: missing.env, required: false }]
    environment: [OVERRIDDEN=list, FROM_HOST, NOT_IN_HOST]
    ports:
      - "80"
      - "8080:80/udp"
      - "127.0.0.1:9000-9001:9000-9001"
      - { target: 443, published: "8443", host_ip: 127.0.0.1, protocol: tcp }
    volumes:
      - data:/data:ro
      - ./site:/site
      - ~/cache:/cache:rslave
      - /anonymous
      - { type: bind, source: ../up, target: /up, read_only: true }
      - { type: volume, source: data, target: /copy, volume: { nocopy: true } }
      - { type: tmpfs, target: /scratch, tmpfs: { size: 64m, mode: 0o700 } }
    tmpfs: ["/run:size=1m,mode=755"]
    healthcheck: { test: "wget -q -O- localhost", interval: 1m30s, timeout: 500ms, retries: 5, start_period: 1h, start_interval: 2s }
    deploy: { resources: { limits: { cpus: "1.5", memory: 512M, pids: 64 } } }
    restart: on-failure:3
    labels: [team=web, tier]
    stop_grace_period: 1m
  off:
    image: busybox
    healthcheck: { disable: true }
    network_mode: none
volumes:
  data:
`,
  });
  const web = config(dir.path, { env: { FROM_HOST: 'host' } }).services.web!;
  assert.deepEqual(web.command, ['sh', '-c', 'echo "hello world"']);
  assert.deepEqual(web.entrypoint, ['/bin/env']);
  assert.deepEqual(web.environment, { FROM_FILE: '1', OVERRIDDEN: 'list', FROM_HOST: 'host' });
  assert.deepEqual(web.ports, [
    { target: 80, published: 0, protocol: 'tcp' },
    { target: 80, published: 8080, protocol: 'udp' },
    { target: 9000, published: 9000, host_ip: '127.0.0.1', protocol: 'tcp' },
    { target: 9001, published: 9001, host_ip: '127.0.0.1', protocol: 'tcp' },
    { target: 443, published: 8443, host_ip: '127.0.0.1', protocol: 'tcp' },
  ]);
  assert.deepEqual(web.volumes, [
    { type: 'volume', source: 'data', target: '/data', read_only: true },
    { type: 'bind', source: join(dir.path, 'site'), target: '/site', read_only: false, bind: { create_host_path: true } },
    { type: 'bind', source: join(homedir(), 'cache'), target: '/cache', read_only: false, bind: { propagation: 'rslave', create_host_path: true } },
    { type: 'volume', target: '/anonymous', read_only: false },
    { type: 'bind', source: join(dir.path, '../up'), target: '/up', read_only: true },
    { type: 'volume', source: 'data', target: '/copy', read_only: false, volume: { nocopy: true } },
    { type: 'tmpfs', target: '/scratch', read_only: false, tmpfs: { size: 64 << 20, mode: 0o700 } },
    { type: 'tmpfs', target: '/run', read_only: false, tmpfs: { size: 1 << 20, mode: 0o755 } },
  ]);
  assert.deepEqual(web.healthcheck, { test: ['CMD-SHELL', 'wget -q -O- localhost'], interval: 90_000, timeout: 500, retries: 5, start_period: 3_600_000, start_interval: 2000 });
  assert.deepEqual(web.deploy, { resources: { limits: { cpus: 1.5, memory: 512 << 20, pids: 64 } } });
  assert.equal(web.restart, 'on-failure:3');
  assert.equal(web.stop_grace_period, 60);
  assert.deepEqual(web.labels, {team: 'web'});
  const off = config(dir.path).services.off!;
  assert.deepEqual(off.healthcheck, { test: ['NONE'] });
  assert.equal(off.network_mode, 'none');
  assert.deepEqual(off.networks, {});
});

test('build: the short form, the long form (paths from the project directory, args as a map or a list, interpolated), the default image name', () => {
  using dir = projectDir('App', {
    '.env': 'TAG=v2\nFROM_ENV=yes\n',
    'compose.yaml': `
services:
  Web:
    build: ./web
  api:
    image: registry.example/api:\${TAG}
    build:
      context: ../shared
      dockerfile: docker/api.Dockerfile
      args:
        - VERSION=\${TAG}
        - FROM_ENV
        - UNSET_ARG
      target: runtime
      labels: { team: api }
      no_cache: true
      tags: [api:latest]
  inline:
    build:
      dockerfile_inline: "FROM localhost/busybox"
      args: { A: "1", FROM_ENV: }
`,
  });
  const { services } = config(dir.path);
  assert.equal(services.Web!.image, 'app-web', 'Compose v2: <project>-<service>, lower case');
  assert.deepEqual(services.Web!.build, { context: join(dir.path, 'web'), dockerfile: 'Dockerfile', args: {}, labels: {}, no_cache: false, pull: false, tags: [] });
  assert.equal(services.api!.image, 'registry.example/api:v2');
  assert.deepEqual(services.api!.build, {
    context: join(dir.path, '..', 'shared'), dockerfile: 'docker/api.Dockerfile', args: { VERSION: 'v2', FROM_ENV: 'yes' }, target: 'runtime',
    labels: { team: 'api' }, no_cache: true, pull: false, tags: ['api:latest'],
  });
  assert.deepEqual(services.inline!.build, { context: dir.path, dockerfile: 'Dockerfile', dockerfile_inline: 'FROM localhost/busybox', args: { A: '1', FROM_ENV: 'yes' }, labels: {}, no_cache: false, pull: false, tags: [] });
});

test('errors name the file, the service and the key', () => {
  const cases: { yaml: string; code?: string; service?: string; key?: string; message: RegExp }[] = [
    { yaml: 'services:\n  web:\n    build: { context: ., ssh: [default] }\n', code: 'ERR_COMPOSE_UNSUPPORTED', service: 'web', key: 'build.ssh', message: /is not supported by berth/ },
    { yaml: 'services:\n  web:\n    build: { cache_from: [x] }\n', code: 'ERR_COMPOSE_UNSUPPORTED', service: 'web', key: 'build.cache_from', message: /is not supported by berth/ },
    { yaml: 'services:\n  web:\n    build: { contxt: . }\n', service: 'web', key: 'build.contxt', message: /is not a known key here/ },
    { yaml: 'services:\n  web:\n    build: https://example.com/app.git\n', code: 'ERR_COMPOSE_UNSUPPORTED', service: 'web', key: 'build.context', message: /local directory only/ },
    { yaml: 'services:\n  web:\n    build: { no_cache: maybe }\n', service: 'web', key: 'build.no_cache', message: /must be true or false/ },
    { yaml: 'services:\n  web:\n    build: 5\n', service: 'web', key: 'build', message: /must be a mapping/ },
    { yaml: 'services:\n  web:\n    image: a\n    prots: ["80"]\n', service: 'web', key: 'prots', message: /is not a known key here/ },
    { yaml: 'services:\n  web:\n    image: a\n    ports: ["80:99999"]\n', service: 'web', key: 'ports[0]', message: /"99999" is not a port/ },
    { yaml: 'services:\n  web:\n    image: a\n    ports: [{ target: 80, protocol: sctp }]\n', service: 'web', key: 'ports[0].protocol', message: /tcp or udp/ },
    { yaml: 'services:\n  web:\n    image: a\n    volumes: ["data:/data"]\n', service: 'web', key: 'volumes[0]', message: /refers to volume "data", which the top-level volumes do not declare/ },
    { yaml: 'services:\n  web:\n    image: a\n    volumes: ["./x:relative"]\n', service: 'web', key: 'volumes[0]', message: /must be absolute/ },
    { yaml: 'services:\n  web:\n    image: a\n    networks: [back]\n', service: 'web', key: 'networks.back', message: /refers to network "back"/ },
    { yaml: 'services:\n  web:\n    image: a\n    depends_on: [db]\n', service: 'web', key: 'depends_on.db', message: /refers to service "db", which the file does not define/ },
    { yaml: 'services:\n  web:\n    image: a\n    depends_on: { a: { condition: service_ready } }\n  a:\n    image: a\n', service: 'web', key: 'depends_on.a.condition', message: /must be one of service_started, service_healthy, service_completed_successfully/ },
    { yaml: 'services:\n  web:\n    image: a\n    healthcheck: { test: true, interval: 10 parsecs }\n', service: 'web', key: 'healthcheck.test', message: /must be a list/ },
    { yaml: 'services:\n  web:\n    image: a\n    healthcheck: { interval: 10 parsecs }\n', service: 'web', key: 'healthcheck.interval', message: /must be a duration like '10s'/ },
    { yaml: 'services:\n  web:\n    image: a\n    deploy: { resources: { limits: { memory: lots } } }\n', service: 'web', key: 'deploy.resources.limits.memory', message: /must be a size/ },
    { yaml: 'services:\n  web:\n    image: a\n    restart: sometimes\n', service: 'web', key: 'restart', message: /must be no, always, unless-stopped or on-failure/ },
    { yaml: 'services:\n  web:\n    image: a\n    environment: 5\n', service: 'web', key: 'environment', message: /must be a mapping/ },
    { yaml: 'services:\n  web:\n    command: ls\n', service: 'web', message: /has no image/ },
    { yaml: 'services:\n  web:\n    image: a\n    environment: { "A=B": x }\n', service: 'web', key: 'environment', message: /"A=B" is not a variable name/ },
    { yaml: 'services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [c]\n  c:\n    image: x\n    depends_on: [a]\n', code: 'ERR_COMPOSE_CYCLE', key: 'services.a.depends_on', message: /dependency cycle: a → b → c → a/ },
    { yaml: 'services:\n  a:\n    image: x\n    depends_on: [a]\n', code: 'ERR_COMPOSE_CYCLE', service: 'a', key: 'depends_on.a', message: /cannot depend on itself/ },
    { yaml: 'services:\n  a:\n    image: x\nvolumes:\n  v:\n    driver: nfs\n', code: 'ERR_COMPOSE_UNSUPPORTED', key: 'volumes.v.driver', message: /local driver only/ },
    { yaml: 'services:\n  a:\n    image: x\nnetworks:\n  n:\n    driver: overlay\n', code: 'ERR_COMPOSE_UNSUPPORTED', key: 'networks.n.driver', message: /bridge driver only/ },
    { yaml: 'services: {}\n', key: 'services', message: /defines no service/ },
    { yaml: 'servics:\n  a:\n    image: x\n', key: 'servics', message: /is not a known key/ },
    { yaml: 'services:\n  a:\n    image: x\n    image: y\n', message: /invalid YAML at line 4, column 5: Map keys must be unique/ },
    { yaml: 'services:\n  a:\n    image: [x\n', message: /invalid YAML at line/ },
    { yaml: '- just\n- a list\n', message: /must be a mapping with a services key/ },
    // names that would reach outside berth's directories or into another object's
    { yaml: 'services:\n  a:\n    image: x\n    container_name: ../../escape\n', service: 'a', key: 'container_name', message: /"..\/..\/escape" is not a valid container name/ },
    { yaml: 'services:\n  ../x:\n    image: x\n', key: 'services', message: /"..\/x" is not a valid service name/ },
    { yaml: 'services:\n  a:\n    image: x\nvolumes:\n  v:\n    name: ../../etc\n', key: 'volumes.v.name', message: /"..\/..\/etc" is not a valid volume name/ },
    { yaml: 'services:\n  a:\n    image: x\nnetworks:\n  n:\n    name: a/b\n', key: 'networks.n.name', message: /"a\/b" is not a valid network name/ },
    { yaml: 'name: ../up\nservices:\n  a:\n    image: x\n', key: 'name', message: /project name "..\/up" \(name\) must be lower-case/ },
    { yaml: 'services:\n  a:\n    image: x\n    environment: { A: "x\\0y" }\n', service: 'a', key: 'environment.A', message: /must not contain NUL/ },
  ];
  for (const { yaml, ...expected } of cases) {
    using dir = projectDir('app', { 'compose.yaml': yaml });
    const error = composeError(() => config(dir.path), expected);
    assert.equal(error.file, join(dir.path, 'compose.yaml'));
  }
});

test('hostile YAML: an alias bomb is refused, not expanded', () => {
  const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 12; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
  using dir = projectDir('app', { 'compose.yaml': `x-bomb:\n${lines.map((l) => `  ${l}`).join('\n')}\nservices:\n  a:\n    image: x\n` });
  composeError(() => config(dir.path), { message: /invalid YAML.*(alias|Excessive)/i });
});

test('finding the file: compose.yaml first, docker-compose.yml too; none is a clear error', () => {
  using both = projectDir('app', { 'docker-compose.yml': 'services:\n  old:\n    image: x\n', 'compose.yaml': 'services:\n  new:\n    image: x\n' });
  assert.deepEqual(Object.keys(config(both.path).services), ['new']);
  using legacy = projectDir('app', { 'docker-compose.yml': 'services:\n  old:\n    image: x\n', 'docker-compose.override.yml': 'services:\n  old:\n    image: y\n' });
  const warnings: string[] = [];
  assert.deepEqual(config(legacy.path, { onWarning: (w) => warnings.push(w) }).services.old!.image, 'x');
  assert.deepEqual(warnings, [`${join(legacy.path, 'docker-compose.override.yml')} is not merged: berth reads one compose file`]);
  using none = projectDir('app', { 'README': 'nothing' });
  composeError(() => config(none.path), { code: 'ERR_NOT_FOUND', message: /no compose file here \(looked for compose.yaml, compose.yml, docker-compose.yaml, docker-compose.yml\)/ });
});
