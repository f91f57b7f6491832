import { watch, type FSWatcher } from 'node:fs';
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LogEntry, LogsOptions } from '../../types/container.js';
import { NotFoundError } from '../errors.js';
import type { ContainerHandle } from './container-handle.js';

/** One record of the json-file log, as the monitor writes it (addon/log_writer.cc). */
interface LogRecord {
  log: string;
  stream: 'stdout' | 'stderr';
  /** RFC 3339 with nanoseconds, UTC: `2026-11-23T13:24:05.123456789Z`. Such strings sort by time. */
  time: string;
}

interface Query {
  follow: boolean;
  tail: number | undefined;
  stdout: boolean;
  stderr: boolean;
  /** Same form as LogRecord.time, so that strings compare as times. */
  since: string | undefined;
  until: string | undefined;
  signal: AbortSignal | undefined;
}

const CHUNK = 64 * 1024;
const NEWLINE = 0x0a;
const POLL_MS = 250;

/** A Date as the log writes times: nine fraction digits. */
function logTime(date: Date): string {
  return date.toISOString().replace(/Z$/, '000000Z');
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function parseTime(value: unknown, what: string, now: number): string | undefined {
  if (value === undefined) return undefined;
  let date: Date | undefined;
  if (value instanceof Date) date = value;
  else if (typeof value === 'number') date = new Date(value * 1000);
  else if (typeof value === 'string') {
    if (/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(value)) {
      let ms = 0;
      for (const [, amount, unit] of value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(amount) * DURATION_UNITS[unit!]!;
      date = new Date(now - ms);
    } else if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
      date = new Date(value);
    }
  }
  if (!date || Number.isNaN(date.getTime())) {
    throw new TypeError(`logs: ${what} must be a Date, Unix seconds, an RFC 3339 time or a duration like '10m', got ${String(value)}`);
  }
  return logTime(date);
}

function parseQuery(options: LogsOptions): Query {
  if (typeof options !== 'object' || options === null) throw new TypeError('logs: options must be an object');
  for (const key of ['follow', 'stdout', 'stderr', 'timestamps'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'boolean') throw new TypeError(`logs: ${key} must be a boolean`);
  }
  const { tail } = options;
  if (tail !== undefined && tail !== 'all' && !(Number.isSafeInteger(tail) && tail >= 0)) {
    throw new TypeError(`logs: tail must be a non-negative integer or 'all', got ${String(tail)}`);
  }
  const stdout = options.stdout ?? true;
  const stderr = options.stderr ?? true;
  if (!stdout && !stderr) throw new TypeError('logs: choose at least one of stdout and stderr');
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw new TypeError('logs: signal must be an AbortSignal');
  const now = Date.now();
  return {
    follow: options.follow ?? false,
    tail: tail === 'all' ? undefined : tail,
    stdout,
    stderr,
    since: parseTime(options.since, 'since', now),
    until: parseTime(options.until, 'until', now),
    signal: options.signal,
  };
}

function matches(record: LogRecord, query: Query): boolean {
  if (record.stream === 'stderr' ? !query.stderr : !query.stdout) return false;
  if (query.since !== undefined && record.time < query.since) return false;
  return query.until === undefined || record.time < query.until;
}

function parseRecord(line: Buffer): LogRecord | undefined {
  try {
    const record = JSON.parse(line.toString('utf8')) as LogRecord;
    return typeof record.log === 'string' && typeof record.time === 'string' ? record : undefined;
  } catch {
    return undefined; // not a record (a torn write after a crash): skipped
  }
}

/** Complete records of an open log file, read forward from `position`; a torn last line waits for the rest. */
class ForwardReader {
  private rest: Buffer = Buffer.alloc(0);

  constructor(
    readonly file: FileHandle,
    readonly ino: number,
    private position = 0,
  ) {}

  async *records(): AsyncGenerator<LogRecord> {
    const buffer = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const { bytesRead } = await this.file.read(buffer, 0, CHUNK, this.position);
      if (bytesRead === 0) return;
      this.position += bytesRead;
      let data = Buffer.concat([this.rest, buffer.subarray(0, bytesRead)]);
      let newline: number;
      const records: LogRecord[] = [];
      while ((newline = data.indexOf(NEWLINE)) >= 0) {
        const record = parseRecord(data.subarray(0, newline));
        if (record) records.push(record);
        data = data.subarray(newline + 1);
      }
      this.rest = Buffer.from(data);
      yield* records;
    }
  }

  close(): Promise<void> {
    return this.file.close();
  }
}

