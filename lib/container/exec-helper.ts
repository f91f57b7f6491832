import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import type { Socket } from 'node:net';
import { BerthError, ContainerSetupError, errnoName } from '../errors.js';
import { sealedHelper } from '../native/addon.js';
import { encodeSpec, type SpecRecord } from './spec-encoding.js';

export type { SpecValue } from './spec-encoding.js';

/** The events berth-exec writes on its control socket (fd 3), one JSON object per line. */
export type HelperEvent =
  | { event: 'started'; pid: number }
  | { event: 'ready'; pid: number }
  | { event: 'map'; pid: number }
  | { event: 'done' }
  | { event: 'error'; step: string; syscall: string; errno: number; path: string }
  | { event: 'exited'; exitCode: number; signal: number };

/** A running berth-exec: its process, its control socket and the events it sent. */
export class ExecHelper {
  private buffered = '';
  private readonly queue: HelperEvent[] = [];
  private waiter: ((event: HelperEvent | undefined) => void) | undefined;
  private closed = false;

  private constructor(
    readonly child: ChildProcess,
    readonly control: Socket,
  ) {
    control.setEncoding('utf8');
    control.on('data', (chunk: string) => {
      this.buffered += chunk;
      let newline: number;
      while ((newline = this.buffered.indexOf('\n')) >= 0) {
        const line = this.buffered.slice(0, newline);
        this.buffered = this.buffered.slice(newline + 1);
        try {
          this.push(JSON.parse(line) as HelperEvent);
        } catch {
          this.push({ event: 'error', step: 'helper', syscall: 'read', errno: 71 /* EPROTO */, path: line.slice(0, 200) });
        }
      }
    });
    control.on('error', () => control.destroy());
    control.once('close', () => {
      this.closed = true;
      this.waiter?.(undefined);
      this.waiter = undefined;
    });
  }

  /**
   * Starts `berth-exec <mode>` from its sealed copy and writes its spec.
   * @param stdio what fds 0-2 get (fd 3 is always the control socket)
   */
  static start(mode: 'exec' | 'mount' | 'userns-files', spec: readonly SpecRecord[], stdio: StdioOptions = 'ignore'): ExecHelper {
    const fds = (Array.isArray(stdio) ? stdio : [stdio, stdio, stdio]).slice(0, 3);
    // encoded first: a bad value throws before berth-exec reads anything
    const input = encodeSpec([['mode', mode], ...spec, ['end', '']]);
    // /proc/self/fd/<n> resolves in the child, which has the (close-on-exec)
    // memfd until the execve that opens it: the file on disk never runs.
    const helper = sealedHelper('berth-exec');
    const child = spawn(helper.path, [mode], { argv0: helper.argv0, stdio: [...fds, 'pipe'] as StdioOptions });
    const control = child.stdio[3] as Socket;
    const started = new ExecHelper(child, control);
    control.write(input);
    return started;
  }

  /** The next event; `undefined` once the socket closed (berth-exec exited). */
  next(): Promise<HelperEvent | undefined> {
    const event = this.queue.shift();
    if (event || this.closed) return Promise.resolve(event);
    return new Promise((resolve) => (this.waiter = resolve));
  }

  /** Sends control records (`resize`, `signal`); ignored once berth-exec is gone. */
  send(records: readonly SpecRecord[]): void {
    if (!this.closed && this.control.writable) this.control.write(encodeSpec(records));
  }

  /** Closes our end of the control socket (a mount helper exits then). */
  release(): void {
    this.control.end();
  }

  /** Resolves once the process has exited, with how it ended. */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      return Promise.resolve({ code: this.child.exitCode, signal: this.child.signalCode });
    }
    return new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  private push(event: HelperEvent): void {
    if (this.waiter) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter(event);
    } else {
      this.queue.push(event);
    }
  }
}

/** An `error` event as a typed error: `exec failed at step 'cwd': chdir `/nope`: ENOENT`. */
export function helperError(
  what: string,
  event: Extract<HelperEvent, { event: 'error' }>,
  containerId: string,
  ErrorClass: typeof BerthError = ContainerSetupError,
): BerthError {
  const code = errnoName(event.errno);
  const where = event.path ? ` \`${event.path}\`` : '';
  return new ErrorClass(`${what} failed at step '${event.step}': ${event.syscall}${where}: ${code}${hint(event.step, code)}`, {
    step: event.step, syscall: event.syscall, errno: event.errno, code, path: event.path, containerId,
  });
}

function hint(step: string, code: string): string {
  if (step === 'exec' && code === 'ENOENT') return ' (the command is not in the container, or not on its PATH)';
  if (step === 'exec' && code === 'EACCES') return ' (the command is not executable)';
  if (step === 'cwd' && code === 'ENOENT') return ' (the working directory does not exist in the container)';
  if (step === 'namespaces' && code === 'ESRCH') return ' (the container is no longer running)';
  return '';
}
