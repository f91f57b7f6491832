// Another local user (uid 65534, nobody) tries to read what berth keeps: the
// container's environment (a secret), a file the container wrote, its log, a
// volume's data. Every attempt must fail with "Permission denied", for a
// fresh root, for a root an older berth left world-readable, and (for berth's
// own directories) for a root the user gave that holds other files too.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Runtime, type Container } from '../lib/index.js';
import { BUSYBOX } from './helpers.js';

const SECRET = 'hunter2-berth-secret';
const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];

/** Runs `cmd` on the host as uid/gid 65534 with no groups. */
function asNobody(cmd: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('setpriv', [...NOBODY, ...cmd], { encoding: 'utf8', timeout: 10_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function assertDenied(cmd: string[]): void {
  const result = asNobody(cmd);
  assert.notEqual(result.status, 0, `${cmd.join(' ')} as nobody succeeded: ${result.stdout}`);
  assert.match(result.stderr, /Permission denied/, `${cmd.join(' ')} as nobody: ${result.stderr}`);
  assert.doesNotMatch(result.stdout, new RegExp(SECRET));
}

const mode = (path: string) => (statSync(path).mode & 0o7777).toString(8);

/** A directory every user can enter, for roots below it (mkdtemp makes 0700 ones, which would hide the root anyway). */
function openParent(): string {
  const parent = mkdtempSync(join(tmpdir(), 'berth-private-'));
  chmodSync(parent, 0o755);
  return parent;
}

/** A container given a secret in its environment, which wrote it to a file, its log and a volume, then exited. */
async function containerWithSecret(runtime: Runtime): Promise<Container> {
  const container = await runtime.containers.create({
    image: BUSYBOX,
    env: [`SECRET=${SECRET}`],
    cmd: ['sh', '-c', 'echo "$SECRET" > /written.txt; echo "$SECRET" > /data/in-volume.txt; echo "logged $SECRET"'],
    mounts: [{ type: 'volume', source: 'private-vol', target: '/data' }],
  });
  await container.start();
  assert.equal((await container.wait()).exitCode, 0);
  return container;
}

/** Everything nobody must not reach, checked as root first (the secret is really there). */
function assertPrivate(root: string, container: Container): void {
  const dir = join(root, 'containers', container.id);
  const volumeData = join(root, 'volumes', 'private-vol', '_data');
  assert.match(readFileSync(join(dir, 'config.json'), 'utf8'), new RegExp(SECRET));
  assert.equal(readFileSync(join(dir, 'upper', 'written.txt'), 'utf8'), `${SECRET}\n`);
  assert.match(readFileSync(join(dir, 'container.log'), 'utf8'), new RegExp(`logged ${SECRET}`));
  assert.equal(readFileSync(join(volumeData, 'in-volume.txt'), 'utf8'), `${SECRET}\n`);

  for (const listed of [root, join(root, 'containers'), dir, join(dir, 'upper'), join(root, 'volumes'), volumeData,
    join(root, 'layers'), join(root, 'blobs'), join(root, 'images'), join(root, 'names')]) {
    assertDenied(['ls', listed]);
  }
  for (const read of [join(dir, 'config.json'), join(dir, 'upper', 'written.txt'), join(dir, 'container.log'),
    join(dir, 'exit.json'), join(volumeData, 'in-volume.txt')]) {
    assertDenied(['cat', read]);
  }
  // the files themselves are private too, and the container's own files keep their modes
  for (const file of ['config.json', 'container.log', 'exit.json', 'cgroup.json', 'monitor.lock']) assert.equal(mode(join(dir, file)), '600', file);
  assert.equal(existsSync(join(dir, 'spec')), false, 'the spec (environment included) is never on disk: it goes over a pipe');
  for (const private_ of [root, join(root, 'containers'), dir, join(root, 'volumes'), join(root, 'layers')]) assert.equal(mode(private_), '700', private_);
  assert.equal(mode(join(dir, 'upper')), '755');
  assert.equal(mode(volumeData), '755');
}

test('a new state root: nothing in it is listable or readable by another user', async () => {
  const parent = openParent();
  const root = join(parent, 'state');
  const runtime = await Runtime.open({ root });
  try {
    const container = await containerWithSecret(runtime);
    assertPrivate(root, container);
    // a non-root user inside the container still reaches its files, /etc/hosts (a bind mount from the private directory) and the volume
    const nonRoot = await runtime.containers.create({
      image: BUSYBOX, user: '1000', cmd: ['sh', '-c', 'cat /etc/hostname >/dev/null && ls / >/dev/null && ls /data'],
      mounts: [{ type: 'volume', source: 'private-vol', target: '/data' }], attach: true,
    });
    let output = '';
    await nonRoot.start();
    nonRoot.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const ended = new Promise((resolve) => nonRoot.stdout!.once('end', resolve));
    assert.equal((await nonRoot.wait()).exitCode, 0);
    await ended; // wait() can come before the last attached output is read
    assert.match(output, /in-volume\.txt/);
  } finally {
    for (const c of await runtime.containers.list({ all: true })) await c.remove({ force: true });
    rmSync(parent, { recursive: true, force: true });
  }
});

test('a state root left world-readable by an older berth is made private when opened', async () => {
  const parent = openParent();
  const root = join(parent, 'state');
  try {
    let id: string;
    {
      const runtime = await Runtime.open({ root });
      const container = await containerWithSecret(runtime);
      id = container.id;
    }
    // what an older berth left: everything open to everyone
    const dir = join(root, 'containers', id);
    for (const path of [root, join(root, 'containers'), join(root, 'volumes'), join(root, 'layers'), join(root, 'blobs'), join(root, 'images'), join(root, 'names'), dir]) {
      chmodSync(path, 0o755);
    }
    chmodSync(join(dir, 'config.json'), 0o644);
    assert.equal(asNobody(['ls', join(root, 'containers')]).status, 0); // the attack works before the open

    const runtime = await Runtime.open({ root });
    const container = await runtime.containers.get(id);
    assertDenied(['ls', root]);
    assertDenied(['ls', join(root, 'containers')]);
    assertDenied(['cat', join(dir, 'config.json')]);
    assertDenied(['cat', join(dir, 'upper', 'written.txt')]);
    assertDenied(['cat', join(dir, 'container.log')]);
    assertDenied(['cat', join(root, 'volumes', 'private-vol', '_data', 'in-volume.txt')]);
    assert.equal(mode(root), '700');
    await container.remove({ force: true });
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});

test("a root the user gave that holds other files keeps its own mode; berth's directories in it are private", async () => {
  const parent = openParent();
  const root = join(parent, 'shared');
  mkdirSync(root, { mode: 0o755 });
  chmodSync(root, 0o755);
  writeFileSync(join(root, 'README'), 'not berth\n', { mode: 0o644 });
  const runtime = await Runtime.open({ root });
  try {
    const container = await containerWithSecret(runtime);
    assert.equal(mode(root), '755'); // not berth's alone: left as it was
    assert.equal(asNobody(['cat', join(root, 'README')]).status, 0);
    const dir = join(root, 'containers', container.id);
    assertDenied(['ls', join(root, 'containers')]);
    assertDenied(['ls', join(root, 'volumes')]);
    assertDenied(['cat', join(dir, 'config.json')]);
    assertDenied(['cat', join(dir, 'upper', 'written.txt')]);
    assertDenied(['cat', join(dir, 'container.log')]);
    assertDenied(['cat', join(root, 'volumes', 'private-vol', '_data', 'in-volume.txt')]);
    await container.remove({ force: true });
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});
