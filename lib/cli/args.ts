/**
 * Parsing a command line with node's own util.parseArgs (no dependency, no
 * load time), plus what Docker's CLI does that parseArgs does not: flags end
 * at the first operand for `run`/`exec` (`berth run busybox ls -l`), and
 * `--help` on every command.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError, type CliCommand, type FlagSpec, type ParsedArgs } from './command.js';

const HELP: FlagSpec = { type: 'boolean', description: 'Print usage' };

/** Where the flags end for a command whose first operand starts the container's command. */
function firstOperand(argv: readonly string[], flags: Record<string, FlagSpec>): number {
  const takesValue = new Set<string>();
  for (const [name, spec] of Object.entries(flags)) {
    if (spec.type === 'string') {
      takesValue.add(`--${name}`);
      if (spec.short) takesValue.add(`-${spec.short}`);
    }
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return i;
    if (arg.startsWith('--')) {
      if (!arg.includes('=') && takesValue.has(arg)) i++;
    } else if (arg.startsWith('-') && arg.length > 1) {
      // a group of short flags: the first one that takes a value takes the rest, or the next argument
      for (let c = 1; c < arg.length; c++) {
        if (takesValue.has(`-${arg[c]}`)) {
          if (c === arg.length - 1) i++;
          break;
        }
      }
    } else {
      return i;
    }
  }
  return argv.length;
}

/** The parsed flags and operands, or 'help' when `--help` was given. */
export function parseCommandLine(name: string, command: CliCommand, argv: readonly string[]): ParsedArgs | 'help' {
  const flags = { ...command.flags, help: HELP };
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const [long, spec] of Object.entries(flags)) {
    options[long] = { type: spec.type, ...(spec.short ? { short: spec.short } : {}), ...(spec.multiple ? { multiple: true } : {}) };
  }
  let head = [...argv];
  let tail: string[] = [];
  if (command.stopAtOperand) {
    const at = firstOperand(argv, flags);
    head = argv.slice(0, at);
    tail = argv.slice(at);
    if (tail[0] === '--') tail.shift();
  }
  let parsed;
  try {
    parsed = parseArgs({ args: head, options, allowPositionals: true, strict: true });
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    const unknown = /^Unknown option '([^']+)'/.exec(text);
    const message = unknown ? `unknown flag: ${unknown[1]}` : text.split('\n')[0]!;
    throw new UsageError(message, name);
  }
  if (parsed.values.help) return 'help';
  const args = [...parsed.positionals, ...tail];
  if (args.length < (command.minArgs ?? 0)) {
    throw new UsageError(`"berth ${name}" requires at least ${command.minArgs} argument${command.minArgs === 1 ? '' : 's'}.\nUsage:  ${command.usage}`, name);
  }
  if (command.maxArgs !== undefined && args.length > command.maxArgs) {
    throw new UsageError(`"berth ${name}" accepts at most ${command.maxArgs} argument${command.maxArgs === 1 ? '' : 's'}.\nUsage:  ${command.usage}`, name);
  }
  const { help: _help, ...values } = parsed.values;
  return { flags: values as ParsedArgs['flags'], args };
}

/** `--help` text: usage, summary, flags in Docker's layout. */
export function helpText(command: CliCommand): string {
  const rows = Object.entries({ ...command.flags, help: HELP }).map(([long, spec]) => {
    const left = `${spec.short ? `-${spec.short}, ` : '    '}--${long}${spec.type === 'string' ? ' string' : ''}`;
    return [left, spec.description + (spec.multiple ? ' (repeatable)' : '')] as const;
  });
  const width = Math.max(...rows.map(([left]) => left.length));
  return `\nUsage:  ${command.usage}\n\n${command.summary}\n\nOptions:\n${rows.map(([left, right]) => `  ${left.padEnd(width)}   ${right}`).join('\n')}\n`;
}
