import { constants } from 'node:os';

/** Fields every berth error may carry. */
export interface BerthErrorDetails {
  /** A stable, machine-readable code: an errno name (`ENOENT`) or a berth code (`ERR_NOT_FOUND`). */
  code?: string;
  /** The numeric errno, when a system call failed. */
  errno?: number;
  /** The system call that failed. */
  syscall?: string;
  /** The path the failing operation was working on. */
  path?: string;
  /** The container setup step that failed (`rootfs`, `pivot-root`, `user`, `cwd`, `exec`, …). */
  step?: string;
  /** The container this error concerns. */
  containerId?: string;
  /** The underlying error. */
  cause?: unknown;
}

/** The base class of every error berth throws on purpose. Test with `instanceof` or by `code`. */
export class BerthError extends Error {
  /** A stable, machine-readable code: an errno name (`ENOENT`) or a berth code (`ERR_NOT_FOUND`). */
  readonly code: string;
  /** The numeric errno, when a system call failed. */
  readonly errno?: number;
  /** The system call that failed. */
  readonly syscall?: string;
  /** The path the failing operation was working on. */
  readonly path?: string;
  /** The container setup step that failed (`rootfs`, `pivot-root`, `user`, `cwd`, `exec`, …). */
  readonly step?: string;
  /** The container this error concerns. */
  readonly containerId?: string;

  constructor(message: string, details: BerthErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = details.code ?? 'ERR_BERTH';
    if (details.errno !== undefined) this.errno = details.errno;
    if (details.syscall !== undefined) this.syscall = details.syscall;
    if (details.path !== undefined) this.path = details.path;
    if (details.step !== undefined) this.step = details.step;
    if (details.containerId !== undefined) this.containerId = details.containerId;
  }
}

/** The named object (container, image, …) does not exist. */
export class NotFoundError extends BerthError {
  constructor(message: string, details: BerthErrorDetails = {}) {
    super(message, { code: 'ERR_NOT_FOUND', ...details });
  }
}

/** The operation conflicts with existing state, e.g. a container name already in use. */
export class ConflictError extends BerthError {
  constructor(message: string, details: BerthErrorDetails = {}) {
    super(message, { code: 'ERR_CONFLICT', ...details });
  }
}

/** The object is in the wrong state for the operation, e.g. removing a running container. */
export class InvalidStateError extends BerthError {
  constructor(message: string, details: BerthErrorDetails = {}) {
    super(message, { code: 'ERR_INVALID_STATE', ...details });
  }
}

/**
 * Setting up a container failed between clone and exec. `step` says where
 * (`rootfs`, `pivot-root`, `proc`, `dev`, `user`, `cwd`, `exec`, …), `syscall`,
 * `errno`/`code` and `path` say what failed. The container stays `created`
 * and nothing of the attempt is left mounted.
 */
export class ContainerSetupError extends BerthError {}

const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([name, value]) => [value, name]));

/** The symbolic name of an errno value (`2` → `ENOENT`). */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

/**
 * Talking to a registry failed: it could not be reached, or it answered with
 * an error after the retries. `registry` names it; `status` is the last HTTP
 * status, when there was one.
 */
export class ImagePullError extends BerthError {
  /** The registry's host (and port). */
  readonly registry?: string;
  /** The last HTTP status the registry answered with. */
  readonly status?: number;
  constructor(message: string, details: BerthErrorDetails & { registry?: string; status?: number } = {}) {
    const { registry, status, ...rest } = details;
    super(message, { code: 'ERR_REGISTRY', ...rest });
    if (registry !== undefined) this.registry = registry;
    if (status !== undefined) this.status = status;
  }
}

/** The registry refused the credentials (or demanded some and none were given). `code` is `ERR_REGISTRY_AUTH`. */
export class RegistryAuthError extends ImagePullError {
  constructor(message: string, details: BerthErrorDetails & { registry?: string; status?: number } = {}) {
    super(message, { code: 'ERR_REGISTRY_AUTH', ...details });
  }
}

/**
 * Image content is not what it claims to be: a blob whose digest or size differs
 * from its descriptor (`ERR_DIGEST_MISMATCH`, `ERR_SIZE_MISMATCH`), a malformed
 * manifest, config, index or archive (`ERR_MANIFEST_INVALID`, `ERR_CONFIG_INVALID`,
 * `ERR_ARCHIVE_INVALID`), a platform the image does not have (`ERR_PLATFORM_UNAVAILABLE`).
 * Nothing of the image is kept when this is thrown.
 */
export class ImageContentError extends BerthError {}

