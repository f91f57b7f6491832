import { existsSync, readFileSync } from 'node:fs';
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
let monitor: string | undefined;

/** The N-API module, loaded on first use. */
export function nativeAddon(): NativeAddon {
  addon ??= createRequire(import.meta.url)(firstExisting('berth_native.node')) as NativeAddon;
  return addon;
}

/** The path of the berth-monitor executable. */
export function monitorPath(): string {
  monitor ??= firstExisting('berth-monitor');
  return monitor;
}
