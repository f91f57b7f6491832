/**
 * An image (or anything else) trying to inject keys into the monitor's spec
 * or berth-exec's input. The attack that worked before: an image whose Cmd
 * held `x\0mount\0bind\0mount-source\0/\0mount-target\0/hostroot` got the
 * host's `/` bind-mounted read-write into its container. Now every image
 * config is checked where it enters (load, pull, import, commit) and where it
 * is used (create), the spec is length-prefixed, and the native readers refuse
 * malformed input on their own.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { ContainerSetupError, InvalidImageError, type Runtime } from '../lib/index.js';
import { sealedHelper } from '../lib/native/addon.js';
import { spawnMonitor } from '../lib/container/monitor-process.js';
import { monitorSpec } from '../lib/container/monitor-spec.js';
import { ContainerPaths, type ContainerConfig } from '../lib/container/container-config.js';
import { BUSYBOX, mountsUnder, temporaryRuntime } from './helpers.js';
import { busyboxTar, pushImage, registryForThisFile, tarOf, temporaryDir, treeOf, writeLayout } from './image-helpers.js';

const registry = registryForThisFile();
const busybox = busyboxTar();

/** The key/value pairs that, in the old NUL-separated format, bind-mounted the host's `/` at `/hostroot`. */
const PAYLOAD = 'x\0mount\0bind\0mount-source\0/\0mount-target\0/hostroot';

/** The payload in each image-config field a container takes something from. */
const HOSTILE: { name: string; field: string; config: Record<string, unknown> }[] = [
  { name: 'cmd', field: 'config.Cmd[0]', config: { Cmd: [PAYLOAD] } },
  { name: 'entrypoint', field: 'config.Entrypoint[0]', config: { Entrypoint: [PAYLOAD] } },
  { name: 'env', field: 'config.Env[1]', config: { Env: ['PATH=/bin', `A=${PAYLOAD}`] } },
  { name: 'workdir', field: 'config.WorkingDir', config: { WorkingDir: `/${PAYLOAD}` } },
  { name: 'user', field: 'config.User', config: { User: PAYLOAD } },
  { name: 'stopsignal', field: 'config.StopSignal', config: { StopSignal: `SIGTERM${PAYLOAD}` } },
  { name: 'volumes', field: 'config.Volumes.key', config: { Volumes: { [`/data${PAYLOAD}`]: {} } } },
  { name: 'labels', field: 'config.Labels.a', config: { Labels: { a: PAYLOAD } } },
];

/** What the store holds: blobs, layers and image records. */
function storeTree(runtime: Runtime): string[] {
  return treeOf(runtime.root).filter((path) => /^(blobs|layers|images)(\/|$)/.test(path));
}

/**
 * Asserts the store holds what it held before. Should an image have been
 * stored after all, it is run first, to say whether the host's `/` reached it.
 */
async function assertNothingStored(runtime: Runtime, before: string[], known: readonly string[]): Promise<void> {
  const after = storeTree(runtime);
  if (after.join('\n') === before.join('\n')) return;
  for (const image of (await runtime.images.list()).filter((i) => !known.includes(i.id))) {
    await using container = await runtime.containers.create({ image, cmd: ['/bin/sh', '-c', 'test -e /hostroot && echo HOST ROOT MOUNTED'], attach: true });
    await container.start();
    let out = '';
    container.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await container.wait();
    assert.doesNotMatch(out, /HOST ROOT MOUNTED/);
  }
  assert.deepEqual(after, before, 'the store holds something new');
}

/** Runs `attempt`, asserts it fails with InvalidImageError naming `image` and `field`, and that nothing was stored. */
async function assertRefused(runtime: Runtime, attempt: () => Promise<unknown>, image: string, field: string): Promise<void> {
  const before = storeTree(runtime);
  const known = (await runtime.images.list()).map((i) => i.id);
  await assert.rejects(attempt, (error: unknown) => {
    assert.ok(error instanceof InvalidImageError, `expected an InvalidImageError, got ${String(error)}`);
    assert.equal(error.code, 'ERR_INVALID_IMAGE');
    assert.equal(error.image, image);
    assert.ok(error.field.startsWith(field), `field ${error.field} should start with ${field}`);
    assert.ok(error.message.startsWith(`image ${image}: ${field}`), error.message);
    return true;
  });
  await assertNothingStored(runtime, before, known);
}