async function openLog(path: string, position = 0): Promise<ForwardReader | undefined> {
  let file: FileHandle;
  try {
    file = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return new ForwardReader(file, Number((await file.stat()).ino), position);
}

/** The rotated files, oldest first (`container.log.2`, `container.log.1`). */
async function rotatedLogs(log: string): Promise<string[]> {
  const prefix = `${basename(log)}.`;
  let names: string[];
  try {
    names = await readdir(dirname(log));
  } catch {
    return [];
  }
  return names
    .filter((name) => name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length)))
    .sort((a, b) => Number(b.slice(prefix.length)) - Number(a.slice(prefix.length)))
    .map((name) => join(dirname(log), name));
}

/**
 * Every log file, opened as one consistent set: the rotated ones oldest
 * first, and the current one. Rotation renames them all; when a name no longer
 * holds the file opened under it, a rotation came in between and we look again.
 */
async function openLogFiles(log: string): Promise<{ rotated: ForwardReader[]; current: ForwardReader | undefined }> {
  for (let attempt = 0; ; attempt++) {
    const paths = [...(await rotatedLogs(log)), log];
    const opened: (ForwardReader | undefined)[] = [];
    for (const path of paths) opened.push(await openLog(path));
    const now = await Promise.all(paths.map(async (path) => Number((await stat(path).catch(() => undefined))?.ino ?? -1)));
    if (attempt >= 20 || now.every((ino, i) => ino === (opened[i]?.ino ?? -1))) {
      return { rotated: opened.slice(0, -1).filter((f): f is ForwardReader => f !== undefined), current: opened.at(-1) };
    }
    for (const reader of opened) await reader?.close();
    await sleep(5);
  }
}

/**
 * The last `count` matching records of `files` (oldest first; the last one
 * read only up to `end`), reading each file backward from its end. Returns
 * them oldest first, and where the complete records of the last file end
 * (a record still being written there is left to `follow`).
 */
async function tailRecords(files: FileHandle[], end: number, count: number, query: Query): Promise<{ records: LogRecord[]; completeEnd: number }> {
  const found: LogRecord[] = [];
  let completeEnd = end;
  let older = false; // reached records before `since`: stop
  for (let index = files.length - 1; index >= 0 && found.length < count && !older; index--) {
    const file = files[index]!;
    let position = index === files.length - 1 ? end : (await file.stat()).size;
    let carry = Buffer.alloc(0); // the start of the chunk read last: the end of a record that began earlier
    let first = true;
    while (position > 0 && found.length < count && !older) {
      const length = Math.min(CHUNK, position);
      position -= length;
      const chunk = Buffer.allocUnsafe(length);
      await file.read(chunk, 0, length, position);
      let data = Buffer.concat([chunk, carry]);
      if (first) {
        first = false;
        const lastNewline = data.lastIndexOf(NEWLINE);
        if (index === files.length - 1) completeEnd = position + lastNewline + 1;
        data = data.subarray(0, Math.max(lastNewline, 0));
      }
      const lines = data.toString('latin1').split('\n');
      carry = position > 0 ? Buffer.from(lines.shift()!, 'latin1') : Buffer.alloc(0);
      for (let i = lines.length - 1; i >= 0 && found.length < count; i--) {
        const record = parseRecord(Buffer.from(lines[i]!, 'latin1'));
        if (!record) continue;
        if (query.since !== undefined && record.time < query.since) {
          older = true;
          break;
        }
        if (matches(record, query)) found.push(record);
      }
    }
  }
  return { records: found.reverse(), completeEnd };
}

/** The container is done writing: it exited, was never started, or is gone. */
function finished(handle: ContainerHandle): boolean {
  try {
    const state = handle.state();
    return state.status === 'exited' || (state.status === 'created' && !state.starting);
  } catch (error) {
    if (error instanceof NotFoundError) return true;
    throw error;
  }
}

async function* readLog(handle: ContainerHandle, query: Query): AsyncGenerator<LogRecord> {
  // pin every file first: rotation renames them while we read
  const files = await openLogFiles(handle.paths.log);
  const rotated = files.rotated.map((reader) => reader.file);
  let current = files.current;
  try {
    if (query.tail !== undefined) {
      const all = current ? [...rotated, current.file] : rotated;
      const end = current ? Number((await current.file.stat()).size) : 0;
      const { records, completeEnd } = query.tail === 0 ? { records: [], completeEnd: end } : await tailRecords(all, end, query.tail, query);
      yield* records;
      // follow on from the last complete record, in the same file
      if (current) current = new ForwardReader(current.file, current.ino, completeEnd);
    } else {
      for (const file of rotated) {
        for await (const record of new ForwardReader(file, 0).records()) if (matches(record, query)) yield record;
      }
      if (current) for await (const record of current.records()) if (matches(record, query)) yield record;
    }
    if (!query.follow) return;
    yield* follow(handle, current, query);
  } finally {
    for (const file of rotated) await file.close().catch(() => {});
    await current?.close().catch(() => {});
  }
}

