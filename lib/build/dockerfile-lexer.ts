/**
 * The first pass over a Dockerfile: parser directives, comments, line
 * continuations and heredocs, giving one raw instruction (keyword, the rest
 * of its logical line, its heredoc bodies, where it is) per instruction.
 */
import { DockerfileError, type DockerfileLocation } from '../errors.js';
import { splitRawWords, WordError } from './dockerfile-words.js';

/** A heredoc (`<<EOF` … `EOF`) attached to an instruction. */
export interface Heredoc {
  /** The terminator word (`EOF`). */
  name: string;
  /** The body, each line ending in a newline. */
  content: string;
  /** False when the terminator was quoted (`<<"EOF"`): no substitution in the body. */
  expand: boolean;
}

/** An instruction before its arguments are read. */
export interface RawInstruction {
  /** Upper-case keyword (`RUN`). */
  keyword: string;
  /** The rest of the logical line, continuations joined. */
  rest: string;
  /** Where the keyword is. */
  location: DockerfileLocation;
  /** The column (1-based) where `rest` starts on the instruction's first line. */
  restColumn: number;
  /** How much of `rest` is on the first line (offsets past it are on continuation lines). */
  restOnFirstLine: number;
  /** The instruction as written, continuations joined (for history and messages). */
  original: string;
  /** Heredocs, in order. */
  heredocs: Heredoc[];
}

/** What the lexer found. */
export interface LexedDockerfile {
  /** The escape character (`\` or `` ` ``). */
  escape: string;
  /** Parser directives (`syntax`, `escape`, `check`), lower-case names. */
  directives: Record<string, string>;
  instructions: RawInstruction[];
}

const DIRECTIVE = /^#[ \t]*([A-Za-z][A-Za-z0-9_-]*)[ \t]*=[ \t]*(.*?)[ \t]*$/;
const KNOWN_DIRECTIVES = new Set(['syntax', 'escape', 'check']);
/** Instructions whose arguments may start heredocs. */
const HEREDOC_INSTRUCTIONS = new Set(['RUN', 'COPY', 'ADD']);
const HEREDOC_WORD = /^<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_.-]*)\2$/;

function readDirectives(lines: string[], file: string): { directives: Record<string, string>; next: number } {
  const directives: Record<string, string> = {};
  let next = 0;
  for (; next < lines.length; next++) {
    const match = DIRECTIVE.exec(lines[next]!);
    if (!match) break;
    const name = match[1]!.toLowerCase();
    if (!KNOWN_DIRECTIVES.has(name)) break; // an unknown directive is a comment, and ends the directives
    if (name in directives) throw new DockerfileError(`the parser directive '${name}' is given twice`, { file, line: next + 1, column: 1 });
    directives[name] = match[2]!;
  }
  const escape = directives.escape;
  if (escape !== undefined && escape !== '\\' && escape !== '`') {
    const line = lines.findIndex((l) => DIRECTIVE.exec(l)?.[1]!.toLowerCase() === 'escape') + 1;
    throw new DockerfileError(`invalid escape character '${escape}': it must be \\ or \``, { file, line, column: 1 });
  }
  return { directives, next };
}

const isComment = (line: string) => /^[ \t]*#/.test(line);
const isBlank = (line: string) => /^[ \t]*$/.test(line);

/**
 * The physical lines of the logical line that starts at `start`: comment and
 * blank lines inside a continuation are dropped, as Docker does.
 */
function logicalLine(lines: string[], start: number, escape: string): { text: string; next: number; firstLength: number } {
  const continuation = new RegExp(`${escape === '\\' ? '\\\\' : '`'}[ \\t]*$`);
  let text = '';
  let index = start;
  let firstLength = -1;
  for (;;) {
    const line = lines[index]!;
    index++;
    const match = continuation.exec(line);
    if (!match) return { text: text + line, next: index, firstLength: firstLength < 0 ? line.length : firstLength };
    text += line.slice(0, match.index);
    if (firstLength < 0) firstLength = match.index;
    while (index < lines.length && (isComment(lines[index]!) || isBlank(lines[index]!))) index++;
    if (index >= lines.length) return { text, next: index, firstLength };
  }
}

/** Reads the heredoc bodies named in `rest` from the lines after the instruction. */
function readHeredocs(rest: string, lines: string[], next: number, escape: string, location: DockerfileLocation): { heredocs: Heredoc[]; next: number } {
  const heredocs: Heredoc[] = [];
  let words;
  try {
    words = splitRawWords(rest, escape);
  } catch {
    return { heredocs, next }; // a quoting problem is reported when the arguments are read
  }
  for (const word of words) {
    const match = HEREDOC_WORD.exec(word.text);
    if (!match) continue;
    const [, strip, quote, name] = match;
    const body: string[] = [];
    for (;;) {
      if (next >= lines.length) throw new DockerfileError(`the heredoc <<${name} is not terminated: no line '${name}' follows`, location);
      let line = lines[next++]!;
      if (strip) line = line.replace(/^\t+/, '');
      if (line === name) break;
      body.push(line);
    }
    heredocs.push({ name: name!, content: body.map((line) => `${line}\n`).join(''), expand: quote === '' });
  }
  return { heredocs, next };
}

/** Splits a Dockerfile into raw instructions. */
export function lexDockerfile(source: string, file: string): LexedDockerfile {
  const lines = source.replace(/^\uFEFF/, '').split(/\r?\n/);
  const { directives, next: first } = readDirectives(lines, file);
  const escape = directives.escape ?? '\\';
  const instructions: RawInstruction[] = [];
  let index = first;
  while (index < lines.length) {
    const line = lines[index]!;
    if (isComment(line) || isBlank(line)) {
      index++;
      continue;
    }
    const lineNumber = index + 1;
    const logical = logicalLine(lines, index, escape);
    index = logical.next;
    const match = /^([ \t]*)(\S+)([ \t]*)([\s\S]*)$/.exec(logical.text)!;
    const location: DockerfileLocation = { file, line: lineNumber, column: match[1]!.length + 1 };
    const keyword = match[2]!.toUpperCase();
    const rest = match[4]!.replace(/[ \t]+$/, '');
    const restColumn = match[1]!.length + match[2]!.length + match[3]!.length + 1;
    let heredocs: Heredoc[] = [];
    if (HEREDOC_INSTRUCTIONS.has(keyword) && rest.includes('<<')) ({ heredocs, next: index } = readHeredocs(rest, lines, index, escape, location));
    const restOnFirstLine = logical.firstLength - (restColumn - 1);
    instructions.push({ keyword, rest, location, restColumn, restOnFirstLine, original: `${match[2]} ${rest}`.trim(), heredocs });
  }
  return { escape, directives, instructions };
}

/** A DockerfileError at a word's offset within an instruction's rest (when it is on the first line). */
export function errorAt(instruction: RawInstruction, message: string, offset = 0): DockerfileError {
  const onFirstLine = offset < instruction.restOnFirstLine;
  return new DockerfileError(message, {
    ...instruction.location,
    column: onFirstLine ? instruction.restColumn + offset : instruction.location.column,
  });
}

/** Turns a word problem into a DockerfileError at its place. */
export function wordError(instruction: RawInstruction, error: unknown, offsetBase = 0): never {
  if (error instanceof WordError) throw errorAt(instruction, error.message, offsetBase + error.offset);
  throw error;
}
