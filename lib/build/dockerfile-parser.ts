/**
 * The Dockerfile parser: raw instructions (dockerfile-lexer.ts) read into
 * typed ones, grouped into stages. Pure: no file system, no images.
 */
import type {
  ArgInstruction,
  CommandForm,
  CopyInstruction,
  Dockerfile,
  FromInstruction,
  HealthcheckInstruction,
  Instruction,
  Stage,
} from './dockerfile-ast.js';
import { errorAt, lexDockerfile, wordError, type RawInstruction } from './dockerfile-lexer.js';
import { splitRawWords, type RawWord } from './dockerfile-words.js';
import { DockerfileError } from '../errors.js';

interface FlagSpec {
  /** `multi`: may repeat (values collected); `bool`: `--x` or `--x=true|false`. */
  kind: 'string' | 'multi' | 'bool';
}

const FLAGS: Record<string, Record<string, FlagSpec>> = {
  FROM: { platform: { kind: 'string' } },
  RUN: { mount: { kind: 'multi' }, network: { kind: 'string' }, security: { kind: 'string' } },
  COPY: {
    from: { kind: 'string' },
    chown: { kind: 'string' },
    chmod: { kind: 'string' },
    link: { kind: 'bool' },
    exclude: { kind: 'multi' },
    parents: { kind: 'bool' },
  },
  ADD: {
    chown: { kind: 'string' },
    chmod: { kind: 'string' },
    link: { kind: 'bool' },
    exclude: { kind: 'multi' },
    checksum: { kind: 'string' },
    'keep-git-dir': { kind: 'bool' },
  },
  HEALTHCHECK: {
    interval: { kind: 'string' },
    timeout: { kind: 'string' },
    'start-period': { kind: 'string' },
    'start-interval': { kind: 'string' },
    retries: { kind: 'string' },
  },
};

const INSTRUCTIONS = new Set([
  'FROM',
  'RUN',
  'COPY',
  'ADD',
  'WORKDIR',
  'ENV',
  'EXPOSE',
  'CMD',
  'ENTRYPOINT',
  'USER',
  'LABEL',
  'VOLUME',
  'STOPSIGNAL',
  'HEALTHCHECK',
  'SHELL',
  'ONBUILD',
  'ARG',
  'MAINTAINER',
]);

type Flags = { strings: Map<string, string>; multi: Map<string, string[]>; bools: Map<string, boolean> };

/** Leading `--name[=value]` words; returns them and the offset where the arguments start. */
function readFlags(raw: RawInstruction, words: RawWord[]): { flags: Flags; rest: RawWord[] } {
  const allowed = FLAGS[raw.keyword] ?? {};
  const flags: Flags = { strings: new Map(), multi: new Map(), bools: new Map() };
  let index = 0;
  for (; index < words.length; index++) {
    const word = words[index]!;
    if (!word.text.startsWith('--')) break;
    const match = /^--([A-Za-z][A-Za-z0-9-]*)(?:=([\s\S]*))?$/.exec(word.text);
    const name = match?.[1];
    const spec = name === undefined ? undefined : allowed[name];
    if (!match || !spec) {
      const known = Object.keys(allowed).map((f) => `--${f}`);
      throw errorAt(raw, `unknown flag ${word.text.split('=')[0]} for ${raw.keyword}${known.length ? ` (it takes ${known.join(', ')})` : ''}`, word.offset);
    }
    const value = match[2];
    if (spec.kind === 'bool') {
      if (value !== undefined && value !== 'true' && value !== 'false') throw errorAt(raw, `--${name} takes true or false, not '${value}'`, word.offset);
      flags.bools.set(name!, value !== 'false');
    } else if (value === undefined) {
      throw errorAt(raw, `--${name} needs a value (--${name}=…)`, word.offset);
    } else if (spec.kind === 'multi') {
      flags.multi.set(name!, [...(flags.multi.get(name!) ?? []), value]);
    } else {
      if (flags.strings.has(name!)) throw errorAt(raw, `--${name} is given twice`, word.offset);
      flags.strings.set(name!, value);
    }
  }
  return { flags, rest: words.slice(index) };
}

