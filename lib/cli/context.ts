/**
 * What every `berth` subcommand is handed: a way to open the runtime (lazily,
 * so `--help` and `--version` never touch the state root), where to write,
 * and whether the terminal is interactive.
 */
import type { Runtime } from '../runtime.js';

/** A sink for text: process.stdout/stderr, or a buffer in tests. */
export interface CliWriter {
  write(text: string): unknown;
}

/** The context a subcommand runs in. */
export interface CliContext {
  /** Opens the runtime at $BERTH_ROOT (default /var/lib/berth, or ~/.local/share/berth rootless); the same instance on every call. */
  runtime(): Promise<Runtime>;
  /** Standard output. */
  stdout: CliWriter;
  /** Standard error. */
  stderr: CliWriter;
  /** Whether standard output is a terminal (progress bars, live tables). */
  isTTY: boolean;
  /** The environment (for ${VAR} interpolation, DOCKER_CONFIG, BERTH_ROOT). */
  env: NodeJS.ProcessEnv;
}

/** The context of the real process: stdout/stderr, $BERTH_ROOT, one runtime opened on first use. */
export function processContext(): CliContext {
  let opened: Promise<Runtime> | undefined;
  return {
    runtime() {
      opened ??= import('../runtime.js').then(({ Runtime }) =>
        Runtime.open(process.env.BERTH_ROOT ? { root: process.env.BERTH_ROOT } : {}),
      );
      return opened;
    },
    stdout: process.stdout,
    stderr: process.stderr,
    isTTY: process.stdout.isTTY === true,
    env: process.env,
  };
}
