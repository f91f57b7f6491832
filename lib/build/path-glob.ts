/**
 * Path patterns as Docker reads them (.dockerignore, COPY sources and
 * `--exclude`): Go's filepath.Match per path element (`*`, `?`, `[a-z]`,
 * `[^a-z]`, `\` escapes) plus `**`, any number of elements (also none).
 */

/** A pattern that is not one: an unterminated `[` or a trailing `\`. */
export class GlobError extends Error {}

/** Whether `pattern` has anything but literal characters. */
export function hasWildcards(pattern: string): boolean {
  return /[*?[\\]/.test(pattern);
}

/** The `[…]` class starting at `start`; returns its regex source and the index after it. */
function charClass(pattern: string, start: number): { source: string; end: number } {
  let i = start + 1;
  let source = '[';
  if (pattern[i] === '^') {
    source += '^';
    i++;
  }
  let first = true;
  for (; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === ']' && !first) return { source: `${source}]`, end: i + 1 };
    first = false;
    if (ch === '\\') {
      i++;
      if (i >= pattern.length) break;
      source += `\\${pattern[i]}`;
    } else if (ch === '-' && source.length > 1 && pattern[i + 1] !== ']') source += '-';
    else if (ch === '/') throw new GlobError(`'/' cannot be in a character class: ${pattern}`);
    else source += /[\]\\^-]/.test(ch) ? `\\${ch}` : ch;
  }
  throw new GlobError(`unterminated character class in ${pattern}`);
}

/**
 * A regular expression for a cleaned, relative pattern (`a/**\/b*`),
 * anchored at both ends.
 * @throws GlobError for a malformed pattern.
 */
export function compileGlob(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*' && pattern[i + 1] === '*') {
      const atStart = i === 0 || pattern[i - 1] === '/';
      i++;
      if (atStart && pattern[i + 1] === '/') {
        source += '(?:.*/)?'; // "**/": any directories, also none
        i++;
      } else source += '.*';
    } else if (ch === '*') source += '[^/]*';
    else if (ch === '?') source += '[^/]';
    else if (ch === '[') {
      const cls = charClass(pattern, i);
      source += cls.source;
      i = cls.end - 1;
    } else if (ch === '\\') {
      i++;
      if (i >= pattern.length) throw new GlobError(`a trailing \\ in ${pattern}`);
      source += escapeRegex(pattern[i]!);
    } else source += escapeRegex(ch);
  }
  return new RegExp(`^${source}$`, 's');
}

function escapeRegex(ch: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(ch) ? `\\${ch}` : ch;
}

/** `path` cleaned as Go's path.Clean does, relative (`./a//b/../c/` → `a/c`; the root → `.`). */
export function cleanRelative(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length > 0 && parts.at(-1) !== '..') parts.pop();
      else parts.push('..');
    } else parts.push(part);
  }
  return parts.length === 0 ? '.' : parts.join('/');
}
