/**
 * Words of a Dockerfile instruction, as Docker's shell-like lexer reads them:
 * splitting on unquoted blanks, quotes, the escape character, and variable
 * substitution (`$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
 * `${VAR:+alt}`, `${VAR+alt}`, `${VAR:?message}`, `${VAR?message}`).
 */

/** A word as written (quotes and escapes kept) and where it starts in the text. */
export interface RawWord {
  text: string;
  offset: number;
}

/** A problem in a word: `offset` is where in the text it is. */
export class WordError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/** Looks a variable up: its value, or undefined when it is not set. */
export type Lookup = (name: string) => string | undefined;

const BLANK = /[ \t\r\n]/;

/**
 * Splits on unquoted blanks without interpreting anything: quotes and escapes
 * stay in the words (Docker's parser does this; substitution comes later).
 */
export function splitRawWords(text: string, escape: string): RawWord[] {
  const words: RawWord[] = [];
  let current = '';
  let start = -1;
  let quote = '';
  let braces = 0; // inside ${…}, blanks do not split
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote !== "'" && ch === '$' && text[i + 1] === '{') braces++;
    else if (braces > 0 && quote === '' && ch === '}') braces--;
    if (quote === '' && braces === 0 && BLANK.test(ch)) {
      if (start >= 0) words.push({ text: current, offset: start });
      current = '';
      start = -1;
      continue;
    }
    if (start < 0) start = i;
    current += ch;
    if (ch === escape && quote !== "'" && i + 1 < text.length) {
      current += text[++i];
      continue;
    }
    if (quote === '' && (ch === '"' || ch === "'")) quote = ch;
    else if (ch === quote) quote = '';
  }
  if (quote !== '') throw new WordError(`unterminated ${quote === '"' ? 'double' : 'single'} quote`, start);
  if (start >= 0) words.push({ text: current, offset: start });
  return words;
}

interface Expansion {
  /** The words (one, unless `split`). */
  words: string[];
}

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

/** The index of the `}` closing the `${` whose body starts at `from`. */
function closingBrace(text: string, from: number, escape: string): number {
  let depth = 1;
  let quote = '';
  for (let i = from; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === escape && quote !== "'") {
      i++;
      continue;
    }
    if (quote === '' && (ch === '"' || ch === "'")) quote = ch;
    else if (ch === quote) quote = '';
    else if (quote !== "'" && ch === '$' && text[i + 1] === '{') {
      depth++;
      i++;
    } else if (quote === '' && ch === '}' && --depth === 0) return i;
  }
  return -1;
}

