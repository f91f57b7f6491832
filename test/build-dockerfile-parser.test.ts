import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DockerfileError } from '../lib/errors.js';
import { parseDockerfile, parseDuration } from '../lib/build/dockerfile-parser.js';
import { expandHeredoc, expandWord, expandWords, splitRawWords } from '../lib/build/dockerfile-words.js';
import type { Instruction } from '../lib/build/dockerfile-ast.js';

/** The instructions of the only stage. */
function body(text: string): Instruction[] {
  return parseDockerfile(`FROM scratch\n${text}`).stages[0]!.instructions;
}

/** The instruction type whose kind includes K. */
type Of<K, I = Instruction> = I extends { kind: infer IK } ? (K extends IK ? I : never) : never;

function only<K extends Instruction['kind']>(text: string, kind: K): Of<K> {
  const [instruction] = body(text);
  assert.equal(instruction?.kind, kind);
  return instruction as Of<K>;
}

function fails(text: string, line: number, column: number, pattern: RegExp): void {
  assert.throws(
    () => parseDockerfile(text, 'Dockerfile.test'),
    (error: unknown) => {
      assert.ok(error instanceof DockerfileError, String(error));
      assert.equal(error.code, 'ERR_DOCKERFILE');
      assert.deepEqual(error.location, { file: 'Dockerfile.test', line, column }, error.message);
      assert.match(error.message, pattern);
      assert.ok(error.message.startsWith(`Dockerfile.test:${line}:${column}: `), error.message);
      return true;
    },
  );
}

const env = (values: Record<string, string>) => (name: string) => values[name];

test('substitution: $VAR, ${VAR}, defaults, alternatives, unset and empty', () => {
  const lookup = env({ A: 'one', EMPTY: '', SPACE: 'x y' });
  const cases: [string, string][] = [
    ['$A', 'one'],
    ['${A}', 'one'],
    ['pre${A}post', 'preonepost'],
    ['$A-$B', 'one-'],
    ['${B:-def}', 'def'],
    ['${EMPTY:-def}', 'def'],
    ['${EMPTY-def}', ''],
    ['${A:-def}', 'one'],
    ['${A:+alt}', 'alt'],
    ['${EMPTY:+alt}', ''],
    ['${EMPTY+alt}', 'alt'],
    ['${B+alt}', ''],
    ['${B:-${A}}', 'one'],
    ['${B:-"q w"}', 'q w'],
    ["'$A'", '$A'],
    ['"$A"', 'one'],
    ['\\$A', '$A'],
    ['"\\$A"', '$A'],
    ['"a\\b"', 'a\\b'],
    ['a\\ b', 'a b'],
    ['$', '$'],
    ['a$', 'a$'],
    ['$1x', 'x'],
    ['"${SPACE}"', 'x y'],
  ];
  for (const [input, output] of cases) assert.equal(expandWord(input, lookup, '\\'), output, input);
});

test('substitution: ${VAR:?} fails for unset, modifiers docker does not have are named', () => {
  assert.throws(() => expandWord('${NOPE:?must be set}', env({}), '\\'), /NOPE: must be set/);
  assert.throws(() => expandWord('${E:?}', env({ E: '' }), '\\'), /E: is not set/);
  assert.equal(expandWord('${E?}', env({ E: '' }), '\\'), '');
  assert.throws(() => expandWord('${A#x}', env({ A: 'x' }), '\\'), /unsupported modifier '#'/);
  assert.throws(() => expandWord('${A', env({}), '\\'), /missing }/);
  assert.throws(() => expandWord('"abc', env({}), '\\'), /unterminated double quote/);
  assert.throws(() => expandWord("'abc", env({}), '\\'), /unterminated single quote/);
});

