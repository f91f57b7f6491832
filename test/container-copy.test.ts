import assert from 'node:assert/strict';
import { chmodSync, chownSync, linkSync, lutimesSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { copyFrom, copyTo, type Container } from '../lib/index.js';
import { BUSYBOX, mountsUnder, temporaryRuntime, withDeadline } from './helpers.js';
import { makeTar, tarEntries, type TarEntry } from './helpers-tar.js';

const MTIME = new Date('2001-02-03T04:05:06Z');

/** A host directory tree: modes, a file owned by uid 1000, symlinks, a hard link, fixed mtimes. */
function hostTree(): string {
  const root = mkdtempSync(join(tmpdir(), 'berth-copy-'));
  const src = join(root, 'tree');
  mkdirSync(join(src, 'private'), { recursive: true });
  mkdirSync(join(src, 'shared'));
  writeFileSync(join(src, 'private', 'owned.txt'), 'owned by app\n');
  chownSync(join(src, 'private', 'owned.txt'), 1000, 1000);
  chmodSync(join(src, 'private', 'owned.txt'), 0o640);
  writeFileSync(join(src, 'run.sh'), '#!/bin/sh\necho run\n');
  chmodSync(join(src, 'run.sh'), 0o755);
  linkSync(join(src, 'run.sh'), join(src, 'run-again.sh'));
  chmodSync(join(src, 'private'), 0o750);
  chmodSync(join(src, 'shared'), 0o2775);
  symlinkSync('private/owned.txt', join(src, 'relative-link'));
  symlinkSync('/etc/passwd', join(src, 'absolute-link'));
  for (const file of ['private/owned.txt', 'run.sh', 'private', 'shared', '.']) utimesSync(join(src, file), MTIME, MTIME);
  for (const link of ['relative-link', 'absolute-link']) lutimesSync(join(src, link), MTIME, MTIME);
  return src;
}

/** What matters of an archive: name → type, mode, owner, mtime, link target, content. */
function summary(entries: TarEntry[], prefix: string): Record<string, string> {
  return Object.fromEntries(entries.map((e) => {
    const name = e.name.slice(prefix.length).replace(/\/$/, '') || '.';
    const what = e.type === 'link' ? `link ${e.linkname!.slice(prefix.length)}`
      : `${e.type} ${(e.mode & 0o7777).toString(8)} ${e.uid}:${e.gid} ${e.mtime.toISOString()}${e.linkname ? ` -> ${e.linkname}` : ''}${e.type === 'file' ? ` ${JSON.stringify(e.data.toString())}` : ''}`;
    return [name, what];
  }));
}

const EXPECTED = {
  '.': `directory 755 0:0 ${MTIME.toISOString()}`,
  'absolute-link': `symlink 777 0:0 ${MTIME.toISOString()} -> /etc/passwd`,
  private: `directory 750 0:0 ${MTIME.toISOString()}`,
  'private/owned.txt': `file 640 1000:1000 ${MTIME.toISOString()} "owned by app\\n"`,
  'relative-link': `symlink 777 0:0 ${MTIME.toISOString()} -> private/owned.txt`,
  'run-again.sh': `file 755 0:0 ${MTIME.toISOString()} "#!/bin/sh\\necho run\\n"`, // the first of the two names (sorted)
  'run.sh': 'link run-again.sh',
  shared: `directory 2775 0:0 ${MTIME.toISOString()}`,
};

async function listing(container: Container, path: string): Promise<string> {
  const listed = await container.exec(['sh', '-c', `cd ${path} && find . | sort | while read f; do stat -c "%n %a %u:%g %Y" "$f"; done; readlink absolute-link`]);
  // everything about a failed listing, should one come (a run under load once saw an empty one)
  assert.ok(listed.exitCode === 0 && listed.stdout !== '', `listing ${path} in ${container.name}: ${JSON.stringify(listed)}, state ${JSON.stringify((await container.inspect()).state)}`);
  return listed.stdout;
}

test('copy in and out of a running container round-trips a tree: modes, owners, symlinks, hard links, mtimes', async () => {
  await using runtime = await temporaryRuntime();
  const src = hostTree();
  try {
    await using container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sleep', '60'] });
    await container.start();
    await copyTo(container, src, '/data'); // /data does not exist: the tree becomes /data
    const seconds = MTIME.getTime() / 1000;
    assert.equal(await listing(container, '/data'), [
      `. 755 0:0 ${seconds}`, `./absolute-link 777 0:0 ${seconds}`, `./private 750 0:0 ${seconds}`, `./private/owned.txt 640 1000:1000 ${seconds}`,
      `./relative-link 777 0:0 ${seconds}`, `./run-again.sh 755 0:0 ${seconds}`, `./run.sh 755 0:0 ${seconds}`, `./shared 2775 0:0 ${seconds}`, '/etc/passwd', '',
    ].join('\n'));
    assert.equal((await container.exec(['/data/run.sh'])).stdout, 'run\n');
    assert.equal((await container.exec(['cat', '/data/relative-link'])).stdout, 'owned by app\n');

    const archive = await tarEntries(await copyFrom(container, '/data'));
    assert.deepEqual(summary(archive, 'data/'), EXPECTED);
    assert.equal(archive[0]!.name, 'data/');

    // and into a container that never ran, then out of it again
    await using second = await runtime.containers.create({ image: BUSYBOX, cmd: ['sleep', '60'] });
    await second.copyTo(await copyFrom(container, '/data'), '/restore');
    assert.deepEqual(summary(await tarEntries(await second.copyFrom('/restore/data')), 'data/'), EXPECTED);
    await second.start();
    assert.equal(await listing(second, '/restore/data'), await listing(container, '/data'));
  } finally {
    rmSync(join(src, '..'), { recursive: true, force: true });
  }
});

test('copy works on stopped containers: their changes, deletions included, and files copied in before a start', async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({
    image: BUSYBOX, cmd: ['sh', '-c', 'rm /etc/group; mkdir -p /made; echo by-the-container > /made/file; cat /srv/in.txt'], attach: true,
  });
  await container.copyTo(makeTar([{ name: 'in.txt', content: 'copied in\n', mode: 0o600, uid: 1000, gid: 1000, mtime: MTIME }]), '/srv');
  await container.start();
  let output = '';
  container.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const ended = new Promise((resolve) => container.stdout!.once('end', resolve));
  assert.equal((await withDeadline(container.wait(), 'the container to exit')).exitCode, 0);
  await withDeadline(ended, 'the end of stdout'); // wait() can come before the last attached output is read
  assert.equal(output, 'copied in\n');

  const etc = (await tarEntries(await container.copyFrom('/etc'))).map((e) => e.name);
  assert.ok(etc.includes('etc/passwd'));
  assert.ok(!etc.includes('etc/group'), 'a file the container deleted is gone');
  const made = await tarEntries(await container.copyFrom('/made/file'));
  assert.deepEqual(made.map((e) => [e.name, e.data.toString()]), [['file', 'by-the-container\n']]);
  const copied = await tarEntries(await container.copyFrom('/srv/in.txt'));
  assert.deepEqual(summary(copied, ''), { 'in.txt': `file 600 1000:1000 ${MTIME.toISOString()} "copied in\\n"` });
  assert.deepEqual(mountsUnder(runtime.root), [], 'the overlay was mounted privately, and is gone');
});

