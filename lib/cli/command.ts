/**
 * A subcommand: its usage, its flags (Docker's names), and what it does.
 * Each command file exports a `commands` table of these; main.ts loads a file
 * only when one of its commands runs.
 */
import type { CliContext } from './context.js';

/**
 * Runs `action` on each name in turn, as Docker does with several: prints
 * what it returns (the name when it returns nothing, nothing for ''), reports
 * a failure on stderr and goes on with the next; 1 when any failed.
 */
export async function eachName(names: readonly string[], ctx: CliContext, action: (name: string) => Promise<string | void>): Promise<number> {
  let code = 0;
  for (const name of names) {
    try {
      const printed = await action(name);
      if (printed !== '') ctx.stdout.write(`${printed ?? name}\n`);
    } catch (error) {
      ctx.stderr.write(`berth: ${error instanceof Error ? error.message : String(error)}\n`);
      code = 1;
    }
  }
  return code;
}

/** One flag. `--help` is added to every command. */
export interface FlagSpec {
  /** `boolean` takes no value; `string` takes one (`--name web`, `--name=web`, `-eK=V`). */
  type: 'boolean' | 'string';
  /** The one-letter form. */
  short?: string;
  /** May be given more than once (`-e A=1 -e B=2`): the values come as an array. */
  multiple?: boolean;
  /** Shown in `--help`. */
  description: string;
}

/** What a command's `run` receives. */
export interface ParsedArgs {
  /** Flags by long name: boolean, string, or string[] for `multiple` ones. */
  flags: Record<string, boolean | string | string[] | undefined>;
  /** The operands, in order. */
  args: string[];
}

/** A subcommand of `berth`. */
export interface CliCommand {
  /** `berth run [OPTIONS] IMAGE [COMMAND] [ARG...]`. */
  usage: string;
  /** One line, for `--help` and the command list. */
  summary: string;
  /** Its flags by long name. */
  flags: Record<string, FlagSpec>;
  /** Operands it needs at least / at most (default 0 / unlimited). */
  minArgs?: number;
  maxArgs?: number;
  /** Flags end at the first operand: the rest is the container's command (`run`, `exec`). */
  stopAtOperand?: boolean;
  /** Does the work; the exit code. */
  run(parsed: ParsedArgs, ctx: CliContext): Promise<number>;
}

/** A bad command line: Docker's message form, exit 125. */
export class UsageError extends Error {
  constructor(message: string, readonly command?: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The string value of a flag (the last one when repeated). */
export function stringFlag(parsed: ParsedArgs, name: string): string | undefined {
  const value = parsed.flags[name];
  if (Array.isArray(value)) return value.at(-1);
  return typeof value === 'string' ? value : undefined;
}

/** Every value of a repeatable flag. */
export function listFlag(parsed: ParsedArgs, name: string): string[] {
  const value = parsed.flags[name];
  if (Array.isArray(value)) return value;
  return typeof value === 'string' ? [value] : [];
}

/** A whole-number flag, or undefined; a UsageError names the flag for anything else. */
export function intFlag(parsed: ParsedArgs, name: string, min = Number.MIN_SAFE_INTEGER): number | undefined {
  const text = stringFlag(parsed, name);
  if (text === undefined) return undefined;
  if (!/^-?\d+$/.test(text) || Number(text) < min) throw new UsageError(`invalid argument "${text}" for "--${name}" flag: expected a whole number${min > Number.MIN_SAFE_INTEGER ? ` ≥ ${min}` : ''}`);
  return Number(text);
}

/** A number flag (`--cpus 1.5`). */
export function numberFlag(parsed: ParsedArgs, name: string): number | undefined {
  const text = stringFlag(parsed, name);
  if (text === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(text)) throw new UsageError(`invalid argument "${text}" for "--${name}" flag: expected a number`);
  return Number(text);
}

/** `KEY=VALUE` strings into a record (`--label a=b`); a bare key gets ''. */
export function keyValues(values: readonly string[], flag: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const value of values) {
    const at = value.indexOf('=');
    if (at === 0) throw new UsageError(`invalid argument "${value}" for "--${flag}" flag: expected KEY=VALUE`);
    if (at < 0) result[value] = '';
    else result[value.slice(0, at)] = value.slice(at + 1);
  }
  return result;
}
