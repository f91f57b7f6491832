/** Running the built `berth` command as a user would: spawned, with its own state root. */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime } from '../lib/index.js';
import { withDeadline } from './helpers.js';

export const CLI = join(import.meta.dirname, '..', 'dist', 'cli.js');

export interface CliRoot extends AsyncDisposable {
  /** The state root (BERTH_ROOT). */
  path: string;
  /** Runs `berth ARGS…` to the end; stdin from `input` (default: none). */
  berth(args: string[], options?: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string }): SpawnSyncReturns<string>;
  /** Starts `berth ARGS…`; `done` resolves with its exit code and output (within the deadline). */
  start(args: string[]): { pid: number; done: Promise<{ status: number | null; stdout: string; stderr: string }> };
  /** Runs a command line through a real pty (`script -qec`): what the terminal showed, and the exit code. */
  onPty(args: string[], input?: string, env?: NodeJS.ProcessEnv): SpawnSyncReturns<string>;
}

/** Single quotes for sh. */
export const shellQuote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/** A fresh state root; disposing it removes every container, network and volume in it, and the root. */
export function cliRoot(): CliRoot {
  assert.ok(existsSync(CLI), `${CLI} is missing: run \`npm run build\` first`);
  const path = mkdtempSync(join(tmpdir(), 'berth-cli-'));
  const env = (extra: NodeJS.ProcessEnv = {}) => ({ ...process.env, BERTH_ROOT: path, ...extra });
  return {
    path,
    berth(args, options = {}) {
      return spawnSync(process.execPath, [CLI, ...args], {
        env: env(options.env),
        encoding: 'utf8',
        timeout: 60_000,
        input: options.input ?? '',
        maxBuffer: 256 * 1024 * 1024,
        ...(options.cwd ? { cwd: options.cwd } : {}),
      });
    },
    start(args) {
      const child = spawn(process.execPath, [CLI, ...args], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const done = withDeadline(
        new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => child.once('close', (status) => resolve({ status, stdout, stderr }))),
        `berth ${args.join(' ')} to end`,
      );
      return { pid: child.pid!, done };
    },
    onPty(args, input = '', extra = {}) {
      const line = [process.execPath, CLI, ...args].map(shellQuote).join(' ');
      return spawnSync('script', ['-qec', line, '/dev/null'], { env: env({ TERM: 'xterm', ...extra }), encoding: 'utf8', timeout: 60_000, input });
    },
    async [Symbol.asyncDispose]() {
      const runtime = await Runtime.open({ root: path });
      for (const container of await runtime.containers.list({ all: true })) {
        // one with --rm may be going away by itself meanwhile
        await container.remove({ force: true, volumes: true }).catch((error: { code?: string }) => assert.equal(error.code, 'ERR_NOT_FOUND'));
      }
      for (const network of await runtime.networks.list()) await runtime.networks.remove(network.name);
      rmSync(path, { recursive: true, force: true });
    },
  };
}

/** Asserts a command's exit code, showing its stderr when it differs. */
export function assertExit(result: SpawnSyncReturns<string>, status: number, what = ''): void {
  assert.equal(result.status, status, `${what} exited ${result.status} (signal ${result.signal}): ${result.stderr}`);
}
