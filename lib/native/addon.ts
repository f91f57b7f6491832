import { existsSync, fstatSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeAddon } from '../../types/native.js';
import { BerthError } from '../errors.js';

/** The package root: the nearest directory above this file whose package.json is berth's. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'berth') {
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new BerthError('cannot find the berth package root above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/**
 * Where the native part may be, in order: the binaries prebuilt for this
 * platform that the package carries (scripts/prebuild.mjs; the install step
 * removes them when they do not fit this machine), then what was compiled here.
 */
function buildDirs(): string[] {
  const root = packageRoot();
  return [
    join(root, 'prebuilds', `${process.platform}-${process.arch}`),
    join(root, 'addon', 'build'),
    join(root, 'addon', 'build', 'Release'),
  ];
}

/** The path of one of berth's native files (prebuilt, or compiled here); ERR_NATIVE_MISSING when none is there. */
export function nativeFile(file: string): string {
  return firstExisting(file);
}

function firstExisting(file: string): string {
  const tried = buildDirs().map((dir) => join(dir, file));
  const found = tried.find((path) => existsSync(path));
  if (!found) {
    throw new BerthError(
      `berth's native part ${file} is not built, and the package has no prebuilt one for ${process.platform}-${process.arch}. Tried:\n  ${tried.join('\n  ')}\n` +
        'Compile it (needs cmake, make and g++): `npm rebuild berth` where berth is installed (npm 11 skips ' +
        "dependencies' install scripts until `npm install-scripts approve berth`), `npm run build:addon` in a checkout.",
      { code: 'ERR_NATIVE_MISSING', path: tried[0] },
    );
  }
  return found;
}

let addon: NativeAddon | undefined;

/** The N-API module, loaded on first use. */
export function nativeAddon(): NativeAddon {
  addon ??= createRequire(import.meta.url)(firstExisting('berth_native.node')) as NativeAddon;
  return addon;
}

/** How to run a helper from its sealed copy: `path` to execute, `argv0` the file it was copied from. */
export interface SealedHelper {
  path: string;
  argv0: string;
}

const sealed = new Map<string, SealedHelper & { fd: number; ino: number }>();

/** Whether our descriptor still is the copy (nobody closed it, its number was not reused). */
function stillSealed(copy: { fd: number; ino: number }): boolean {
  try {
    return fstatSync(copy.fd).ino === copy.ino;
  } catch {
    return false;
  }
}

/**
 * A helper executable (`berth-monitor`, `berth-exec`) as a sealed, read-only
 * copy made once per process: a memfd this process keeps open, executed through
 * `/proc/self/fd/<n>`. A container that reaches the running helper through
 * `/proc/<pid>/exe` (CVE-2019-5736) finds only the copy, which no one can
 * write; the file on disk is never executed. See docs/architecture.md.
 */
export function sealedHelper(file: 'berth-monitor' | 'berth-exec'): SealedHelper {
  const known = sealed.get(file);
  if (known && stillSealed(known)) return { path: known.path, argv0: known.argv0 };
  const argv0 = firstExisting(file);
  let fd: number;
  try {
    fd = nativeAddon().sealExecutable(argv0, file);
  } catch (error) {
    const e = error as { message: string; errno?: number; syscall?: string };
    throw new BerthError(`cannot make the sealed copy of ${file} that berth runs: ${e.message}`, {
      code: 'ERR_NATIVE_SEAL', errno: e.errno, syscall: e.syscall, path: argv0, cause: error,
    });
  }
  const copy = { path: `/proc/self/fd/${fd}`, argv0, fd, ino: fstatSync(fd).ino };
  sealed.set(file, copy);
  return { path: copy.path, argv0 };
}