/**
 * New records until the container exits: woken by fs.watch on its directory,
 * with a poll as the fallback. When the log rotates, the old file is read to
 * its end through the descriptor we hold, then any files rotated past us,
 * then the new one.
 */
async function* follow(handle: ContainerHandle, start: ForwardReader | undefined, query: Query): AsyncGenerator<LogRecord> {
  const log = handle.paths.log;
  let current = start;
  let wake = () => {};
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(handle.paths.dir, () => wake());
    watcher.on('error', () => wake());
  } catch {
    // the directory is gone (autoRemove): the poll notices
  }
  try {
    for (;;) {
      if (query.signal?.aborted) return;
      const done = finished(handle); // before reading: once it exited, the log is complete
      if (current) for await (const record of current.records()) if (matches(record, query)) yield record;
      const next = await openLog(log);
      if (next && next.ino !== current?.ino) {
        if (current) {
          for await (const record of current.records()) if (matches(record, query)) yield record;
          for await (const record of between(log, current, next.ino)) if (matches(record, query)) yield record;
          await current.close();
        }
        current = next;
        continue;
      }
      await next?.close();
      if (done) return;
      const changed = new Promise<void>((resolve) => (wake = resolve));
      const timer = new AbortController();
      const abort = () => timer.abort();
      query.signal?.addEventListener('abort', abort, { once: true });
      await Promise.race([changed, sleep(POLL_MS, undefined, { signal: timer.signal }).catch(() => {})]);
      timer.abort();
      query.signal?.removeEventListener('abort', abort);
    }
  } finally {
    watcher?.close();
    await current?.close().catch(() => {});
  }
}

/**
 * Records of the rotated files newer than `previous` (just rotated away) and
 * older than the file with inode `before` (the new current one).
 */
async function* between(log: string, previous: ForwardReader, before: number): AsyncGenerator<LogRecord> {
  const { rotated, current } = await openLogFiles(log);
  await current?.close();
  try {
    const from = rotated.findIndex((f) => f.ino === previous.ino);
    const to = rotated.findIndex((f) => f.ino === before);
    // not listed: it was rotated out entirely (deleted), so every file listed is newer;
    // otherwise it cannot be placed, and nothing is read rather than something twice
    const start = from >= 0 ? from + 1 : (await previous.file.stat()).nlink === 0 ? 0 : rotated.length;
    for (const reader of rotated.slice(start, to < 0 ? undefined : to)) yield* reader.records();
  } finally {
    for (const reader of rotated) await reader.close();
  }
}

function toEntry(record: LogRecord): LogEntry {
  const time = new Date(record.time.replace(/(\.\d{3})\d*Z$/, '$1Z'));
  return { stream: record.stream === 'stderr' ? 'stderr' : 'stdout', time, line: record.log.replace(/\r?\n$/, '') };
}

/**
 * A container's output from its json-file log, oldest first, as
 * `docker logs` gives it: from any process, for a running or an exited
 * container, across rotated files. With `follow` it goes on until the
 * container exits (or `signal` aborts).
 * @throws TypeError for a wrong option; NotFoundError once the container is removed
 */
export function containerLogs(handle: ContainerHandle, options: LogsOptions = {}): AsyncIterable<LogEntry> {
  const query = parseQuery(options);
  handle.state(); // NotFoundError now rather than at the first line
  return (async function* () {
    for await (const record of readLog(handle, query)) yield toEntry(record);
  })();
}

/**
 * The same as text: each record's output as written (newlines included),
 * with `timestamps` prefixed by its RFC 3339 time and a space, like
 * `docker logs -t`.
 */
export function containerLogStream(handle: ContainerHandle, options: LogsOptions = {}): Readable {
  const query = parseQuery(options);
  handle.state();
  const timestamps = options.timestamps ?? false;
  return Readable.from(
    (async function* () {
      for await (const record of readLog(handle, query)) yield Buffer.from(timestamps ? `${record.time} ${record.log}` : record.log);
    })(),
    { objectMode: false },
  );
}