test('word splitting: quotes group, substituted blanks split unless quoted', () => {
  const lookup = env({ S: 'a b' });
  assert.deepEqual(expandWords('80 443/udp', lookup, '\\'), ['80', '443/udp']);
  assert.deepEqual(expandWords('$S c', lookup, '\\'), ['a', 'b', 'c']);
  assert.deepEqual(expandWords('"$S" c', lookup, '\\'), ['a b', 'c']);
  assert.deepEqual(expandWords('"" x', lookup, '\\'), ['', 'x']);
  assert.deepEqual(
    splitRawWords('a "b c" \'d e\' f\\ g', '\\').map((w) => w.text),
    ['a', '"b c"', "'d e'", 'f\\ g'],
  );
  assert.deepEqual(splitRawWords('  x  y', '\\').map((w) => w.offset), [2, 5]);
});

test('durations are read as Go reads them', () => {
  assert.equal(parseDuration('30s'), 30e9);
  assert.equal(parseDuration('1m30s'), 90e9);
  assert.equal(parseDuration('500ms'), 500e6);
  assert.equal(parseDuration('1.5h'), 5400e9);
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration('10'), undefined);
  assert.equal(parseDuration('s'), undefined);
});

test('comments, blank lines, continuations (comments inside them dropped), case-insensitive keywords', () => {
  const file = parseDockerfile(['# a comment', '', 'from busybox', '  run echo a \\', '# inside', '', '    b', 'RUN x \\  ', 'y'].join('\n'));
  const [stage] = file.stages;
  assert.equal(stage?.from.image, 'busybox');
  assert.deepEqual(
    stage?.instructions.map((i) => (i.kind === 'RUN' ? i.command : undefined)),
    [{ shell: 'echo a     b' }, { shell: 'x y' }],
  );
  assert.equal(stage?.instructions[0]?.location.line, 4);
  assert.equal(stage?.instructions[0]?.location.column, 3);
  assert.equal(stage?.instructions[1]?.location.line, 8);
});

test('CRLF line ends and a BOM are accepted', () => {
  const file = parseDockerfile('\uFEFFFROM a\r\nRUN b \\\r\n c\r\n');
  assert.deepEqual((file.stages[0]!.instructions[0] as { command: unknown }).command, { shell: 'b  c' });
});

test('parser directives: escape changes the continuation and escape character; syntax is ignored with a note', () => {
  const file = parseDockerfile(['# syntax=docker/dockerfile:1', '# escape=`', 'FROM a', 'RUN dir c:\\ `', '  && echo `$x'].join('\n'));
  assert.equal(file.escape, '`');
  assert.match(file.warnings.join('\n'), /syntax directive .* ignored/);
  assert.deepEqual((file.stages[0]!.instructions[0] as { command: unknown }).command, { shell: 'dir c:\\   && echo `$x' });
});

test('parser directives end at the first comment, blank line or instruction', () => {
  const file = parseDockerfile(['# unknown=1', '# escape=`', 'FROM a'].join('\n'));
  assert.equal(file.escape, '\\');
  assert.equal(parseDockerfile(['', '# escape=`', 'FROM a'].join('\n')).escape, '\\');
  assert.equal(parseDockerfile(['#ESCAPE = `', 'FROM a'].join('\n')).escape, '`');
  fails('# escape=x\nFROM a', 1, 1, /invalid escape character 'x'/);
  fails('# escape=\\\n# escape=`\nFROM a', 2, 1, /given twice/);
});

test('JSON and shell forms of RUN, CMD and ENTRYPOINT; malformed JSON is the shell form', () => {
  assert.deepEqual(only('RUN ["echo", "a b"]', 'RUN').command, { exec: ['echo', 'a b'] });
  assert.deepEqual(only('CMD ["a"]', 'CMD').command, { exec: ['a'] });
  assert.deepEqual(only('ENTRYPOINT ["a", 1]', 'ENTRYPOINT').command, { shell: '["a", 1]' });
  assert.deepEqual(only("CMD ['a']", 'CMD').command, { shell: "['a']" });
  assert.deepEqual(only('CMD echo $HOME', 'CMD').command, { shell: 'echo $HOME' });
  assert.deepEqual(only('RUN []', 'RUN').command, { exec: [] });
});