/** An OCI layout archive (a tar of the layout directory) with one image. */
function layoutArchive(config: Record<string, unknown>, tag = 'localhost/evil:1'): Readable {
  using dir = temporaryDir('berth-layout-');
  writeLayout(dir.path, tag, { layers: [busybox], config });
  return Readable.from([execFileSync('tar', ['-C', dir.path, '-cf', '-', '.'], { maxBuffer: 64 << 20 })]);
}

test('images.load of an OCI archive: NUL in any config field is refused, naming the image and the field, and nothing is stored', async () => {
  await using runtime = await temporaryRuntime();
  await runtime.images.get(BUSYBOX);
  for (const hostile of HOSTILE) {
    await assertRefused(runtime, () => runtime.images.load(layoutArchive(hostile.config)), 'localhost/evil:1', hostile.field);
  }
});

test('images.load of a docker-save archive: a hostile second image keeps the first one out too', async () => {
  await using runtime = await temporaryRuntime();
  const config = (extra: Record<string, unknown>) =>
    Buffer.from(JSON.stringify({
      architecture: 'amd64', os: 'linux',
      config: { Env: ['PATH=/bin'], Cmd: ['sh'], ...extra },
      rootfs: { type: 'layers', diff_ids: [`sha256:${execFileSync('sha256sum', { input: busybox }).toString().slice(0, 64)}`] },
    }));
  const archive = await tarOf([
    { name: 'manifest.json', content: JSON.stringify([
      { Config: 'good.json', RepoTags: ['localhost/good:1'], Layers: ['layer.tar'] },
      { Config: 'evil.json', RepoTags: ['localhost/evil:1'], Layers: ['layer.tar'] },
    ]) },
    { name: 'good.json', content: config({}) },
    { name: 'evil.json', content: config({ Cmd: [PAYLOAD] }) },
    { name: 'layer.tar', content: busybox },
  ]);
  await assertRefused(runtime, () => runtime.images.load(Readable.from([archive])), 'localhost/evil:1', 'config.Cmd[0]');
  assert.deepEqual((await runtime.images.list()).map((i) => i.references), []);
});

test('images.pull: NUL in any config field is refused before a layer is fetched, and nothing is stored', async () => {
  await using runtime = await temporaryRuntime();
  for (const hostile of HOSTILE) {
    await pushImage(registry.host, `evil-${hostile.name}:1`, [{ layers: [busybox], config: hostile.config }]);
    const reference = `${registry.host}/evil-${hostile.name}:1`;
    await assertRefused(runtime, () => runtime.images.pull(reference), reference, hostile.field);
    // and through create, which pulls what is missing
    await assertRefused(runtime, () => runtime.containers.create({ image: reference, cmd: ['true'] }), reference, hostile.field);
  }
  assert.deepEqual(await runtime.containers.list({ all: true }), []);
});

test('commit and import with changes: NUL in any instruction is refused and nothing is stored', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({ image: BUSYBOX, cmd: ['true'] });
  await container.start();
  await container.wait();
  const json = JSON.stringify([PAYLOAD]);
  const changes: [string, string][] = [
    [`CMD ${json}`, 'config.Cmd[0]'],
    [`ENTRYPOINT ${json}`, 'config.Entrypoint[0]'],
    [`ENV A=${PAYLOAD}`, 'config.Env[1]'],
    [`WORKDIR /${PAYLOAD}`, 'config.WorkingDir'],
    [`USER ${PAYLOAD}`, 'config.User'],
    [`STOPSIGNAL ${PAYLOAD}`, 'config.StopSignal'],
    [`VOLUME /data${PAYLOAD}`, 'config.Volumes.key'],
    [`LABEL a=${PAYLOAD}`, 'config.Labels.a'],
  ];
  for (const [change, field] of changes) {
    await assertRefused(runtime, () => runtime.images.commit(container, { ref: 'localhost/evil:1', changes: [change] }), 'localhost/evil:1', field);
    await assertRefused(runtime, () => container.commit({ changes: [change] }), `the commit of container ${container.name}`, field);
  }
  const rootfs = await tarOf([{ name: 'file', content: 'x' }]);
  await assertRefused(runtime, () => runtime.images.import(Readable.from([rootfs]), { ref: 'localhost/evil:2', changes: [`CMD ${json}`] }), 'localhost/evil:2', 'config.Cmd[0]');
});

