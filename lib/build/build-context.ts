/**
 * The build context (a host directory) as COPY and ADD read it: its
 * .dockerignore applied, sources resolved inside it (symlinks followed
 * inside the context, never out of it; `..` never above it), wildcards
 * matched as Docker matches them, and the files selected for one source
 * listed as entries for a tar.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { parseDockerignore, PathMatcher } from './dockerignore.js';
import { cleanRelative, compileGlob, hasWildcards } from './path-glob.js';

/** One file, directory or symlink to put into a layer, named relative to the copy's destination directory. */
export interface CopyEntry {
  /** Relative name under the destination directory (`a/b.txt`). */
  name: string;
  type: 'file' | 'directory' | 'symlink';
  /** Permission bits (with setuid/setgid/sticky). */
  mode: number;
  mtime: Date;
  /** A symlink's target. */
  linkname?: string;
  /** A file's content: a host path (read with O_NOFOLLOW) or bytes. */
  hostPath?: string;
  content?: Buffer;
  size: number;
  /** Owner, when the source says (a stage's files); the context's files are root's. */
  uid?: number;
  gid?: number;
}

/** A COPY source that is not in the context (or excluded by .dockerignore), or leaves it. */
export class ContextPathError extends Error {}

const MAX_LINKS = 40;

function entryType(stats: Stats): CopyEntry['type'] | undefined {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'directory';
  if (stats.isSymbolicLink()) return 'symlink';
  return undefined; // devices, FIFOs, sockets of a context are not copied
}

/** The build context directory. */
export class BuildContext {
  private allPaths?: string[];

  private constructor(
    /** The context's absolute directory. */
    readonly dir: string,
    /** Its .dockerignore patterns. */
    readonly ignore: PathMatcher,
  ) {}

  /**
   * Opens a context directory; `<dockerfile>.dockerignore` beside the
   * Dockerfile takes precedence over the context's `.dockerignore`.
   */
  static open(dir: string, dockerfilePath: string | undefined): BuildContext {
    const candidates = [...(dockerfilePath ? [`${dockerfilePath}.dockerignore`] : []), join(dir, '.dockerignore')];
    const file = candidates.find((path) => existsSync(path));
    return new BuildContext(dir, file ? parseDockerignore(readFileSync(file, 'utf8')) : new PathMatcher([]));
  }

  /**
   * `path` (relative to the context) with its symlinks resolved inside the
   * context, or undefined when it does not exist there. Cleaned, relative.
   */
  resolve(path: string): string | undefined {
    const pending = cleanRelative(path).split('/').filter((part) => part !== '.').reverse();
    const done: string[] = [];
    let links = 0;
    while (pending.length > 0) {
      const part = pending.pop()!;
      if (part === '..') {
        done.pop();
        continue;
      }
      const stats = lstatSync(join(this.dir, ...done, part), { throwIfNoEntry: false });
      if (!stats) return undefined;
      if (stats.isSymbolicLink()) {
        if (++links > MAX_LINKS) throw new ContextPathError(`too many levels of symbolic links at ${[...done, part].join('/')} in the build context`);
        const target = readlinkSync(join(this.dir, ...done, part));
        if (target.startsWith('/')) done.length = 0;
        pending.push(...target.split('/').filter((p) => p !== '' && p !== '.').reverse());
        continue;
      }
      done.push(part);
      if (!stats.isDirectory() && pending.length > 0) return undefined;
    }
    return done.length === 0 ? '.' : done.join('/');
  }

  /** Every path in the context that .dockerignore keeps, sorted (directories before what they hold). */
  private paths(): string[] {
    if (this.allPaths) return this.allPaths;
    const result: string[] = [];
    const walk = (relative: string) => {
      for (const name of readdirSync(join(this.dir, relative)).sort()) {
        const path = relative === '' ? name : `${relative}/${name}`;
        const stats = lstatSync(join(this.dir, path), { throwIfNoEntry: false });
        if (!stats) continue;
        const excluded = this.ignore.excludes(path);
        if (!excluded) result.push(path);
        if (stats.isDirectory() && (!excluded || this.ignore.hasExceptions)) walk(path);
      }
    };
    walk('');
    this.allPaths = result;
    return result;
  }

  /**
   * The context paths one COPY source names: itself, or what its wildcards
   * match. Each is a file, a symlink (copied as it is) or a directory (its
   * contents are copied).
   * @throws ContextPathError when nothing matches, or the source leaves the context.
   */
  sources(source: string): string[] {
    const cleaned = cleanRelative(source.replace(/^\/+/, ''));
    if (cleaned === '..' || cleaned.startsWith('../')) throw new ContextPathError(`${source} is outside the build context`);
    if (hasWildcards(cleaned)) {
      const pattern = compileGlob(cleaned);
      const matches = this.paths().filter((path) => pattern.test(path));
      if (matches.length === 0) throw new ContextPathError(`no file in the build context matches ${source}`);
      return matches.map((path) => this.resolve(path) ?? path);
    }
    const resolved = this.resolve(cleaned);
    if (resolved === undefined || (resolved !== '.' && this.ignore.excludes(resolved))) {
      throw new ContextPathError(`${source} is not in the build context${resolved !== undefined ? ' (.dockerignore excludes it)' : ''}`);
    }
    return [resolved];
  }

  /** Whether a context path is a directory. */
  isDirectory(path: string): boolean {
    return lstatSync(join(this.dir, path)).isDirectory();
  }

  /**
   * The entries for copying context path `path`: a directory's contents
   * (without the directory itself) named relative to it, or the one file or
   * symlink named `as`. `exclude` (COPY --exclude) leaves paths out as
   * .dockerignore does.
   */
  entries(path: string, as: string, exclude: PathMatcher | undefined): CopyEntry[] {
    const stats = lstatSync(join(this.dir, path));
    if (!stats.isDirectory()) {
      const entry = this.entry(path, as, stats);
      return entry ? [entry] : [];
    }
    const prefix = path === '.' ? '' : `${path}/`;
    const result: CopyEntry[] = [];
    for (const inner of this.paths()) {
      if (!inner.startsWith(prefix) || inner === path) continue;
      const name = inner.slice(prefix.length);
      if (exclude?.excludes(name)) continue;
      const innerStats = lstatSync(join(this.dir, inner), { throwIfNoEntry: false });
      const entry = innerStats && this.entry(inner, as === '' ? name : `${as}/${name}`, innerStats);
      if (entry) result.push(entry);
    }
    return result;
  }

  private entry(path: string, name: string, stats: Stats): CopyEntry | undefined {
    const type = entryType(stats);
    if (!type) return undefined;
    const hostPath = join(this.dir, path);
    return {
      name,
      type,
      mode: stats.mode & 0o7777,
      mtime: stats.mtime,
      size: type === 'file' ? stats.size : 0,
      ...(type === 'symlink' ? { linkname: readlinkSync(hostPath) } : {}),
      ...(type === 'file' ? { hostPath } : {}),
    };
  }
}