test('RUN flags: --mount repeats, --network, --security; unknown flags are named with their column', () => {
  const run = only('RUN --mount=type=cache,target=/c --mount=type=tmpfs,target=/t --network=none echo hi', 'RUN');
  assert.deepEqual(run.mounts, ['type=cache,target=/c', 'type=tmpfs,target=/t']);
  assert.equal(run.network, 'none');
  assert.deepEqual(run.command, { shell: 'echo hi' });
  fails('FROM a\nRUN --bogus=1 echo', 2, 5, /unknown flag --bogus for RUN/);
  fails('FROM a\nRUN --network echo', 2, 5, /--network needs a value/);
  fails('FROM a\nRUN --network=a --network=b echo', 2, 17, /--network is given twice/);
  fails('FROM a\nWORKDIR --x=1 /a', 2, 9, /unknown flag --x for WORKDIR$/);
});

test('heredocs: RUN <<EOF, several, <<- strips tabs, quoted terminators do not expand', () => {
  const run = only(['RUN <<EOF', 'echo one', '  echo two', 'EOF', 'RUN x'].join('\n'), 'RUN');
  assert.deepEqual(run.heredocs, [{ name: 'EOF', content: 'echo one\n  echo two\n', expand: true }]);
  const two = only(['RUN cat <<A >a && cat <<-"B" >b', 'a1', 'A', '\t\tb1', '\tB'].join('\n'), 'RUN');
  assert.deepEqual(two.heredocs, [
    { name: 'A', content: 'a1\n', expand: true },
    { name: 'B', content: 'b1\n', expand: false },
  ]);
  const instructions = body(['RUN <<EOF', '# not a comment', '', 'EOF', 'USER me'].join('\n'));
  assert.equal(instructions.length, 2);
  assert.equal((instructions[0] as { heredocs: { content: string }[] }).heredocs[0]!.content, '# not a comment\n\n');
  assert.equal(instructions[1]!.location.line, 6);
});

test('heredocs: COPY <<EOF /file; an unterminated heredoc names its line', () => {
  const copy = only(['COPY <<EOF /etc/app.conf', 'key=$V', 'EOF'].join('\n'), 'COPY');
  assert.deepEqual(copy.sources, ['<<EOF']);
  assert.equal(copy.destination, '/etc/app.conf');
  assert.equal(copy.heredocs[0]!.content, 'key=$V\n');
  fails('FROM a\n\nRUN <<EOF\necho\n', 3, 1, /heredoc <<EOF is not terminated/);
  // not an instruction that takes heredocs: a plain word
  assert.equal(only('LABEL a=<<EOF', 'LABEL').pairs[0]![1], '<<EOF');
});

test('COPY and ADD: flags, JSON form, several sources', () => {
  const copy = only('COPY --from=build --chown=1:2 --chmod=0755 --link --exclude=*.md --exclude=x a b /dst/', 'COPY');
  assert.equal(copy.from, 'build');
  assert.equal(copy.chown, '1:2');
  assert.equal(copy.chmod, '0755');
  assert.equal(copy.link, true);
  assert.deepEqual(copy.exclude, ['*.md', 'x']);
  assert.deepEqual(copy.sources, ['a', 'b']);
  assert.equal(copy.destination, '/dst/');
  assert.deepEqual(only('COPY ["a b", "/c d/"]', 'COPY').sources, ['a b']);
  const add = only('ADD --checksum=sha256:abc --keep-git-dir=false http://x/y /y', 'ADD');
  assert.equal(add.checksum, 'sha256:abc');
  assert.equal(add.keepGitDir, false);
  fails('FROM a\nCOPY onlyone', 2, 6, /needs at least one source and a destination/);
  fails('FROM a\nADD --from=x a b', 2, 5, /unknown flag --from for ADD/);
  fails('FROM a\nCOPY --link=maybe a b', 2, 6, /--link takes true or false/);
});