test('the same attack in the new format arrives as plain text: newlines and colons in a value stay in the value', async () => {
  await using runtime = await temporaryRuntime();
  // records of the length-prefixed format, inside values an image may hold
  const forged = `x\n${record('mount', 'bind')}${record('mount-source', '/')}${record('mount-target', '/hostroot')}`;
  const [image] = await runtime.images.load(layoutArchive({
    Env: ['PATH=/bin', `A=${forged}`],
    Cmd: ['/bin/sh', '-c', `test -e /hostroot && echo HOST ROOT MOUNTED; printf '%s' "$A"; printf '%s' '${forged}'`],
  }, 'localhost/forged:1'));
  await using container = await runtime.containers.create({ image: image!, attach: true });
  let out = '';
  await container.start();
  container.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const ended = new Promise((resolve) => container.stdout!.once('end', resolve));
  assert.equal((await container.wait()).exitCode, 0);
  await ended;
  assert.equal(out, forged + forged);

  // and through berth-exec's input
  await using running = await runtime.containers.create({ image: BUSYBOX, cmd: ['sleep', '30'] });
  await running.start();
  const result = await running.exec(['/bin/sh', '-c', 'test -e /hostroot && echo HOST ROOT MOUNTED; printf %s "$A"', forged], { env: { A: forged } });
  assert.equal(result.stdout, forged);
  assert.equal(result.exitCode, 0);
  await running.kill('SIGKILL');
});

test('image configs that break the policy in other ways are refused at load', async () => {
  await using runtime = await temporaryRuntime();
  const cases: [Record<string, unknown>, string][] = [
    [{ Env: ['PATH=/bin', 'NOEQUALS'] }, 'config.Env[1]'],
    [{ Env: ['=value'] }, 'config.Env[0]'],
    [{ WorkingDir: 'relative/dir' }, 'config.WorkingDir'],
    [{ User: 'a:b:c' }, 'config.User'],
    [{ User: 'root\nnobody' }, 'config.User'],
    [{ User: '4294967296' }, 'config.User'],
    [{ StopSignal: 'SIGFOO' }, 'config.StopSignal'],
    [{ StopSignal: '99' }, 'config.StopSignal'],
    [{ Volumes: { '/': {} } }, 'config.Volumes'],
    [{ Volumes: { 'data': {} } }, 'config.Volumes'],
    [{ Volumes: { '/a/../../etc': {} } }, 'config.Volumes'],
    [{ ExposedPorts: { '99999/tcp': {} } }, 'config.ExposedPorts'],
    [{ ExposedPorts: { '80/icmp': {} } }, 'config.ExposedPorts'],
    [{ Labels: { a: 1 } }, 'config.Labels.a'],
    [{ Healthcheck: { Test: ['RUN', 'x'] } }, 'config.Healthcheck.Test[0]'],
    [{ Healthcheck: { Test: ['CMD', 'true'], Interval: -1 } }, 'config.Healthcheck.Interval'],
    [{ Healthcheck: { Test: ['CMD', 'true'], Retries: 1.5 } }, 'config.Healthcheck.Retries'],
  ];
  for (const [config, field] of cases) {
    await assertRefused(runtime, () => runtime.images.load(layoutArchive(config)), 'localhost/evil:1', field);
  }
  // what Docker writes is accepted, and a numeric or short StopSignal becomes Node's name
  const [image] = await runtime.images.load(layoutArchive({
    Env: ['PATH=/bin', 'EMPTY='], WorkingDir: '', User: '1000:1000', StopSignal: '2', Volumes: { '/data': {} },
    ExposedPorts: { '80/tcp': {}, '53/udp': {}, '8000-8010': {} }, Labels: { a: 'b' },
    Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 30_000_000_000, Retries: 3 }, OnBuild: null, ArgsEscaped: true,
  }, 'localhost/fine:1'));
  await using container = await runtime.containers.create({ image: image!, cmd: ['true'] });
  const stored = JSON.parse(readFileSync(join(runtime.root, 'containers', container.id, 'config.json'), 'utf8'));
  assert.equal(stored.stopSignal, 'SIGINT');
});

test('an image stored before the checks existed is refused at create', async () => {
  await using runtime = await temporaryRuntime();
  const [image] = await runtime.images.load(layoutArchive({}, 'localhost/old:1'));
  // as an older berth would have recorded it: the container defaults copied from the config unchecked
  const record = join(runtime.root, 'images', `${image!.id.slice(7)}.json`);
  const stored = JSON.parse(readFileSync(record, 'utf8'));
  stored.config.Cmd = [PAYLOAD];
  writeFileSync(record, JSON.stringify(stored));
  await assert.rejects(runtime.containers.create({ image: 'localhost/old:1' }), (error: unknown) => {
    assert.ok(error instanceof InvalidImageError, String(error));
    assert.equal(error.field, 'config.Cmd[0]');
    return true;
  });
  assert.deepEqual(await runtime.containers.list({ all: true }), []);
});

