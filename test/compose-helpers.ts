/** Compose tests: a fake CLI context writing to strings, and a redis image made from Debian's redis-server files. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import type { Runtime } from '../lib/index.js';
import type { CliContext } from '../lib/cli/compose.js';
import { hostVethName } from '../lib/network/host-links.js';
import { busyboxTar, requireTool, temporaryDir } from './image-helpers.js';
import { berthNetworkLeftovers } from './network-helpers.js';

/** A CliContext over `runtime` whose output is collected in strings. */
export function fakeContext(runtime: Runtime): CliContext & { stdout: string; stderr: string } {
  const ctx = {
    stdout: '',
    stderr: '',
    isTTY: false,
    openRuntime: async () => runtime,
    out: (text: string) => void (ctx.stdout += text),
    err: (text: string) => void (ctx.stderr += text),
  };
  return ctx;
}

/** A directory holding `files` (relative name → content; names ending in .sh or under cgi-bin/ are made executable). */
export function projectDir(name: string, files: Record<string, string>): { path: string } & Disposable {
  const parent = temporaryDir('berth-compose-');
  const path = join(parent.path, name);
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(dirname(join(path, file)), { recursive: true });
    writeFileSync(join(path, file), content, { mode: file.endsWith('.sh') || file.includes('cgi-bin/') ? 0o755 : 0o644 });
  }
  mkdirSync(path, { recursive: true });
  return { path, [Symbol.dispose]: () => parent[Symbol.dispose]() };
}

/**
 * `localhost/redis:7` in `runtime`: busybox plus redis-server and redis-cli
 * from the host's Debian packages (their shared libraries found with ldd).
 */
export async function importRedisImage(runtime: Runtime): Promise<string> {
  requireTool('/usr/bin/redis-server', 'redis-server');
  using dir = temporaryDir('berth-redis-');
  execFileSync('tar', ['-C', dir.path, '-xf', '-'], { input: busyboxTar() });
  const binaries = ['/usr/bin/redis-server', '/usr/bin/redis-cli'];
  const libraries = [...execFileSync('ldd', binaries, { encoding: 'utf8' }).matchAll(/(?:=> )?(\/\S+) \(0x/g)].map((m) => m[1]!);
  for (const path of new Set([...binaries, ...libraries])) {
    mkdirSync(join(dir.path, dirname(path)), { recursive: true });
    cpSync(path, join(dir.path, path), { dereference: true });
  }
  mkdirSync(join(dir.path, 'data'));
  const tar = execFileSync('tar', ['--sort=name', '--mtime=@1600000000', '--owner=0', '--group=0', '--numeric-owner', '-C', dir.path, '-cf', '-', '.'], { maxBuffer: 256 << 20 });
  const reference = 'localhost/redis:7';
  await runtime.images.import(Readable.from([tar]), {
    ref: reference,
    changes: ['ENV PATH=/usr/bin:/bin', 'WORKDIR /data', 'CMD ["redis-server", "--protected-mode", "no", "--appendonly", "yes", "--appendfsync", "always", "--dir", "/data"]'],
  });
  return reference;
}

/**
 * What is left in the test's network namespace of this runtime's networks
 * (their bridges, the veths of `containerIds` on them, the runtime's
 * nftables table); other test files' networks in the same namespace are not counted.
 */
export function networkLeftoversOf(runtime: Runtime, networks: { name: string; bridge: string }[], containerIds: string[]): string[] {
  const ours = new Set([
    ...networks.map((n) => n.bridge),
    ...networks.flatMap((n) => containerIds.map((id) => hostVethName(id, n.name))),
    `table inet berth_${createHash('sha256').update(runtime.root).digest('hex').slice(0, 8)}`,
  ]);
  return berthNetworkLeftovers().filter((item) => ours.has(item));
}