test('ENV and LABEL: pairs with quotes, the legacy form, errors', () => {
  assert.deepEqual(only('ENV A=1 B="two words" C=\'x\' D=a\\ b', 'ENV').pairs, [
    ['A', '1'],
    ['B', '"two words"'],
    ['C', "'x'"],
    ['D', 'a\\ b'],
  ]);
  assert.deepEqual(only('ENV LEGACY some value here', 'ENV').pairs, [['LEGACY', 'some value here']]);
  assert.deepEqual(only('LABEL "com.example.vendor"="ACME" version=1.0', 'LABEL').pairs, [
    ['"com.example.vendor"', '"ACME"'],
    ['version', '1.0'],
  ]);
  fails('FROM a\nENV A=1 B', 2, 9, /'B' is not KEY=value/);
  fails('FROM a\nENV ALONE', 2, 5, /a value is missing/);
  fails('FROM a\nENV', 2, 1, /ENV needs at least one argument/);
  fails('FROM a\nENV A="unterminated', 2, 5, /unterminated double quote/);
});

test('ARG: before FROM (meta) and per stage, several names, defaults', () => {
  const file = parseDockerfile(['ARG BASE=busybox VERSION', 'FROM ${BASE}:${VERSION:-latest} AS Build', 'ARG X=1 Y'].join('\n'));
  assert.deepEqual(file.metaArgs[0]!.args, [{ name: 'BASE', default: 'busybox' }, { name: 'VERSION' }]);
  assert.equal(file.stages[0]!.from.image, '${BASE}:${VERSION:-latest}');
  assert.equal(file.stages[0]!.name, 'build');
  assert.deepEqual((file.stages[0]!.instructions[0] as { args: unknown }).args, [{ name: 'X', default: '1' }, { name: 'Y' }]);
  fails('ARG 1BAD\nFROM a', 1, 5, /invalid ARG name '1BAD'/);
  fails('FROM a\nARG', 2, 1, /ARG needs a name/);
});

test('FROM: AS name, --platform, stages in order; errors', () => {
  const file = parseDockerfile(['FROM --platform=$BUILDPLATFORM golang AS build', 'RUN a', 'FROM build', 'FROM scratch as final'].join('\n'));
  assert.deepEqual(
    file.stages.map((s) => [s.index, s.name, s.from.image, s.from.platform, s.instructions.length]),
    [
      [0, 'build', 'golang', '$BUILDPLATFORM', 1],
      [1, undefined, 'build', undefined, 0],
      [2, 'final', 'scratch', undefined, 0],
    ],
  );
  fails('FROM a AS', 1, 8, /FROM image \[AS name\]/);
  fails('FROM a b c', 1, 8, /FROM image \[AS name\]/);
  fails('FROM a AS x\nFROM b AS X', 2, 1, /'x' is used twice/);
  fails('FROM a AS 9x', 1, 11, /invalid stage name '9x'/);
  fails('RUN echo\nFROM a', 1, 1, /RUN before the first FROM/);
  fails('# only a comment\n', 2, 1, /no FROM instruction/);
  fails('FROM', 1, 1, /FROM needs an image/);
});

test('WORKDIR, USER, STOPSIGNAL, EXPOSE, VOLUME, SHELL', () => {
  assert.equal(only('WORKDIR /a b', 'WORKDIR').value, '/a b');
  assert.equal(only('USER app:app', 'USER').value, 'app:app');
  assert.equal(only('STOPSIGNAL SIGQUIT', 'STOPSIGNAL').value, 'SIGQUIT');
  assert.deepEqual(only('EXPOSE 80 443/udp $P', 'EXPOSE').items, ['80', '443/udp', '$P']);
  assert.deepEqual(only('VOLUME /a /b', 'VOLUME'), { ...only('VOLUME /a /b', 'VOLUME'), items: ['/a', '/b'], json: false });
  assert.deepEqual(only('VOLUME ["/c", "/d e"]', 'VOLUME').items, ['/c', '/d e']);
  assert.deepEqual(only('SHELL ["/bin/bash", "-c"]', 'SHELL').shell, ['/bin/bash', '-c']);
  fails('FROM a\nSHELL /bin/bash -c', 2, 7, /SHELL needs the JSON form/);
  fails('FROM a\nSTOPSIGNAL A B', 2, 14, /one signal/);
  fails('FROM a\nWORKDIR', 2, 1, /WORKDIR needs a path/);
});

