/** The public shapes of volumes and of the mounts a container is created with. */

/** Options of `runtime.volumes.create()`. */
export interface VolumeCreateOptions {
  /**
   * The volume's name: letters, digits, `_`, `.` and `-`, starting with a
   * letter or digit, at least 2 characters (Docker's rule). Default: 64
   * random hex characters, like the name of Docker's anonymous volumes.
   * A name that exists already gives that volume back (as `docker volume create` does).
   */
  name?: string;
  /** Labels, for your own bookkeeping and for `list({ labels })`. */
  labels?: Record<string, string>;
}

/** Options of `runtime.volumes.list()`. */
export interface VolumeListOptions {
  /** Only volumes with all these labels: `{ key: 'value' }`, or `['key', 'key=value']` where a bare key only has to be present. */
  labels?: Record<string, string> | string[];
  /** `true`: only volumes no container uses; `false`: only those in use. Default: all. */
  dangling?: boolean;
}

/** Options of `volume.remove()` and `runtime.volumes.remove()`. */
export interface VolumeRemoveOptions {
  /**
   * A volume that does not exist is not an error (as `docker volume rm -f`).
   * A volume in use is still refused: remove its containers first.
   */
  force?: boolean;
}

/** Options of `runtime.volumes.prune()`. */
export interface VolumePruneOptions {
  /**
   * Also remove unused *named* volumes. By default only anonymous ones go
   * (those made for an image's `VOLUME` or a mount without a source), as
   * `docker volume prune` does since Docker 23; `all: true` is its `--all`.
   */
  all?: boolean;
  /** Only volumes with all these labels (as in `list()`). */
  labels?: Record<string, string> | string[];
}

/** What `runtime.volumes.prune()` returns. */
export interface VolumePruneResult {
  /** The names of the volumes removed. */
  volumes: string[];
  /** Bytes freed (the size of their files). */
  reclaimedBytes: number;
}

/** What `volume.inspect()` returns. */
export interface VolumeInspect {
  /** Its unique name. */
  name: string;
  /** Always `local`: a directory under the runtime root. */
  driver: 'local';
  /** The host directory containers mount: `<root>/volumes/<name>/_data`. */
  mountpoint: string;
  /** RFC 3339. */
  createdAt: string;
  /** Its labels. */
  labels: Record<string, string>;
  /** Made for a container (an image's `VOLUME`, a volume mount without a source), not by name. */
  anonymous: boolean;
  /** A container has mounted it (and, if it was empty, filled it from its image). */
  initialized: boolean;
  /** The ids of the containers (in any state) whose mounts name it. */
  usedBy: string[];
}

/** Mount propagation of a bind mount (see `mount(8)`). */
export type MountPropagation = 'rprivate' | 'private' | 'rshared' | 'shared' | 'rslave' | 'slave';

/**
 * A volume mounted at `target`: the named volume `source` (created when
 * missing), or a new anonymous volume. A volume that is still empty when a
 * container first starts with it is filled with what the image has at
 * `target` (unless `noCopy`).
 */
export interface VolumeMountOptions {
  /** A volume mount. */
  type: 'volume';
  /** The volume's name. Default: a new anonymous volume. */
  source?: string;
  /** An absolute path in the container. Symlinks in the image are followed inside the container's root, never out of it. */
  target: string;
  /** Mounted read-only in the container. */
  readonly?: boolean;
  /** Do not fill an empty volume from the image (Docker's `volume-nocopy`). */
  noCopy?: boolean;
}

/** A host file or directory mounted at `target`. */
export interface BindMountOptions {
  /** A bind mount of a host path. */
  type: 'bind';
  /** An absolute host path that exists (a file is mounted on a file, a directory on a directory). */
  source: string;
  /** An absolute path in the container; created (inside the container's root) when missing. */
  target: string;
  /** Mounted read-only in the container (recursively: the mounts below the source too). */
  readonly?: boolean;
  /**
   * Default `rprivate`. `rslave`/`slave`: mounts made on the host below the
   * source later appear in the container too (when the source is on a shared
   * mount). `rshared`/`shared` are accepted and behave like `rslave`: a mount
   * made in a container never propagates to the host.
   */
  propagation?: MountPropagation;
}

/** A tmpfs mounted at `target`, `nosuid,nodev,noexec` (as Docker's). */
export interface TmpfsMountOptions {
  /** A tmpfs. */
  type: 'tmpfs';
  /** An absolute path in the container. */
  target: string;
  /** Its size limit: bytes, or `'64m'`. Default: the kernel's (half of RAM). */
  size?: number | string;
  /** The permissions of its root, a number: `0o1777` (the default), `0o755`. */
  mode?: number;
  /** Mounted read-only. */
  readonly?: boolean;
}

/** A mount of `runtime.containers.create({ mounts })`. */
export type MountOptions = VolumeMountOptions | BindMountOptions | TmpfsMountOptions;

/** A mount as the container has it (`inspect().mounts`): what `mounts`, `volumesFrom` and the image's `Volumes` became. */
export type ContainerMount =
  | {
      /** A volume. */
      type: 'volume';
      /** The volume's name. */
      name: string;
      /** Its mountpoint on the host. */
      source: string;
      /** The path in the container. */
      target: string;
      /** Mounted read-only. */
      readonly: boolean;
      /** Made for this container (or the one it took it from with `volumesFrom`). */
      anonymous: boolean;
      /** Not filled from the image. */
      noCopy: boolean;
    }
  | {
      /** A bind mount. */
      type: 'bind';
      /** The host path. */
      source: string;
      /** The path in the container. */
      target: string;
      /** Mounted read-only. */
      readonly: boolean;
      /** Its mount propagation. */
      propagation: MountPropagation;
    }
  | {
      /** A tmpfs. */
      type: 'tmpfs';
      /** The path in the container. */
      target: string;
      /** Its size limit in bytes; `null`: the kernel's default. */
      size: number | null;
      /** The permissions of its root. */
      mode: number;
      /** Mounted read-only. */
      readonly: boolean;
    };