/** The JSON form's strings when `text` is a JSON array of strings. */
function jsonArray(text: string): string[] | undefined {
  if (!text.startsWith('[')) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (Array.isArray(parsed) && parsed.every((item) => typeof item === 'string')) return parsed as string[];
  } catch {
    // not JSON: the shell form
  }
  return undefined;
}

function commandForm(text: string): CommandForm {
  const exec = jsonArray(text);
  return exec ? { exec } : { shell: text };
}

/** Go's time.ParseDuration, in nanoseconds. */
export function parseDuration(text: string): number | undefined {
  const units: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  if (text === '0') return 0;
  const pattern = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let position = 0;
  while (position < text.length) {
    pattern.lastIndex = position;
    const match = pattern.exec(text);
    if (!match) return undefined;
    total += Number(match[1]) * units[match[2]!]!;
    position = pattern.lastIndex;
  }
  return position === 0 ? undefined : Math.round(total);
}

/** `KEY=value …` pairs, or the legacy `KEY value` (one pair, the rest of the line). */
function pairs(raw: RawInstruction, words: RawWord[], text: string): [string, string][] {
  if (words.length === 0) throw errorAt(raw, `${raw.keyword} needs at least one argument (KEY=value)`);
  const first = words[0]!;
  if (!first.text.includes('=')) {
    if (words.length < 2) throw errorAt(raw, `${raw.keyword} ${first.text}: a value is missing; write ${first.text}=value`, first.offset);
    return [[first.text, text.slice(words[1]!.offset).trim()]];
  }
  return words.map((word) => {
    const equals = word.text.indexOf('=');
    if (equals <= 0) throw errorAt(raw, `'${word.text}' is not KEY=value`, word.offset);
    return [word.text.slice(0, equals), word.text.slice(equals + 1)];
  });
}

const ARG_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const STAGE_NAME = /^[a-z][a-z0-9_.-]*$/;

function healthcheck(raw: RawInstruction, flags: Flags, args: RawWord[]): Omit<HealthcheckInstruction, 'location' | 'original' | 'kind'> {
  const first = args[0];
  if (!first) throw errorAt(raw, 'HEALTHCHECK needs NONE or CMD followed by a command');
  const type = first.text.toUpperCase();
  if (type === 'NONE') {
    if (args.length > 1 || flags.strings.size > 0) throw errorAt(raw, 'HEALTHCHECK NONE takes no other arguments or flags', first.offset);
    return { test: ['NONE'] };
  }
  if (type !== 'CMD') throw errorAt(raw, `HEALTHCHECK needs NONE or CMD, not '${first.text}'`, first.offset);
  const commandText = args[1] ? raw.rest.slice(args[1].offset).trim() : '';
  if (commandText === '') throw errorAt(raw, 'HEALTHCHECK CMD needs a command', first.offset);
  const command = commandForm(commandText);
  const result: Omit<HealthcheckInstruction, 'location' | 'original' | 'kind'> = {
    test: 'exec' in command ? ['CMD', ...command.exec] : ['CMD-SHELL', command.shell],
  };
  const durations = [
    ['interval', 'interval'],
    ['timeout', 'timeout'],
    ['start-period', 'startPeriod'],
    ['start-interval', 'startInterval'],
  ] as const;
  for (const [flag, field] of durations) {
    const value = flags.strings.get(flag);
    if (value === undefined) continue;
    const ns = parseDuration(value);
    if (ns === undefined) throw errorAt(raw, `--${flag}=${value} is not a duration (30s, 1m30s, 500ms)`);
    if (ns !== 0 && ns < 1e6) throw errorAt(raw, `--${flag}=${value} is shorter than the minimum of 1ms`);
    result[field] = ns;
  }
  const retries = flags.strings.get('retries');
  if (retries !== undefined) {
    if (!/^\d+$/.test(retries)) throw errorAt(raw, `--retries=${retries} is not a whole number`);
    result.retries = Number(retries);
  }
  return result;
}