/** A `${…}` starting at `start` (the `$`): its value and the index after it. */
function braced(text: string, start: number, lookup: Lookup, escape: string): { value: string; end: number } {
  const close = closingBrace(text, start + 2, escape);
  if (close < 0) throw new WordError('missing } in variable substitution', start);
  const body = text.slice(start + 2, close);
  const match = /^([A-Za-z_][A-Za-z0-9_]*|[0-9])(?:(:?[-+?])([\s\S]*))?$/.exec(body);
  if (!match) {
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(body)?.[0];
    if (name && /^[#%/]/.test(body.slice(name.length))) {
      throw new WordError(`unsupported modifier '${body[name.length]}' in \${${body}}; use :-, -, :+, +, :? or ?`, start);
    }
    throw new WordError(`bad substitution \${${body}}`, start);
  }
  const name = match[1]!;
  const modifier = match[2];
  const value = lookup(name);
  if (modifier === undefined) return { value: value ?? '', end: close + 1 };
  const word = () => expandWord(match[3]!, lookup, escape);
  const unsetOrEmpty = modifier.startsWith(':') ? value === undefined || value === '' : value === undefined;
  switch (modifier.at(-1)) {
    case '-':
      return { value: unsetOrEmpty ? word() : value!, end: close + 1 };
    case '+':
      return { value: unsetOrEmpty ? '' : word(), end: close + 1 };
    default: {
      if (!unsetOrEmpty) return { value: value!, end: close + 1 };
      const message = word();
      throw new WordError(`${name}: ${message === '' ? 'is not set' : message}`, start);
    }
  }
}

/**
 * The one lexer: quotes removed, escapes applied, variables substituted. In
 * `split` mode unquoted blanks (written or substituted) separate words.
 */
function lex(text: string, lookup: Lookup, escape: string, split: boolean, quotes = true): Expansion {
  const words: string[] = [];
  let current = '';
  let started = false; // a word is under way (also an empty quoted one: "")
  const finish = () => {
    if (started) words.push(current);
    current = '';
    started = false;
  };
  const substitute = (i: number, quoted: boolean): number => {
    // text[i] is '$'; returns the index after what it consumed
    const next = text[i + 1];
    let value: string;
    let end: number;
    if (next === '{') ({ value, end } = braced(text, i, lookup, escape));
    else if (next !== undefined && NAME_START.test(next)) {
      end = i + 2;
      while (end < text.length && NAME_CHAR.test(text[end]!)) end++;
      value = lookup(text.slice(i + 1, end)) ?? '';
    } else if (next !== undefined && /[0-9]/.test(next)) {
      end = i + 2;
      value = lookup(next) ?? '';
    } else {
      current += '$';
      started = true;
      return i + 1;
    }
    if (!split || quoted) {
      current += value;
      started = true;
      return end;
    }
    const parts = value.split(/[ \t\r\n]+/);
    parts.forEach((part, index) => {
      if (index > 0) finish();
      current += part;
      if (part !== '') started = true;
    });
    return end;
  };
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (split && BLANK.test(ch)) {
      finish();
      i++;
    } else if (ch === escape && !quotes) {
      // a heredoc body: only an escaped $ or escape character loses its escape, as in a shell heredoc
      const next = text[i + 1];
      current += next === '$' || next === escape ? next : ch;
      started = true;
      i += next === '$' || next === escape ? 2 : 1;
    } else if (ch === escape) {
      started = true;
      if (i + 1 < text.length) current += text[i + 1];
      else current += ch;
      i += 2;
    } else if (!quotes && (ch === "'" || ch === '"')) {
      current += ch;
      started = true;
      i++;
    } else if (ch === "'") {
      const close = text.indexOf("'", i + 1);
      if (close < 0) throw new WordError('unterminated single quote', i);
      current += text.slice(i + 1, close);
      started = true;
      i = close + 1;
    } else if (ch === '"') {
      started = true;
      i++;
      for (;;) {
        if (i >= text.length) throw new WordError('unterminated double quote', i);
        const inner = text[i]!;
        if (inner === '"') {
          i++;
          break;
        }
        if (inner === escape && i + 1 < text.length) {
          const escaped = text[i + 1]!;
          current += escaped === '"' || escaped === '$' || escaped === escape ? escaped : inner + escaped;
          i += 2;
        } else if (inner === '$') i = substitute(i, true);
        else {
          current += inner;
          i++;
        }
      }
    } else if (ch === '$') i = substitute(i, false);
    else {
      current += ch;
      started = true;
      i++;
    }
  }
  finish();
  return { words };
}

/** One word with quotes removed, escapes applied and variables substituted (blanks kept). */
export function expandWord(text: string, lookup: Lookup, escape: string): string {
  return lex(text, lookup, escape, false).words[0] ?? '';
}

/** Words after substitution: unquoted blanks, also in substituted values, separate them. */
export function expandWords(text: string, lookup: Lookup, escape: string): string[] {
  return lex(text, lookup, escape, true).words;
}

/** A heredoc body with variables substituted; quotes are plain characters, as in a shell heredoc. */
export function expandHeredoc(text: string, lookup: Lookup, escape: string): string {
  return lex(text, lookup, escape, false, false).words[0] ?? '';
}