/**
 * An image's configuration breaks berth's policy for image configs
 * (lib/image/image-config-check.ts, Docker's or stricter): a string with a NUL
 * byte, an `Env` entry that is not `KEY=value`, a relative `WorkingDir`, a
 * malformed `User`, an unknown `StopSignal`, a volume or port key that is not
 * one, a malformed `Healthcheck`, an invalid `rootfs.diff_ids` entry, a config
 * too large. `code` is `ERR_INVALID_IMAGE`; `image` names the image, `field`
 * the part of the config (`config.Cmd[0]`). Thrown by load, pull, import and
 * commit before anything is stored, and by create for an image stored before.
 */
export class InvalidImageError extends ImageContentError {
  /** The image whose config is refused: a reference, or its id or config digest. */
  readonly image: string;
  /** The refused part of the config (`config.Cmd[0]`, `history[2].author`). */
  readonly field: string;
  constructor(message: string, image: string, field: string, details: BerthErrorDetails = {}) {
    super(message, { code: 'ERR_INVALID_IMAGE', ...details });
    this.image = image;
    this.field = field;
  }
}

/**
 * A layer's tar has an entry that would create or change something outside the
 * layer directory (`ERR_UNSAFE_ENTRY`: an absolute name, `..`, a write through a
 * symlink, a hardlink to outside the layer), or a device node that was not
 * permitted (`ERR_DEVICE_NOT_PERMITTED`). `entry` is the entry's name as the tar
 * gives it. Nothing of the layer is kept.
 */
export class LayerUnpackError extends ImageContentError {
  /** The tar entry's name, as the tar gives it. */
  readonly entry: string;
  constructor(message: string, entry: string, details: BerthErrorDetails = {}) {
    super(message, { code: 'ERR_UNSAFE_ENTRY', ...details });
    this.entry = entry;
  }
}

/**
 * An image archive (`images.load`: `docker save` or an OCI layout) that berth
 * refuses: a member named outside the archive, through or as a symlink out of
 * it, or twice (`ERR_UNSAFE_ENTRY`); a path in manifest.json or index.json
 * that leaves the archive (`ERR_UNSAFE_ENTRY`); a document over its size limit
 * (`ERR_TOO_LARGE`); a compressed archive that expands past its limit
 * (`ERR_ARCHIVE_TOO_LARGE`); a malformed one (`ERR_ARCHIVE_INVALID`).
 * `entry` names the member or field. Nothing of the archive is kept.
 */
export class ImageArchiveError extends ImageContentError {
  /** The archive member or document field concerned, when there is one. */
  readonly entry?: string;
  constructor(message: string, details: BerthErrorDetails & { entry?: string } = {}) {
    const { entry, ...rest } = details;
    super(message, { code: 'ERR_ARCHIVE_INVALID', ...rest });
    if (entry !== undefined) this.entry = entry;
  }
}

/**
 * The container exited (or was OOM-killed) while something waited for it to
 * become ready (`start({ waitFor })`, `container.waitFor()`). `code` is
 * `ERR_CONTAINER_EXITED`; the exit status and the last lines of its log
 * (the likely reason) come with it.
 */
export class ContainerExitedError extends BerthError {
  /** Its exit code (128 + signal number when a signal killed it). */
  readonly exitCode: number;
  /** The signal that killed it, or `null`. */
  readonly signal: NodeJS.Signals | null;
  /** The kernel's OOM killer killed a process of the container. */
  readonly oomKilled: boolean;
  /** The last lines of its output (stdout and stderr, oldest first). */
  readonly logs: string[];
  constructor(
    message: string,
    status: { exitCode: number; signal: NodeJS.Signals | null; oomKilled: boolean; logs: string[] },
    details: BerthErrorDetails = {},
  ) {
    super(message, { code: 'ERR_CONTAINER_EXITED', ...details });
    this.exitCode = status.exitCode;
    this.signal = status.signal;
    this.oomKilled = status.oomKilled;
    this.logs = status.logs;
  }
}

/**
 * A container did not become ready within the startup timeout. `code` is
 * `ERR_WAIT_TIMEOUT`; the message names what was awaited and what was last
 * seen. The container is left running (remove it, or use `await using`).
 */
export class WaitTimeoutError extends BerthError {
  constructor(message: string, details: BerthErrorDetails = {}) {
    super(message, { code: 'ERR_WAIT_TIMEOUT', ...details });
  }
}

/**
 * A compose file (or a stack spec given as an object) that berth refuses:
 * malformed YAML, a wrong value, an unknown or unsupported key (`build`:
 * `ERR_COMPOSE_UNSUPPORTED`), a `${VAR:?message}` whose variable is unset,
 * a `depends_on` cycle (`ERR_COMPOSE_CYCLE`), a reference to a service,
 * network or volume the file does not declare. `code` is
 * `ERR_COMPOSE_INVALID` unless said otherwise; `file`, `service` and `key`
 * say where (`key` is the path inside the service, or from the top for
 * top-level keys: `ports[0]`, `networks.back.ipam`). Nothing is created
 * when this is thrown by `stacks.up()`.
 */