function copy(raw: RawInstruction, flags: Flags, args: RawWord[], text: string): CopyInstruction {
  const json = jsonArray(text);
  const words = json ?? args.map((word) => word.text);
  if (words.length < 2) throw errorAt(raw, `${raw.keyword} needs at least one source and a destination`);
  if (raw.keyword === 'ADD' && flags.strings.has('from')) throw errorAt(raw, 'ADD does not take --from; use COPY --from');
  return {
    kind: raw.keyword as 'COPY' | 'ADD',
    location: raw.location,
    original: raw.original,
    sources: words.slice(0, -1),
    destination: words.at(-1)!,
    heredocs: raw.heredocs,
    ...(flags.strings.has('from') ? { from: flags.strings.get('from') } : {}),
    ...(flags.strings.has('chown') ? { chown: flags.strings.get('chown') } : {}),
    ...(flags.strings.has('chmod') ? { chmod: flags.strings.get('chmod') } : {}),
    ...(flags.strings.has('checksum') ? { checksum: flags.strings.get('checksum') } : {}),
    link: flags.bools.get('link') ?? false,
    exclude: flags.multi.get('exclude') ?? [],
    parents: flags.bools.get('parents') ?? false,
    keepGitDir: flags.bools.get('keep-git-dir') ?? false,
  };
}

function from(raw: RawInstruction, flags: Flags, args: RawWord[]): FromInstruction {
  const shape = args.length === 1 || (args.length === 3 && args[1]!.text.toUpperCase() === 'AS');
  if (!shape) throw errorAt(raw, 'FROM takes an image and optionally AS name: FROM image [AS name]', args[1]?.offset ?? 0);
  const instruction: FromInstruction = { kind: 'FROM', location: raw.location, original: raw.original, image: args[0]!.text };
  if (args.length === 3) {
    const name = args[2]!.text.toLowerCase();
    if (!STAGE_NAME.test(name)) throw errorAt(raw, `invalid stage name '${args[2]!.text}': use letters, digits, '_', '-' and '.', starting with a letter`, args[2]!.offset);
    instruction.name = name;
  }
  const platform = flags.strings.get('platform');
  if (platform !== undefined) instruction.platform = platform;
  return instruction;
}

