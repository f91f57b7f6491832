// Where berth's prebuilt binaries live in the package and how to tell whether
// they fit this machine. Shared by scripts/prebuild.mjs (npm pack),
// scripts/install.mjs (npm install) and the package test; lib/native/addon.ts
// looks in the same directory first.
import { spawnSync } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';

/** The N-API module and the helper executables, as addon/CMakeLists.txt names them. */
export const ADDON = 'berth_native.node';
export const HELPERS = ['berth-monitor', 'berth-exec', 'berth-init'];

/** `prebuilds/<platform>-<arch>` under the package root, e.g. `prebuilds/linux-x64`. */
export function prebuildDir(packageRoot, platform = process.platform, arch = process.arch) {
  return join(packageRoot, 'prebuilds', `${platform}-${arch}`);
}

/**
 * Whether an ELF executable is statically linked: it has no program
 * interpreter (PT_INTERP), so it runs without the host's dynamic loader and
 * libraries, as the helpers must inside a container's mount namespace.
 */
export function isStaticElf(path) {
  const fd = openSync(path, 'r');
  try {
    const header = Buffer.alloc(64);
    readSync(fd, header, 0, 64, 0);
    if (header.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${path} is not an ELF file`);
    if (header[4] !== 2 || header[5] !== 1) throw new Error(`${path} is not a 64-bit little-endian ELF file`);
    const phoff = Number(header.readBigUInt64LE(0x20));
    const phentsize = header.readUInt16LE(0x36);
    const phnum = header.readUInt16LE(0x38);
    const entry = Buffer.alloc(4);
    for (let i = 0; i < phnum; i++) {
      readSync(fd, entry, 0, 4, phoff + i * phentsize);
      if (entry.readUInt32LE(0) === 3 /* PT_INTERP */) return false;
    }
    return true;
  } finally {
    closeSync(fd);
  }
}

/**
 * Why the binaries in `dir` do not fit this machine, or undefined when they do:
 * every file is there, the helpers are static executables, and the N-API
 * module loads in this Node (which checks the architecture, the C library's
 * and libstdc++'s symbol versions and anything else it links).
 */
export function whyNotFitting(dir) {
  for (const file of [ADDON, ...HELPERS]) {
    if (!existsSync(join(dir, file))) return `${join(dir, file)} is missing`;
  }
  for (const helper of HELPERS) {
    const path = join(dir, helper);
    try {
      accessSync(path, constants.X_OK);
      if (!isStaticElf(path)) return `${path} is not statically linked`;
    } catch (error) {
      return `${path}: ${error.message}`;
    }
  }
  const load = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(join(dir, ADDON))})`], { encoding: 'utf8' });
  if (load.status !== 0) return `${join(dir, ADDON)} does not load in this Node: ${load.stderr.trim().split('\n').find((line) => /Error/.test(line)) ?? load.stderr.trim()}`;
  return undefined;
}
