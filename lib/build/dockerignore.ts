/**
 * `.dockerignore`: which files of the build context a build sees. Docker's
 * rules: one pattern a line, `#` comments, patterns relative to the context
 * root (a leading `/` or `./` is dropped, the path cleaned), `!` marks an
 * exception, the last matching line decides, and a pattern that matches a
 * directory matches everything below it.
 */
import { cleanRelative, compileGlob, GlobError } from './path-glob.js';

interface Pattern {
  text: string;
  regex: RegExp;
  exception: boolean;
}

/** A line of .dockerignore that is not a pattern (`line` is 1-based). */
export class DockerignoreError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

/** Decides for paths relative to the context root whether they are excluded. */
export class PathMatcher {
  private readonly patterns: Pattern[];

  /**
   * @param lines the patterns (`!` exceptions included), in order.
   * @throws DockerignoreError naming a malformed pattern's line.
   */
  constructor(lines: readonly string[]) {
    this.patterns = [];
    lines.forEach((line, index) => {
      let text = line.trim();
      if (text === '' || text.startsWith('#')) return;
      const exception = text.startsWith('!');
      if (exception) text = text.slice(1).trim();
      if (text === '') throw new DockerignoreError("'!' without a pattern", index + 1);
      text = cleanRelative(text);
      try {
        this.patterns.push({ text, regex: compileGlob(text), exception });
      } catch (error) {
        if (error instanceof GlobError) throw new DockerignoreError(error.message, index + 1);
        throw error;
      }
    });
  }

  /** Whether any pattern is an exception (then an excluded directory must still be walked). */
  get hasExceptions(): boolean {
    return this.patterns.some((p) => p.exception);
  }

  /** Whether there are no patterns at all. */
  get empty(): boolean {
    return this.patterns.length === 0;
  }

  /** Whether `path` (relative, `/`-separated, cleaned) is excluded. */
  excludes(path: string): boolean {
    const elements = path.split('/');
    let excluded = false;
    for (const pattern of this.patterns) {
      if (pattern.exception !== excluded) continue; // only a later opposite decision can change the result
      let match = pattern.regex.test(path);
      // a pattern matching a parent directory matches everything below it
      for (let depth = 1; !match && depth < elements.length; depth++) match = pattern.regex.test(elements.slice(0, depth).join('/'));
      if (match) excluded = !pattern.exception;
    }
    return excluded;
  }
}

/** The patterns of a .dockerignore file's text. */
export function parseDockerignore(text: string): PathMatcher {
  return new PathMatcher(text.split(/\r?\n/));
}