test("docker cp's rules for host paths: into an existing directory, to a new name, a directory's contents", async () => {
  await using runtime = await temporaryRuntime();
  const src = hostTree();
  try {
    await using container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sleep', '60'] });
    await container.start();
    await container.copyTo(join(src, 'run.sh'), '/tmp'); // an existing directory: /tmp/run.sh
    await container.copyTo(join(src, 'run.sh'), '/tmp/renamed.sh'); // a new name
    await container.copyTo(src, '/tmp'); // a directory into an existing one: /tmp/tree
    await container.copyTo(`${src}/.`, '/opt'); // its contents
    const found = (await container.exec(['sh', '-c', 'ls /tmp /tmp/tree /opt'])).stdout;
    assert.match(found, /\/tmp:\nrenamed.sh\nrun.sh\ntree\n/);
    assert.match(found, /\/tmp\/tree:\nabsolute-link\nprivate\nrelative-link\nrun-again.sh\nrun.sh\nshared\n/);
    assert.match(found, /\/opt:\nabsolute-link\nprivate\n/);
    // a symlink is copied as the link; a trailing / follows it
    const link = await tarEntries(await container.copyFrom('/tmp/tree/relative-link'));
    assert.deepEqual(link.map((e) => [e.name, e.type, e.linkname]), [['relative-link', 'symlink', 'private/owned.txt']]);
    const contents = await tarEntries(await container.copyFrom('/opt/.'));
    assert.ok(contents.some((e) => e.name === 'private/owned.txt'));
    await assert.rejects(container.copyFrom('/no/such/path'), { name: 'NotFoundError' });
    await assert.rejects(container.copyTo(src, '/tmp/renamed.sh'), { name: 'ConflictError' });
    await assert.rejects(container.copyTo(join(src, 'nothing-here'), '/tmp'), { name: 'NotFoundError' });
  } finally {
    rmSync(join(src, '..'), { recursive: true, force: true });
  }
});

