import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BerthError } from '../errors.js';
import { monitorPath } from './addon.js';

let init: string | undefined;

/** The path of the berth-init executable, built beside berth-monitor. */
export function initPath(): string {
  if (init) return init;
  const path = join(dirname(monitorPath()), 'berth-init');
  if (!existsSync(path)) {
    throw new BerthError(`berth-init is not built (looked for ${path}); build it with \`npm run build:addon\``, { code: 'ERR_NATIVE_MISSING', path });
  }
  init = path;
  return path;
}
