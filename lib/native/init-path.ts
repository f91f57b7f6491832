import { nativeFile } from './addon.js';

let init: string | undefined;

/**
 * The path of the berth-init executable (prebuilt or compiled, beside
 * berth-monitor). It is bind-mounted read-only into containers created with
 * `init: true`.
 */
export function initPath(): string {
  init ??= nativeFile('berth-init');
  return init;
}
