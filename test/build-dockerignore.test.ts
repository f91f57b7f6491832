import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DockerignoreError, parseDockerignore } from '../lib/build/dockerignore.js';
import { cleanRelative, compileGlob } from '../lib/build/path-glob.js';

function check(patterns: string, excluded: string[], kept: string[]): void {
  const matcher = parseDockerignore(patterns);
  for (const path of excluded) assert.equal(matcher.excludes(path), true, `${JSON.stringify(patterns)} should exclude ${path}`);
  for (const path of kept) assert.equal(matcher.excludes(path), false, `${JSON.stringify(patterns)} should keep ${path}`);
}

test('Go filepath.Match wildcards: * and ? stay within one element, classes, escapes', () => {
  check('*.md', ['README.md', 'a.md'], ['docs/a.md', 'md', 'a.mdx']);
  check('*/*.md', ['docs/a.md'], ['README.md', 'a/b/c.md']);
  check('file?.txt', ['file1.txt'], ['file10.txt', 'file/.txt']);
  check('[a-c]x', ['ax', 'cx'], ['dx', 'Ax']);
  check('[^a-c]x', ['dx'], ['ax']);
  check('\\*literal', ['*literal'], ['xliteral']);
  check('dot.txt', ['dot.txt'], ['dotXtxt']);
});

test('** matches any number of directories, also none', () => {
  check('**/*.go', ['a.go', 'x/a.go', 'x/y/z/a.go'], ['a.goo']);
  check('a/**/b', ['a/b', 'a/x/b', 'a/x/y/b'], ['b', 'x/a/b']);
  check('build/**', ['build/x', 'build/x/y'], ['buildx']);
  check('**', ['anything', 'a/b'], []);
});

test('a pattern matching a directory excludes everything below it', () => {
  check('node_modules', ['node_modules', 'node_modules/x/y.js'], ['src/node_modules', 'node_modules2']);
  check('**/node_modules', ['node_modules/a', 'pkg/node_modules/b/c'], ['pkg/node_modules2']);
  check('docs/*', ['docs/a', 'docs/b/c'], ['docs']);
});

test('exceptions: the last matching line decides', () => {
  check('*.md\n!README.md', ['CHANGES.md'], ['README.md']);
  check('!README.md\n*.md', ['README.md', 'CHANGES.md'], []);
  check('docs\n!docs/keep.txt', ['docs/other.txt'], ['docs/keep.txt']);
  check('*\n!src\nsrc/*.tmp', ['Dockerfile', 'src/a.tmp'], ['src', 'src/a.ts', 'src/sub/a.tmp']);
  assert.equal(parseDockerignore('a\n!b').hasExceptions, true);
  assert.equal(parseDockerignore('a\nb').hasExceptions, false);
});

test('comments, blank lines, leading / and ./, paths are cleaned', () => {
  check('# a comment\n\n  /secret.key  \n./tmp/../cache//\n', ['secret.key', 'cache', 'cache/x'], ['tmp', '# a comment', 'a/secret.key']);
  assert.equal(parseDockerignore('# only\n\n').empty, true);
  assert.equal(cleanRelative('./a//b/../c/'), 'a/c');
  assert.equal(cleanRelative('/'), '.');
});

test('malformed patterns name their line', () => {
  assert.throws(() => parseDockerignore('ok\n[abc'), (error: unknown) => error instanceof DockerignoreError && error.line === 2 && /unterminated character class/.test(error.message));
  assert.throws(() => parseDockerignore('!'), (error: unknown) => error instanceof DockerignoreError && error.line === 1);
  assert.throws(() => compileGlob('a\\'), /trailing/);
});
