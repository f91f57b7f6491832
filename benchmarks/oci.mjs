// OCI bundles for crun and runc: the runtime's own `spec` default, edited to
// run /bin/true from the shared rootfs in the namespaces berth uses.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The namespaces berth creates: pid, mount, uts, ipc, net at the clone, cgroup just after. */
export const BERTH_NAMESPACES = ['pid', 'mount', 'uts', 'ipc', 'network', 'cgroup'];

/** The absolute path of `command` on PATH, or undefined. */
export function which(command) {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const path = join(dir || '.', command);
    try {
      accessSync(path, constants.X_OK);
      if (statSync(path).isFile()) return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * An OCI runtime under test: `bin spec` generates the bundle's config.json,
 * then every run gets its own id and cgroup (`<cgroupBase>/<id>`), and its
 * state lives in a private `--root` under `dir`.
 */
export class OciRuntime {
  constructor({ name, bin, dir, rootfs, cgroupBase, globalArgs = [] }) {
    this.name = name;
    this.bin = bin;
    this.bundle = join(dir, `bundle-${name}`);
    this.stateRoot = join(dir, `state-${name}`);
    this.globalArgs = ['--root', this.stateRoot, ...globalArgs];
    mkdirSync(this.bundle, { recursive: true });
    mkdirSync(this.stateRoot, { recursive: true, mode: 0o700 });
    const generated = spawnSync(bin, ['spec'], { cwd: this.bundle, encoding: 'utf8' });
    if (generated.status !== 0) throw new Error(`${bin} spec failed: ${generated.stderr || generated.error}`);
    this.config = JSON.parse(readFileSync(join(this.bundle, 'config.json'), 'utf8'));
    const config = this.config;
    config.process.args = ['/bin/true'];
    config.process.terminal = false;
    // the shared rootfs by absolute path; writable (as berth's overlay is), so
    // the runtime need not remount it read-only
    config.root = { path: rootfs, readonly: false };
    const namespaces = config.linux.namespaces ?? [];
    for (const type of BERTH_NAMESPACES) {
      if (!namespaces.some((ns) => ns.type === type)) namespaces.push({ type });
    }
    config.linux.namespaces = namespaces.filter((ns) => BERTH_NAMESPACES.includes(ns.type));
    this.cgroupBase = cgroupBase;
    this.runs = 0;
  }

  /** Writes config.json for the next run (outside the timed part) and returns its argv. */
  prepareRun() {
    const id = `berth-bench-${process.pid}-${this.name}-${this.runs++}`;
    if (this.cgroupBase) this.config.linux.cgroupsPath = join(this.cgroupBase, id);
    writeFileSync(join(this.bundle, 'config.json'), JSON.stringify(this.config, null, 2));
    return { id, args: [...this.globalArgs, 'run', '--bundle', this.bundle, id] };
  }

  /** Ids still in this runtime's state root (a run that failed half-way). */
  leftovers() {
    try {
      return readdirSync(this.stateRoot).filter((entry) => !entry.startsWith('.'));
    } catch {
      return [];
    }
  }

  /** `delete -f` every container left in the state root; returns the ids that stayed. */
  deleteLeftovers() {
    for (const id of this.leftovers()) {
      spawnSync(this.bin, [...this.globalArgs, 'delete', '-f', id], { stdio: 'ignore' });
    }
    return this.leftovers();
  }

  /** What the spec says about the container, for the report. */
  describe() {
    const c = this.config;
    return `${c.linux.namespaces.map((ns) => ns.type).join(',')} namespaces; ${c.mounts.length} mounts; ` +
      `${c.linux.maskedPaths?.length ?? 0} masked + ${c.linux.readonlyPaths?.length ?? 0} read-only paths; ` +
      `${c.process.capabilities?.bounding?.length ?? 0} capabilities; noNewPrivileges ${c.process.noNewPrivileges === true}; ` +
      `seccomp ${c.linux.seccomp ? 'yes' : 'none'}`;
  }
}