for (const running of [true, false]) {
  test(`a tar with ../ or a symlinked parent is refused and nothing is written outside (${running ? 'running' : 'stopped'} container)`, async () => {
    await using runtime = await temporaryRuntime();
    const outside = mkdtempSync(join(tmpdir(), 'berth-outside-'));
    try {
      await using container = await runtime.containers.create({ image: BUSYBOX, cmd: ['sleep', '60'] });
      if (running) await container.start();
      await container.copyTo(makeTar([{ name: 'evil', type: 'symlink', linkname: outside }]), '/target');

      const attacks = [
        [{ name: `../../../../../../../..${outside}/escape`, content: 'x' }],
        [{ name: 'ok.txt', content: 'fine' }, { name: '../escape', content: 'x' }],
        [{ name: 'link', type: 'symlink' as const, linkname: outside }, { name: 'link/pwned', content: 'x' }],
        [{ name: 'up', type: 'symlink' as const, linkname: '../../../../../..' }, { name: `up${outside}/pwned`, content: 'x' }],
        [{ name: 'evil/pwned', content: 'x' }], // below a symlink that was already there
      ];
      for (const entries of attacks) {
        await assert.rejects(container.copyTo(makeTar(entries), '/target'), { name: 'UnsafePathError', code: 'ERR_UNSAFE_PATH' });
      }
      assert.deepEqual(readdirSync(outside), [], 'nothing was written on the host');
      if (!running) await container.start();
      const inside = await container.exec(['sh', '-c', 'find / -xdev \\( -name escape -o -name pwned \\) | wc -l; cat /target/ok.txt']);
      assert.equal(inside.stdout, '0\nfine');
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
}

test("copyFrom('/') of a running container archives it whole, like docker cp: pseudo-filesystems' mount points empty, volumes and tmpfs included", async () => {
  await using runtime = await temporaryRuntime();
  await using container = await runtime.containers.create({
    image: BUSYBOX,
    cmd: ['sh', '-c', 'echo mine > /written; echo kept > /data/in-volume; echo scratch > /scratch/in-tmpfs; ln -s /proc /tmp/to-proc; sleep 60'],
    mounts: [{ type: 'volume', source: 'copy-vol', target: '/data' }, { type: 'tmpfs', target: '/scratch' }],
  });
  await container.start();
  const deadline = Date.now() + 30_000;
  while ((await container.exec(['test', '-L', '/tmp/to-proc'])).exitCode !== 0) {
    assert.ok(Date.now() < deadline, 'the container did not write its files');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  const entries = await tarEntries(await container.copyFrom('/'));
  const byName = new Map(entries.map((e) => [e.name.replace(/^\//, ''), e]));
  assert.equal(byName.get('written')?.data.toString(), 'mine\n');
  assert.equal(byName.get('data/in-volume')?.data.toString(), 'kept\n');
  assert.equal(byName.get('scratch/in-tmpfs')?.data.toString(), 'scratch\n');
  assert.equal(byName.get('bin/busybox')?.type, 'file');
  for (const pseudo of ['proc/', 'sys/', 'dev/pts/', 'dev/mqueue/']) {
    assert.equal(byName.get(pseudo)?.type, 'directory', pseudo);
    assert.deepEqual(entries.filter((e) => e.name.startsWith(pseudo) && e.name !== pseudo).map((e) => e.name), [], `${pseudo} is archived empty`);
  }
  assert.equal(byName.get('dev/null')?.type, 'character-device');

  // a pseudo-filesystem's mount point gives an empty directory; what is inside is not found, by any route
  assert.deepEqual((await tarEntries(await container.copyFrom('/proc'))).map((e) => e.name), ['proc/']);
  assert.deepEqual((await tarEntries(await container.copyFrom('/tmp/to-proc/'))).map((e) => e.name), ['proc/']);
  for (const inside of ['/proc/cpuinfo', '/proc/self/environ', '/proc/1', '/tmp/to-proc/1/environ', '/sys/fs/cgroup', '/dev/pts/ptmx']) {
    await assert.rejects(container.copyFrom(inside), (error: Error & { code?: string }) => {
      assert.equal(error.name, 'NotFoundError', inside);
      assert.match(error.message, /inside its (proc|sysfs|devpts) filesystem .* not copied/, inside);
      return true;
    });
  }
});