export class ComposeError extends BerthError {
  /** The compose file, or `<object>` for a spec given as an object. */
  readonly file: string;
  /** The service concerned, when there is one. */
  readonly service?: string;
  /** The key concerned (`ports[0]`, `healthcheck.interval`), when there is one. */
  readonly key?: string;
  constructor(message: string, where: { file: string; service?: string; key?: string }, details: BerthErrorDetails = {}) {
    const place = [where.file, where.service === undefined ? undefined : `service "${where.service}"`, where.key].filter(Boolean).join(': ');
    super(`${place}: ${message}`, { code: 'ERR_COMPOSE_INVALID', ...details });
    this.file = where.file;
    if (where.service !== undefined) this.service = where.service;
    if (where.key !== undefined) this.key = where.key;
  }
}

/** Where in a Dockerfile something is: the file as given, 1-based line and column. */
export interface DockerfileLocation {
  /** The Dockerfile's name or path, as given to the build. */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  column: number;
}

/**
 * A Dockerfile that cannot be built as written: a syntax error (an unknown
 * instruction, a malformed flag or argument, an unterminated heredoc), or a
 * semantic one (an undefined stage, `${VAR:?}` of an unset variable, an
 * instruction before the first `FROM`). `code` is `ERR_DOCKERFILE`; the
 * message starts `file:line:column:`, and `location` says the same. Nothing
 * is stored.
 */
export class DockerfileError extends BerthError {
  /** Where the problem is. */
  readonly location: DockerfileLocation;
  constructor(message: string, location: DockerfileLocation, details: BerthErrorDetails = {}) {
    super(`${location.file}:${location.line}:${location.column}: ${message}`, { code: 'ERR_DOCKERFILE', path: location.file, ...details });
    this.location = location;
  }
}

/**
 * A build step failed: a `RUN` command exited non-zero, a `COPY`/`ADD`
 * source is missing or unsafe, a base image cannot be had. `instruction` is the step as written
 * (`RUN make`), `location` where it is; for a `RUN`, `exitCode` and the last
 * lines of its output. `code` is `ERR_BUILD_STEP` (for a base image that
 * cannot be had, the cause's: `ERR_NOT_FOUND`, `ERR_REGISTRY`, …). Nothing of
 * the failed step is kept, and nothing is tagged.
 */
export class BuildStepError extends BerthError {
  /** The instruction as written in the Dockerfile. */
  readonly instruction: string;
  /** Where it is in the Dockerfile. */
  readonly location: DockerfileLocation;
  /** A RUN's exit code (128 + signal number when a signal ended it). */
  readonly exitCode?: number;
  /** A RUN's last output lines (stdout and stderr, oldest first). */
  readonly output: string[];
  constructor(
    message: string,
    step: { instruction: string; location: DockerfileLocation; exitCode?: number; output?: string[] },
    details: BerthErrorDetails = {},
  ) {
    super(`${step.location.file}:${step.location.line}: ${step.instruction}: ${message}`, { code: 'ERR_BUILD_STEP', step: 'build', ...details });
    this.instruction = step.instruction;
    this.location = step.location;
    if (step.exitCode !== undefined) this.exitCode = step.exitCode;
    this.output = step.output ?? [];
  }
}

/**
 * berth runs rootless (as a normal user) and what was asked needs what a
 * normal user cannot have here: a resource limit without a delegated cgroup,
 * a bridge network, a kernel without overlayfs in user namespaces, user
 * namespaces switched off, subordinate ids without `newuidmap`, an image file
 * owned by an id outside the user's subordinate ranges. `code` is
 * `ERR_ROOTLESS_UNSUPPORTED`; the message says what to do instead. Nothing
 * was changed.
 */
export class RootlessUnsupportedError extends BerthError {
  constructor(message: string, details: BerthErrorDetails = {}) {
    super(message, { code: 'ERR_ROOTLESS_UNSUPPORTED', step: 'rootless', ...details });
  }
}

/**
 * A user namespace cannot be had as asked: bad `userns` maps (overlapping
 * ranges, no root, an id out of range), `userns: 'auto'` without root or with
 * every range taken, or an idmapped mount the kernel or filesystem refuses.
 * `code` is `ERR_USERNS`; `step` is `userns`. Nothing is created.
 */
export class UsernsError extends BerthError {
  constructor(message: string, details: BerthErrorDetails = {}) {
    super(message, { code: 'ERR_USERNS', step: 'userns', ...details });
  }
}
