import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { waitUntil } from './helpers.js';

const cli = join(import.meta.dirname, '..', 'dist', 'cli.js');

/** Runs the built CLI (`npm run build` makes dist/) with BERTH_ROOT=root. */
function berth(root: string, args: string[]) {
  assert.ok(existsSync(cli), `${cli} is missing: run \`npm run build\` first`);
  return spawnSync(process.execPath, [cli, ...args], { env: { ...process.env, BERTH_ROOT: root }, encoding: 'utf8', timeout: 60_000 });
}

test('berth run --rm leaves nothing behind when start fails; without --rm the created container stays, as in Docker', async () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-cli-'));
  try {
    const failed = berth(root, ['run', '--rm', '--name', 'broken', 'localhost/busybox', '/no/such/command']);
    assert.equal(failed.status, 125, failed.stderr);
    assert.match(failed.stderr, /^berth: .*\/no\/such\/command.* \[step exec\]\n$/);
    assert.equal(berth(root, ['ps', '-a']).stdout.trim().split('\n').length, 1, 'ps -a lists no container');
    assert.deepEqual(readdirSync(join(root, 'containers')), []);
    assert.deepEqual(readdirSync(join(root, 'names')), []);

    const kept = berth(root, ['run', '--name', 'kept', 'localhost/busybox', '/no/such/command']);
    assert.equal(kept.status, 125, kept.stderr);
    assert.match(berth(root, ['ps', '-a']).stdout, /kept\s+created/);

    // and a command that runs: its output, its exit code, and gone afterwards
    const ran = berth(root, ['run', '--rm', 'localhost/busybox', 'sh', '-c', 'echo ran; exit 3']);
    assert.equal(ran.stdout, 'ran\n');
    assert.equal(ran.status, 3);
    assert.deepEqual(berth(root, ['ps', '-a']).stdout.match(/^[0-9a-f]{12} /gm)?.length, 1, 'only the kept container');

    // detached, its monitor removes it once the command exits
    const detached = berth(root, ['run', '-d', '--rm', '--name', 'brief', 'localhost/busybox', 'true']);
    assert.equal(detached.status, 0, detached.stderr);
    await waitUntil(() => !existsSync(join(root, 'names', 'brief')), 'the detached --rm container to be removed');
    assert.doesNotMatch(berth(root, ['ps', '-a']).stdout, /brief/);
  } finally {
    berth(root, ['rm', '-f', 'kept']);
    rmSync(root, { recursive: true, force: true });
  }
});
