import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmdirSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { BerthError } from '../errors.js';

/** Reads a cgroup file, trimmed; undefined when it does not exist. */
export function readCgroupFile(dir: string, file: string): string | undefined {
  try {
    return readFileSync(join(dir, file), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Writes a cgroup file; a failure names the file and the value. */
export function writeCgroupFile(dir: string, file: string, value: string | number): void {
  writeCgroupValues(dir, file, [value]);
}

/**
 * Writes each value to a cgroup file with a write(2) of its own, through one
 * descriptor (devices.allow takes one rule per write); a failure names the
 * file and the value.
 */
export function writeCgroupValues(dir: string, file: string, values: readonly (string | number)[]): void {
  const path = join(dir, file);
  let value: string | number = '';
  let fd: number | undefined;
  try {
    fd = openSync(path, 'w');
    for (value of values) writeSync(fd, String(value));
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    throw new BerthError(`cannot set ${file} to ${value}: ${e.code ?? e.message}`, {
      code: e.code ?? 'ERR_CGROUP', errno: e.errno === undefined ? undefined : -e.errno, syscall: fd === undefined ? 'open' : 'write', path, step: 'cgroup', cause: error,
    });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** `key value` lines (cpu.stat, memory.stat, memory.events, memory.oom_control) as a map. */
export function readKeyValues(dir: string, file: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of (readCgroupFile(dir, file) ?? '').split('\n')) {
    const [key, value] = line.split(/\s+/);
    if (key && value !== undefined) values.set(key, Number(value));
  }
  return values;
}

export function readNumber(dir: string, file: string): number | undefined {
  const text = readCgroupFile(dir, file);
  if (text === undefined || text === 'max') return undefined;
  const value = Number(text.split(/\s+/)[0]);
  return Number.isFinite(value) ? value : undefined;
}

export function readPids(dir: string): number[] {
  return (readCgroupFile(dir, 'cgroup.procs') ?? '').split('\n').filter(Boolean).map(Number);
}

/** mkdir -p, retrying when a concurrent cleanup removes a parent under us. */
export function makeCgroupDir(dir: string): void {
  for (let attempt = 0; ; attempt++) {
    try {
      mkdirSync(dir, { recursive: true });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt > 5) throw error;
    }
  }
}

/**
 * rmdir a container's cgroups, waiting while its last processes finish dying
 * (EBUSY). The `…/berth` parents stay for the next container.
 */
export async function removeCgroupDirs(dirs: string[]): Promise<void> {
  for (const dir of dirs) {
    for (let attempt = 0; existsSync(dir); attempt++) {
      try {
        rmdirSync(dir);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        if (code !== 'EBUSY' || attempt > 200) {
          throw new BerthError(`cannot remove cgroup ${dir}: ${code}`, { code: code ?? 'ERR_CGROUP', syscall: 'rmdir', path: dir, step: 'cgroup' });
        }
        await sleep(10);
      }
    }
  }
}
