import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { busyboxTar, pushImage, startRegistry, tarOf } from './image-helpers.js';
import { assertExit, cliRoot } from './cli-helpers.js';

const BUSYBOX = 'localhost/busybox';

test('pull: per-layer progress bars on a terminal, a line per layer state in a pipe; run pulls a missing image the same way', async () => {
  await using registry = await startRegistry();
  await using root = cliRoot();
  // a layer of random bytes (gzip cannot shrink it): several chunks arrive, so a bar is drawn on the way
  const big = await tarOf([{ name: 'big', content: randomBytes(6 * 1024 * 1024) }]);
  await pushImage(registry.host, 'app:1', [{ layers: [busyboxTar(), big], config: { Cmd: ['cat', '/etc/passwd'] } }]);
  const reference = `${registry.host}/app:1`;

  const piped = root.berth(['pull', reference]);
  assertExit(piped, 0);
  assert.doesNotMatch(piped.stdout, /\x1b/, 'no terminal sequences in a pipe');
  const lines = piped.stdout.split('\n');
  assert.equal(lines[0], '1: Pulling from app');
  const layerLines = lines.filter((line) => /^[0-9a-f]{12}: /.test(line));
  assert.equal(new Set(layerLines).size, layerLines.length, 'one line per layer state, never one per chunk');
  assert.equal(layerLines.filter((line) => line.endsWith(': Pull complete')).length, 2);
  assert.match(piped.stdout, /\nDigest: sha256:[0-9a-f]{64}\nStatus: Downloaded newer image for 127\.0\.0\.1:\d+\/app:1\n127\.0\.0\.1:\d+\/app:1:1\n$|\nDigest: sha256:[0-9a-f]{64}\nStatus: Downloaded newer image for 127\.0\.0\.1:\d+\/app:1\n127\.0\.0\.1:\d+\/app:1\n$/);
  const again = root.berth(['pull', reference]);
  assert.match(again.stdout, /Status: Image is up to date for /);

  assertExit(root.berth(['rmi', reference]), 0);
  const onTty = root.onPty(['pull', reference]);
  assert.equal(onTty.status, 0, onTty.stdout);
  assert.match(onTty.stdout, /[0-9a-f]{12}: Downloading \[=*>? *\] +[\d.]+\w?B\/[\d.]+MB/, 'a progress bar');
  assert.match(onTty.stdout, /\x1b\[\d+A/, 'lines redrawn in place (cursor up)');
  assert.match(onTty.stdout, /\x1b\[2K[0-9a-f]{12}: Pull complete\r?\n/);

  // run: an image that is not here is pulled first, its progress on stderr, the command's output alone on stdout
  assertExit(root.berth(['rmi', reference]), 0);
  const ran = root.berth(['run', '--rm', reference]);
  assertExit(ran, 0);
  assert.equal(ran.stdout, 'root:x:0:0:root:/root:/bin/sh\n');
  assert.match(ran.stderr, new RegExp(`^Unable to find image '${reference.replace(/\./g, '\\.')}' locally\n1: Pulling from app\n`));
});

test('images, tag, history, rmi, push, save/load, import: Docker’s columns and messages', async () => {
  await using registry = await startRegistry();
  await using root = cliRoot();
  const dir = mkdtempSync(join(tmpdir(), 'berth-cli-images-'));
  try {
    assertExit(root.berth(['run', '--name', 'maker', BUSYBOX, 'sh', '-c', 'echo made > /made']), 0);
    assertExit(root.berth(['commit', '-m', 'the commit', 'maker', 'mine:1']), 0);
    assertExit(root.berth(['tag', 'mine:1', `${registry.host}/mine:2`]), 0);
    const images = root.berth(['images']).stdout.split('\n');
    assert.match(images[0]!, /^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$/);
    assert.ok(images.some((line) => /^mine +1 +[0-9a-f]{12} +(Less than a second|\d+ seconds?) ago +[\d.]+MB$/.test(line)), images.join('\n'));
    assert.ok(images.some((line) => line.startsWith(`${registry.host}/mine   2 `)));
    assert.equal(root.berth(['images', '--format', '{{.Repository}}:{{.Tag}}', 'mine']).stdout, 'mine:1\n');
    assert.equal(root.berth(['images', '-q', '--filter', 'reference=mine']).stdout.length, 13);
    const history = root.berth(['history', 'mine:1']).stdout.split('\n');
    assert.match(history[0]!, /^IMAGE +CREATED +CREATED BY +SIZE +COMMENT$/);
    assert.match(history[1]!, /^[0-9a-f]{12} +.* ago +sh -c echo made > \/made +\d+B +the commit$/);
    assert.match(history[2]!, /^<missing> /);

    // push, then pull back what was pushed
    const pushed = root.berth(['push', `${registry.host}/mine:2`]);
    assertExit(pushed, 0);
    assert.match(pushed.stdout, new RegExp(`^The push refers to repository \\[${registry.host.replace(/\./g, '\\.')}/mine\\]\\n`));
    assert.match(pushed.stdout, /[0-9a-f]{12}: Pushed\n/);
    assert.match(pushed.stdout, /\n2: digest: sha256:[0-9a-f]{64} size: \d+\n$/);
    const again = root.onPty(['push', `${registry.host}/mine:2`]);
    assert.equal(again.status, 0, again.stdout);
    assert.match(again.stdout, /\x1b\[2K[0-9a-f]{12}: Layer already exists\r?\n/, 'on a terminal: the layer lines drawn in place');
    const untagged = root.berth(['rmi', `${registry.host}/mine:2`]);
    assert.equal(untagged.stdout, `Untagged: ${registry.host}/mine:2\n`);
    assertExit(root.berth(['pull', '-q', `${registry.host}/mine:2`]), 0);
    assert.equal(root.berth(['run', '--rm', `${registry.host}/mine:2`, 'cat', '/made']).stdout, 'made\n');

    // save → rmi → load
    assertExit(root.berth(['save', '-o', join(dir, 'mine.tar'), 'mine:1']), 0);
    assertExit(root.berth(['rm', 'maker']), 0);
    const removed = root.berth(['rmi', 'mine:1']);
    assertExit(removed, 0);
    assert.equal(removed.stdout, 'Untagged: mine:1\n', 'the pulled tag still names the image');
    assertExit(root.berth(['rmi', 'mine:1']), 1);
    const loaded = root.berth(['load', '-i', join(dir, 'mine.tar')]);
    assertExit(loaded, 0);
    assert.match(loaded.stdout, /^Loaded image: mine:1$/m);
    const savedToPipe = root.berth(['save', 'mine:1']);
    assertExit(savedToPipe, 0);
    assert.ok(savedToPipe.stdout.length > 1000);

    // import: a tar of files with Dockerfile changes
    writeFileSync(join(dir, 'rootfs.tar'), busyboxTar());
    const imported = root.berth(['import', '-c', 'ENV GREETING=hi', '-c', 'CMD ["sh", "-c", "echo $GREETING"]', '-m', 'imported', join(dir, 'rootfs.tar'), 'imp:1']);
    assertExit(imported, 0);
    assert.match(imported.stdout, /^sha256:[0-9a-f]{64}\n$/);
    assert.equal(root.berth(['run', '--rm', 'imp:1']).stdout, 'hi\n');
    assertExit(root.berth(['import', join(dir, 'missing.tar')]), 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('login/logout write Docker’s config.json (auths, base64 user:password, 0600); a wrong password changes nothing', async () => {
  await using registry = await startRegistry({ alice: 'wonderland' });
  await using root = cliRoot();
  const home = mkdtempSync(join(tmpdir(), 'berth-cli-docker-config-'));
  const env = { DOCKER_CONFIG: home };
  const config = join(home, 'config.json');
  try {
    writeFileSync(config, JSON.stringify({ auths: {}, psFormat: 'table {{.Names}}' }));
    await pushImage(registry.host, 'private:1', [{ layers: [busyboxTar()] }], ['--dest-creds', 'alice:wonderland']);
    const refused = root.berth(['login', '-u', 'alice', '--password-stdin', registry.host], { input: 'wrong\n', env });
    assertExit(refused, 1);
    assert.match(refused.stderr, /incorrect username or password/);
    assert.deepEqual(JSON.parse(readFileSync(config, 'utf8')), { auths: {}, psFormat: 'table {{.Names}}' });
    assertExit(root.berth(['pull', `${registry.host}/private:1`], { env }), 1);

    const login = root.berth(['login', '-u', 'alice', '--password-stdin', registry.host], { input: 'wonderland\n', env });
    assertExit(login, 0);
    assert.equal(login.stdout, 'Login Succeeded\n');
    const written = JSON.parse(readFileSync(config, 'utf8')) as { auths: Record<string, { auth: string }>; psFormat: string };
    assert.equal(written.auths[registry.host]!.auth, Buffer.from('alice:wonderland').toString('base64'));
    assert.equal(written.psFormat, 'table {{.Names}}', 'other keys kept');
    assert.equal(statSync(config).mode & 0o777, 0o600);
    assertExit(root.berth(['pull', `${registry.host}/private:1`], { env }), 0);

    const warned = root.berth(['login', '-u', 'alice', '-p', 'wonderland', registry.host], { env });
    assertExit(warned, 0);
    assert.match(warned.stderr, /WARNING! Using --password via the CLI is insecure/);

    assert.equal(root.berth(['logout', registry.host], { env }).stdout, `Removing login credentials for ${registry.host}\n`);
    assert.deepEqual((JSON.parse(readFileSync(config, 'utf8')) as { auths: object }).auths, {});
    assert.equal(root.berth(['logout', registry.host], { env }).stdout, `Not logged in to ${registry.host}\n`);
    assertExit(root.berth(['login', registry.host], { env }), 125);
    assert.ok(!existsSync(join(home, 'config.json.tmp')));
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
