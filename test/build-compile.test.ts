import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { build, makeContext, run } from './build-helpers.js';
import { temporaryRuntime } from './helpers.js';

const GCC_LIB = '/usr/lib/gcc/x86_64-linux-gnu/12';
const LIBC_A = '/usr/lib/x86_64-linux-gnu/libc.a';

/**
 * A tar of the host's C toolchain, just enough for `gcc -static` of a hello
 * world: the driver, cc1, as, ld, collect2, the crt files, libc.a and libgcc,
 * the headers the program includes and the shared libraries the tools need
 * (symlinks dereferenced), plus /tmp.
 */
function toolchainTar(dir: string, source: string): string {
  const tools = ['/usr/bin/gcc', '/usr/bin/as', '/usr/bin/ld', `${GCC_LIB}/cc1`, `${GCC_LIB}/collect2`, `${GCC_LIB}/liblto_plugin.so`];
  const objects = [`${GCC_LIB}/crtbeginT.o`, `${GCC_LIB}/crtend.o`, `${GCC_LIB}/libgcc.a`, `${GCC_LIB}/libgcc_eh.a`, LIBC_A,
    ...['crt1.o', 'crti.o', 'crtn.o'].map((name) => `/usr/lib/x86_64-linux-gnu/${name}`)];
  const headers = execFileSync('gcc', ['-M', '-O2', '-static', source], { encoding: 'utf8' }).replace(/\\\n/g, ' ').split(/\s+/).filter((path) => path.startsWith('/'));
  const libraries = tools.flatMap((tool) => execFileSync('ldd', [realpathSync(tool)], { encoding: 'utf8' }).match(/\/\S+/g) ?? []);
  const tar = join(dir, 'toolchain.tar');
  execFileSync('tar', ['-chf', tar, '--no-recursion', '-P', '--transform', 's,^/,,', '/tmp', ...new Set([...tools, ...objects, ...headers, ...libraries])]);
  return tar;
}

test('a multi-stage build compiles a C program with gcc in one stage and ships only the static binary FROM scratch', async (t) => {
  for (const path of ['/usr/bin/gcc', LIBC_A, `${GCC_LIB}/cc1`]) {
    if (!existsSync(path)) return t.skip(`${path} is missing (apt-get install gcc libc6-dev): no toolchain to make the build stage's image from`);
  }
  await using runtime = await temporaryRuntime();
  using context = makeContext({
    'hello.c': '#include <stdio.h>\n#include <string.h>\nint main(int argc, char **argv) { printf("hello, %s (%zu)\\n", argc > 1 ? argv[1] : "world", strlen(GREETING)); return 0; }\n',
    Dockerfile: [
      'FROM toolchain:12 AS build',
      'WORKDIR /src',
      'COPY hello.c .',
      'RUN ["gcc", "-static", "-O2", "-DGREETING=\\"compiled-by-berth\\"", "-o", "/src/hello", "hello.c"]',
      '',
      'FROM scratch',
      'COPY --from=build /src/hello /usr/local/bin/hello',
      'ENTRYPOINT ["/usr/local/bin/hello"]',
      'CMD ["scratch"]',
    ].join('\n'),
  });
  const work = mkdtempSync(join(tmpdir(), 'berth-toolchain-'));
  try {
    const tar = toolchainTar(work, join(context.dir, 'hello.c'));
    await runtime.images.import(createReadStream(tar), { ref: 'toolchain:12' });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const { image } = await build(runtime, { context: context.dir, tags: ['hello:static'] });
  assert.equal((await run(runtime, 'hello:static')).stdout, 'hello, scratch (17)\n');
  assert.equal((await run(runtime, 'hello:static', ['berth'])).stdout, 'hello, berth (17)\n');
  // one layer, one file (and its directories): nothing of the toolchain
  assert.equal(image.inspect().layers.length, 1);
  const layer = image.layerPaths[0]!;
  const listing = spawnSync('find', ['.', '-mindepth', '1'], { cwd: layer, encoding: 'utf8' }).stdout.split('\n').filter(Boolean).sort();
  assert.deepEqual(listing, ['./usr', './usr/local', './usr/local/bin', './usr/local/bin/hello']);
});