/** One raw instruction read into a typed one. */
function parseInstruction(raw: RawInstruction, escape: string, warnings: string[]): Instruction {
  if (!INSTRUCTIONS.has(raw.keyword)) {
    throw new DockerfileError(`unknown instruction ${raw.original.split(/\s/)[0]}`, raw.location);
  }
  let words: RawWord[];
  try {
    words = splitRawWords(raw.rest, escape);
  } catch (error) {
    wordError(raw, error);
  }
  const { flags, rest: args } = readFlags(raw, words);
  const text = raw.rest.slice(args[0]?.offset ?? raw.rest.length).trim();
  const base = { location: raw.location, original: raw.original };
  const needs = (what: string) => {
    if (text === '') throw errorAt(raw, `${raw.keyword} needs ${what}`);
  };
  switch (raw.keyword) {
    case 'FROM':
      needs('an image (FROM image [AS name])');
      return from(raw, flags, args);
    case 'RUN':
      needs('a command');
      return {
        kind: 'RUN',
        ...base,
        command: commandForm(text),
        heredocs: raw.heredocs,
        mounts: flags.multi.get('mount') ?? [],
        ...(flags.strings.has('network') ? { network: flags.strings.get('network') } : {}),
        ...(flags.strings.has('security') ? { security: flags.strings.get('security') } : {}),
      };
    case 'COPY':
    case 'ADD':
      return copy(raw, flags, args, text);
    case 'CMD':
    case 'ENTRYPOINT':
      needs('a command');
      return { kind: raw.keyword, ...base, command: commandForm(text) };
    case 'SHELL': {
      const shell = jsonArray(text);
      if (!shell || shell.length === 0) throw errorAt(raw, 'SHELL needs the JSON form: SHELL ["executable", "parameters"]');
      return { kind: 'SHELL', ...base, shell };
    }
    case 'ENV':
    case 'LABEL':
      return { kind: raw.keyword, ...base, pairs: pairs(raw, args, raw.rest) };
    case 'ARG': {
      if (args.length === 0) throw errorAt(raw, 'ARG needs a name (ARG name[=default])');
      return {
        kind: 'ARG',
        ...base,
        args: args.map((word) => {
          const equals = word.text.indexOf('=');
          const name = equals < 0 ? word.text : word.text.slice(0, equals);
          if (!ARG_NAME.test(name)) throw errorAt(raw, `invalid ARG name '${name}'`, word.offset);
          return equals < 0 ? { name } : { name, default: word.text.slice(equals + 1) };
        }),
      };
    }
    case 'WORKDIR':
    case 'USER':
    case 'STOPSIGNAL':
    case 'MAINTAINER':
      needs(raw.keyword === 'WORKDIR' ? 'a path' : 'a value');
      if (raw.keyword === 'MAINTAINER') warnings.push(`${raw.location.file}:${raw.location.line}: MAINTAINER is deprecated; use LABEL maintainer=…`);
      if (raw.keyword === 'STOPSIGNAL' && args.length > 1) throw errorAt(raw, 'STOPSIGNAL takes one signal', args[1]!.offset);
      return { kind: raw.keyword, ...base, value: text };
    case 'EXPOSE':
    case 'VOLUME': {
      needs(raw.keyword === 'EXPOSE' ? 'a port' : 'a path');
      const json = raw.keyword === 'VOLUME' ? jsonArray(text) : undefined;
      return { kind: raw.keyword, ...base, items: json ?? args.map((word) => word.text), json: json !== undefined };
    }
    case 'HEALTHCHECK':
      return { kind: 'HEALTHCHECK', ...base, ...healthcheck(raw, flags, args) };
    default: {
      // ONBUILD
      needs('an instruction');
      const match = /^(\S+)([ \t]*)([\s\S]*)$/.exec(text)!;
      const keyword = match[1]!.toUpperCase();
      if (keyword === 'ONBUILD' || keyword === 'FROM' || keyword === 'MAINTAINER') {
        throw errorAt(raw, `${keyword} is not allowed as an ONBUILD trigger`, args[0]!.offset);
      }
      const inner: RawInstruction = {
        keyword,
        rest: match[3]!,
        location: raw.location,
        restColumn: raw.restColumn + args[0]!.offset + match[1]!.length + match[2]!.length,
        restOnFirstLine: raw.restOnFirstLine - args[0]!.offset - match[1]!.length - match[2]!.length,
        original: text,
        heredocs: [],
      };
      return { kind: 'ONBUILD', ...base, trigger: text, instruction: parseInstruction(inner, escape, warnings) };
    }
  }
}

/**
 * Parses a Dockerfile.
 * @param source its text.
 * @param file its name, for messages (`Dockerfile`).
 * @throws DockerfileError naming file, line and column of the first problem.
 */
export function parseDockerfile(source: string, file = 'Dockerfile'): Dockerfile {
  const lexed = lexDockerfile(source, file);
  const warnings: string[] = [];
  if (lexed.directives.syntax !== undefined) warnings.push(`the syntax directive (${lexed.directives.syntax}) is ignored: berth parses the Dockerfile itself`);
  const metaArgs: ArgInstruction[] = [];
  const stages: Stage[] = [];
  const names = new Set<string>();
  for (const raw of lexed.instructions) {
    const instruction = parseInstruction(raw, lexed.escape, warnings);
    if (instruction.kind === 'FROM') {
      if (instruction.name !== undefined) {
        if (names.has(instruction.name)) throw new DockerfileError(`the stage name '${instruction.name}' is used twice`, raw.location);
        names.add(instruction.name);
      }
      stages.push({ index: stages.length, ...(instruction.name === undefined ? {} : { name: instruction.name }), from: instruction, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.kind !== 'ARG') throw new DockerfileError(`${raw.keyword} before the first FROM: only ARG may come before FROM`, raw.location);
      metaArgs.push(instruction);
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  if (stages.length === 0) throw new DockerfileError('the Dockerfile has no FROM instruction', { file, line: Math.max(1, source.split('\n').length), column: 1 });
  return { escape: lexed.escape, directives: lexed.directives, metaArgs, stages, warnings };
}
