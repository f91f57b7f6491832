import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
const define = { __BERTH_VERSION__: JSON.stringify(version) };

export default defineConfig([
  {
    // the SDK: one file per format
    entry: { index: 'lib/index.ts' },
    format: ['esm', 'cjs'],
    dts: { entry: { index: 'lib/index.ts' } },
    target: 'node20',
    platform: 'node',
    shims: true,
    clean: ['index.*'],
    sourcemap: true,
    splitting: false,
    define,
  },
  {
    // the `berth` command: split, so that each command loads only the SDK parts it needs
    // (`berth --version` loads main.ts alone); `berth compose` is its own entry
    entry: { cli: 'lib/cli/main.ts', compose: 'lib/cli/compose.ts' },
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    shims: true,
    clean: ['cli.*', 'compose.*', 'cli-chunks'],
    sourcemap: true,
    splitting: true,
    minify: true, // less to parse at every start; the source maps keep stack traces readable
    define,
    esbuildOptions(options) {
      options.chunkNames = 'cli-chunks/[name]-[hash]';
    },
  },
]);