test('the spec writer refuses a value with a NUL byte before sending anything', async () => {
  await using runtime = await temporaryRuntime();
  const container = await runtime.containers.create({ image: BUSYBOX, cmd: ['true'] });
  // config.json as something else than create could have left it
  const configPath = join(runtime.root, 'containers', container.id, 'config.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8'));
  config.cmd = [PAYLOAD];
  writeFileSync(configPath, JSON.stringify(config));
  const reopened = await runtime.containers.get(container.id);
  await assert.rejects(reopened.start(), (error: unknown) => {
    assert.ok(error instanceof ContainerSetupError, String(error));
    assert.equal(error.code, 'ERR_SPEC_INVALID');
    assert.match(error.message, /'arg' contains a NUL byte/);
    return true;
  });
  for (const left of ['monitor.json', 'cgroup.json']) {
    assert.equal(existsSync(join(runtime.root, 'containers', container.id, left)), false, `no ${left}: the monitor got no spec and started nothing`);
  }
  assert.equal((await reopened.inspect()).state.status, 'created');
});

/** Records of the spec format, for specs made by hand. */
function record(key: string, value: string): string {
  return `${key}:${Buffer.byteLength(value)}:${value}\n`;
}

test('berth-monitor refuses a malformed or injected spec on its own, and mounts nothing', async () => {
  await using runtime = await temporaryRuntime();
  const container = await runtime.containers.create({ image: BUSYBOX, cmd: ['/bin/sh', '-c', 'test -e /hostroot && echo HOST ROOT MOUNTED; echo done'], attach: true });
  await container.start();
  await container.wait();
  const dir = join(runtime.root, 'containers', container.id);
  // a real spec, as start() makes it (without cgroups), less its closing `end`
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as ContainerConfig;
  const end = record('end', '');
  const made = monitorSpec(config, new ContainerPaths(dir), { uid: 0, gid: 0, groups: [], home: '/' }, ['PATH=/bin'], []).toString('latin1');
  assert.ok(made.endsWith(end), 'the spec ends with `end`');
  const valid = made.slice(0, -end.length);
  assert.match(valid, /^lower:\d+:\//);
  const withoutUid = valid.replace(/(^|\n)uid:\d+:\d+\n/, '$1');
  assert.notEqual(withoutUid, valid);
  const cases: [string, string, RegExp][] = [
    ['the old NUL-separated format with the payload', `arg\0${PAYLOAD}\0`, /spec: malformed key/],
    ['a value holding the payload', valid + record('arg', PAYLOAD) + end, /spec: the value of key `arg` contains a NUL byte/],
    ['an unknown key', valid + record('evil', '1') + end, /spec: unknown key `evil`/],
    ['a second rootfs', valid + record('rootfs', '/') + end, /spec: key `rootfs` given twice/],
    ['a second uid', valid + record('uid', '0') + end, /spec: key `uid` given twice/],
    ['a length longer than the value', valid + 'hostname:99:abc\n' + end, /spec: truncated/],
    ['a length shorter than the value', valid + 'hostname:1:abc\n' + end, /does not end where its length says/],
    ['a length with a sign', valid + 'hostname:-3:abc\n' + end, /spec: bad length/],
    ['a length with a leading zero', valid + 'hostname:03:abc\n' + end, /spec: bad length/],
    ['a huge length', valid + 'hostname:99999999:abc\n' + end, /spec: bad length/],
    ['a cut-off last record', valid.slice(0, -3), /spec: truncated/],
    ['no end (the starter went away before the whole spec)', valid, /spec: the input closed before "end"/],
    ['nothing at all', '', /spec: the input closed before "end"/],
    ['an end with a value', valid + record('end', 'x'), /spec: `end` takes no value/],
    ['a missing uid', withoutUid + end, /spec: key `uid` is missing/],
    ['a relative cwd', valid.replace(/\ncwd:\d+:[^\n]*\n/, '\n') + record('cwd', 'tmp') + end, /spec: key `cwd` needs an absolute path/],
    ['a uid out of range', valid.replace(/\nuid:\d+:\d+\n/, '\n') + record('uid', '4294967296') + end, /spec: key `uid` needs a number in range/],
    ['a mount-source before any mount', valid + record('mount-source', '/') + end, /before any `mount`|given twice for one mount/],
    ['slirp4netns mode without its binary', valid.replace(/\nnetwork-mode:\d+:[^\n]*\n/, '\n') + record('network-mode', 'slirp4netns') + end, /network-mode slirp4netns and its slirp4netns binary go together/],
    ['a relative slirp4netns binary', valid + record('slirp4netns', 'slirp4netns') + end, /spec: key `slirp4netns` needs an absolute path/],
    ['a uid map whose end wraps past 2^64', valid + record('uid-map', '18446744073709551615 0 2') + record('gid-map', '0 0 1') + end, /spec: bad uid-map/],
    ['a uid map with a sign', valid + record('uid-map', '0 -1 1') + record('gid-map', '0 0 1') + end, /spec: bad uid-map/],
    ['a uid map without a gid map', valid + record('uid-map', '0 100000 65536') + end, /uid-map and gid-map go together/],
    ['map-with newuidmap without the tools', valid + record('uid-map', '0 100000 65536') + record('gid-map', '0 100000 65536') + record('map-with', 'newuidmap') + end, /needs the newuidmap and newgidmap paths/],
    ['idmapped layers without a user namespace', valid + record('idmap-lower', '1') + end, /need a user namespace/],
  ];
  // the spec as start() hands it over: on the monitor's fd 4
  const launch = (spec: string) => spawnMonitor(dir, { containerId: container.id, attach: false, stdin: false }).send(Buffer.from(spec, 'latin1'));
  for (const [what, spec, message] of cases) {
    await assert.rejects(launch(spec), (error: unknown) => {
      assert.ok(error instanceof ContainerSetupError, `${what}: ${String(error)}`);
      assert.equal(error.step, 'spec', what);
      assert.match(error.message, message, what);
      return true;
    });
    assert.deepEqual(mountsUnder(dir), [], `${what}: nothing is mounted`);
  }
  // the hand-made spec itself is good: the same command runs from it
  const handMade = await launch(valid + end);
  assert.deepEqual(await handMade.exited.then((exit) => exit?.exitCode), 0);
  // start() sends a good spec again; the host's / never reached the container
  await container.start();
  await container.wait();
  const lines: string[] = [];
  for await (const entry of container.logs()) lines.push(entry.line);
  assert.deepEqual(lines, ['done', 'done', 'done']);
  await container.remove();
});

/** Runs `berth-exec exec` with `input` on its control socket; resolves with its first event and exit code. */
async function execHelperWith(input: string | Buffer): Promise<{ event: Record<string, unknown>; code: number | null }> {
  const helper = sealedHelper('berth-exec');
  const child = spawn(helper.path, ['exec'], { argv0: helper.argv0, stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
  const control = child.stdio[3] as import('node:net').Socket;
  let text = '';
  control.on('data', (chunk: Buffer) => (text += chunk.toString()));
  control.end(input);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  await new Promise((resolve) => (control.closed ? resolve(null) : control.once('close', resolve)));
  return { event: JSON.parse(text.split('\n')[0] || '{}') as Record<string, unknown>, code };
}

test('berth-exec refuses malformed or injected input on its own', async () => {
  const good = record('mode', 'exec') + record('pid', '1') + record('pid-start-time', '1') + record('arg', 'true') + record('cwd', '/') +
    record('uid', '0') + record('gid', '0') + record('capabilities', '0') + record('no-new-privileges', '1');
  const end = record('end', '');
  const cases: [string, string, RegExp][] = [
    ['the old NUL-separated format with the payload', `mode\0exec\0arg\0${PAYLOAD}\0end\0\0`, /spec: malformed key/],
    ['a value holding the payload', good + record('arg', PAYLOAD) + end, /contains a NUL byte/],
    ['an unknown key', good + record('evil', '1') + end, /spec: unknown key `evil`/],
    ['a second pid', good + record('pid', '2') + end, /spec: key `pid` given twice/],
    ['a second mode', good + record('mode', 'mount') + end, /spec: key `mode` given twice/],
    ['a bad length', good + 'cwd:99:/\n' + end, /spec: truncated|does not end/],
    ['no pid', good.replace(record('pid', '1'), '') + end, /spec: key `pid` is missing/],
    ['no end', good, /spec: the input closed before "end"/],
  ];
  for (const [what, input, message] of cases) {
    const { event, code } = await execHelperWith(input);
    assert.equal(event.event, 'error', `${what}: ${JSON.stringify(event)}`);
    assert.equal(event.step, 'spec', what);
    assert.match(String(event.path), message, what);
    assert.notEqual(code, 0, what);
  }
});
