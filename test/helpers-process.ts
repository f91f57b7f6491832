import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

const fixtures = join(import.meta.dirname, 'fixtures');

/** Runs a fixture script in a separate Node process; resolves with its stdout once it exits. */
export function runFixture(script: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(fixtures, script), ...args], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Starts a fixture script and returns the child process (for killing it mid-way). */
export function startFixture(script: string, args: string[]) {
  return spawn(process.execPath, ['--import', 'tsx', join(fixtures, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
}