test('HEALTHCHECK: NONE, CMD in both forms, options as nanoseconds, errors', () => {
  assert.deepEqual(only('HEALTHCHECK NONE', 'HEALTHCHECK').test, ['NONE']);
  const check = only('HEALTHCHECK --interval=5s --timeout=1s --start-period=1m --start-interval=500ms --retries=4 CMD curl -f http://x/', 'HEALTHCHECK');
  assert.deepEqual(check.test, ['CMD-SHELL', 'curl -f http://x/']);
  assert.deepEqual([check.interval, check.timeout, check.startPeriod, check.startInterval, check.retries], [5e9, 1e9, 60e9, 500e6, 4]);
  assert.deepEqual(only('HEALTHCHECK CMD ["true", "x"]', 'HEALTHCHECK').test, ['CMD', 'true', 'x']);
  fails('FROM a\nHEALTHCHECK --interval=5 CMD true', 2, 13, /not a duration/);
  fails('FROM a\nHEALTHCHECK --interval=10us CMD true', 2, 13, /minimum of 1ms/);
  fails('FROM a\nHEALTHCHECK --retries=x CMD true', 2, 13, /not a whole number/);
  fails('FROM a\nHEALTHCHECK CMD', 2, 13, /needs a command/);
  fails('FROM a\nHEALTHCHECK RUN x', 2, 13, /needs NONE or CMD, not 'RUN'/);
  fails('FROM a\nHEALTHCHECK NONE x', 2, 13, /NONE takes no other/);
});

test('ONBUILD: the trigger is parsed (and checked) and kept as written', () => {
  const onbuild = only('ONBUILD RUN echo built', 'ONBUILD');
  assert.equal(onbuild.trigger, 'RUN echo built');
  assert.equal(onbuild.instruction.kind, 'RUN');
  fails('FROM a\nONBUILD ONBUILD RUN x', 2, 9, /ONBUILD is not allowed as an ONBUILD trigger/);
  fails('FROM a\nONBUILD FROM x', 2, 9, /FROM is not allowed/);
  fails('FROM a\nONBUILD COPY --nope=1 a b', 2, 14, /unknown flag --nope for COPY/);
});

test('unknown instructions and bad quoting name line and column', () => {
  fails('FROM a\n\n  RUNN echo', 3, 3, /unknown instruction RUNN/);
  fails('FROM a\nLABEL a="b', 2, 7, /unterminated double quote/);
  fails('FROM a\nRUN --mount=x \\\n  --bogus echo', 2, 1, /unknown flag --bogus/);
});

test('MAINTAINER is read, with a deprecation note', () => {
  const file = parseDockerfile('FROM a\nMAINTAINER Jane <j@x>');
  assert.equal((file.stages[0]!.instructions[0] as { value: string }).value, 'Jane <j@x>');
  assert.match(file.warnings.join('\n'), /MAINTAINER is deprecated/);
});

test('heredoc bodies: variables substituted, quotes kept, \\$ escapes', () => {
  assert.equal(expandHeredoc('a="$A" \'${B:-b}\' \\$A \\x\n', env({ A: '1' }), '\\'), 'a="1" \'b\' $A \\x\n');
});

test('blanks inside ${…} do not split words', () => {
  assert.deepEqual(splitRawWords('${A:-a b} c', '\\').map((w) => w.text), ['${A:-a b}', 'c']);
  assert.equal(parseDockerfile('FROM ${BASE:?give it} AS x').stages[0]!.from.image, '${BASE:?give it}');
});
