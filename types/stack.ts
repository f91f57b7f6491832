/** Stacks (`runtime.stacks`): a compose file resolved, and the options of up/down/logs. */
import type { RestartPolicy, LogsOptions, ExecOptions } from './container.js';
import type { PublishedPort } from './network.js';

/**
 * A compose file resolved as `stacks.config()` returns it (and `berth compose
 * config` prints it): variables substituted, short syntax made long,
 * defaults filled in, paths absolute, names final. Keys keep the Compose
 * Specification's spelling. Durations are milliseconds, sizes bytes.
 */
export interface StackSpec {
  /** The project name: containers are `<name>-<service>-1`. */
  name: string;
  /** The services, by name. */
  services: Record<string, StackService>;
  /** The networks, by the name the file uses (`default` included when a service uses it). */
  networks: Record<string, StackNetwork>;
  /** The volumes, by the name the file uses. */
  volumes: Record<string, StackVolume>;
}

/** `depends_on` conditions. */
export type DependsOnCondition = 'service_started' | 'service_healthy' | 'service_completed_successfully';

/** One `depends_on` entry. */
export interface StackDependency {
  /** What must hold of the other service before this one starts. */
  condition: DependsOnCondition;
  /** Compose's `required` (accepted; a dependency is always started by `up`). */
  required: boolean;
}

/** A service's healthcheck; durations in milliseconds, absent ones from the image, then Docker's defaults. */
export interface StackHealthcheck {
  /** `['CMD', …]`, `['CMD-SHELL', command]`, `['NONE']` (disabled), or `[]` (the image's test). */
  test: string[];
  /** Between checks. */
  interval?: number;
  /** A check that takes longer fails. */
  timeout?: number;
  /** Failures in a row that make it unhealthy. */
  retries?: number;
  /** Failures in this time after a start do not count. */
  start_period?: number;
  /** Between checks during the start period. */
  start_interval?: number;
}

/** A service's `build` section, resolved (the short form made long). */
export interface StackBuild {
  /** The build context: an absolute host directory (relative paths are taken from the project directory). */
  context: string;
  /** The Dockerfile, relative to the context or absolute. Default `Dockerfile`. */
  dockerfile: string;
  /** The Dockerfile's text instead of a file (`dockerfile_inline`). */
  dockerfile_inline?: string;
  /** Build args (`args`, a map or a list of `KEY=value`; a bare `KEY` takes the variable's value). */
  args: Record<string, string>;
  /** The stage to build. */
  target?: string;
  /** Labels added to the image's config. */
  labels: Record<string, string>;
  /** Run every step again (`no_cache`). */
  no_cache: boolean;
  /** Pull base images even when present (`pull`). */
  pull: boolean;
  /** More references to tag the image with, besides the service's `image`. */
  tags: string[];
}

/** One service, resolved. */
export interface StackService {
  /** The image reference: `image:`, or for a service with `build` and no `image`, `<project>-<service>` (lower case), as Compose v2 names it. */
  image: string;
  /** How `up` builds the image (when it is missing, or always with `build: true`). */
  build?: StackBuild;
  /** The container's name: `container_name`, or `<project>-<service>-1`. */
  container_name: string;
  /** Replaces the image's `Cmd`. */
  command?: string[];
  /** Replaces the image's `Entrypoint`. */
  entrypoint?: string[];
  /** `environment` over the `env_file`s. */
  environment: Record<string, string>;
  /** Published ports. */
  ports: StackPort[];
  /** Volumes, bind mounts and tmpfs mounts (`tmpfs` included). */
  volumes: StackMount[];
  /** The networks the service joins (file keys), with its extra aliases on each (the service and container names are always aliases). */
  networks: Record<string, {
    /** Extra names on this network. */
    aliases: string[];
  }>;
  /** `none`, `host` or `slirp4netns` instead of networks. */
  network_mode?: 'none' | 'host' | 'slirp4netns';
  /** The container's user namespace: `host` (the default) or `auto` (the `userns` create option). */
  userns_mode?: 'host' | 'auto';
  /** What must be true of other services before this one starts, by service. */
  depends_on: Record<string, StackDependency>;
  /** The healthcheck (`test: ['NONE']` when disabled). */
  healthcheck?: StackHealthcheck;
  /** The restart policy. */
  restart: RestartPolicy;
  /** Labels of the container (berth adds Compose's `com.docker.compose.*` ones). */
  labels: Record<string, string>;
  /** `user`, `uid`, `user:group` or `uid:gid`. */
  user?: string;
  /** The working directory. */
  working_dir?: string;
  /** The container's hostname. */
  hostname?: string;
  /** Run berth-init as PID 1. */
  init?: boolean;
  /** Allocate a terminal. */
  tty?: boolean;
  /** Keep stdin open. */
  stdin_open?: boolean;
  /** A read-only root filesystem. */
  read_only?: boolean;
  /** Docker's `--privileged`. */
  privileged?: boolean;
  /** Capabilities added to Docker's default set. */
  cap_add?: string[];
  /** Capabilities dropped from Docker's default set. */
  cap_drop?: string[];
  /** The signal `down` sends first. */
  stop_signal?: string;
  /** Seconds `down` waits after the stop signal before SIGKILL. */
  stop_grace_period?: number;
  /** `deploy.resources.limits`. */
  deploy?: {
    /** `deploy.resources`. */
    resources: {
      /** `deploy.resources.limits`. */
      limits: StackLimits;
    };
  };
}

/** `deploy.resources.limits` resolved. */
export interface StackLimits {
  /** CPUs' worth of CPU time. */
  cpus?: number;
  /** Memory in bytes. */
  memory?: number;
  /** Processes and threads. */
  pids?: number;
}

/** A published port, long syntax. */
export interface StackPort {
  /** The container port. */
  target: number;
  /** The host port; 0: any free one. */
  published: number;
  /** The host address (berth's default: `127.0.0.1`). */
  host_ip?: string;
  /** `tcp` or `udp`. */
  protocol: 'tcp' | 'udp';
}

/** What every mount has. */
interface StackMountBase {
  /** The absolute path in the container. */
  target: string;
  /** Mounted read-only. */
  read_only: boolean;
}

/** A volume mount; `source` is the file's volume key (not the project-prefixed name); none: an anonymous volume. */
export interface StackVolumeMount extends StackMountBase {
  /** A volume. */
  type: 'volume';
  /** The top-level `volumes` key. */
  source?: string;
  /** Volume options. */
  volume?: {
    /** Do not fill an empty volume from the image. */
    nocopy: boolean;
  };
}

/** A bind mount of a host path (absolute, resolved against the project directory). */
export interface StackBindMount extends StackMountBase {
  /** A bind mount. */
  type: 'bind';
  /** The host path. */
  source: string;
  /** Bind options. */
  bind?: {
    /** Mount propagation (`rslave`, …). */
    propagation?: string;
    /** `up` makes a missing source directory (the default of the short syntax, as in Docker). */
    create_host_path?: boolean;
  };
}

/** A tmpfs. */
export interface StackTmpfsMount extends StackMountBase {
  /** A tmpfs. */
  type: 'tmpfs';
  /** tmpfs options. */
  tmpfs?: {
    /** Size limit in bytes. */
    size?: number;
    /** Permissions of its root. */
    mode?: number;
  };
}

/** A mount, long syntax. */
export type StackMount = StackVolumeMount | StackBindMount | StackTmpfsMount;

/** A top-level network. */
export interface StackNetwork {
  /** Its name in berth: `<project>_<key>`, or `name:`, or the external network's name. */
  name: string;
  /** Made elsewhere: must exist, never created or removed. */
  external: boolean;
  /** No way out of the network. */
  internal: boolean;
  /** Its labels (berth adds `com.docker.compose.project` and `.network`). */
  labels: Record<string, string>;
  /** `ipam.config[0].subnet`. */
  subnet?: string;
  /** `ipam.config[0].gateway`. */
  gateway?: string;
}

/** A top-level volume. */
export interface StackVolume {
  /** Its name in berth: `<project>_<key>`, or `name:`, or the external volume's name. */
  name: string;
  /** Made elsewhere: must exist, never created or removed. */
  external: boolean;
  /** Its labels (berth adds `com.docker.compose.project` and `.volume`). */
  labels: Record<string, string>;
}

/** How `stacks.up()`, `config()` find and read the file. */
export interface StackLoadOptions {
  /** The project name (`-p`); default: the file's `name:`, `$COMPOSE_PROJECT_NAME`, or the project directory's name, normalised. */
  projectName?: string;
  /** The directory relative paths and `.env` are taken from; default: the file's directory (for an object spec: the current directory). */
  projectDir?: string;
  /** The variables for `${VAR}`; default `process.env`. `.env` in the project directory fills in the missing ones. */
  env?: Record<string, string | undefined>;
  /** Called with each warning (a variable that is not set, …). */
  onWarning?: (message: string) => void;
}

/** Options of `stacks.up()`. */
export interface StackUpOptions extends StackLoadOptions {
  /** Only these services (and what they depend on). */
  services?: string[];
  /** Wait until every service is running, and healthy where it has a healthcheck (`up --wait`). */
  wait?: boolean;
  /** Remove the project's containers of services no longer in the file (otherwise a warning names them). */
  removeOrphans?: boolean;
  /** Build the images of services with `build` even when they exist (`up --build`). Default: only missing ones are built. */
  build?: boolean;
  /** Milliseconds for each `depends_on` condition and for `wait`. Default 60 000. */
  timeout?: number;
  /** Called as services change: `('web', 'created')`, `('web', 'started')`, … */
  onProgress?: (service: string, event: 'building' | 'built' | 'created' | 'recreated' | 'started' | 'running' | 'healthy' | 'exited') => void;
}

/** Options of `stacks.down()`. */
export interface StackDownOptions {
  /** Also remove the named volumes the stack declared (not external ones) and the containers' anonymous volumes. */
  volumes?: boolean;
  /** Seconds each container gets after its stop signal. Default: its `stop_grace_period` (10). */
  timeout?: number;
}

/** A service's container as `stacks.ps()` lists it. */
export interface StackContainer {
  /** The service it runs. */
  service: string;
  /** The container's name. */
  name: string;
  /** The container's id. */
  id: string;
  /** The image reference. */
  image: string;
  /** `created`, `running`, `paused` or `exited`. */
  status: string;
  /** The exit code once exited, else null. */
  exitCode: number | null;
  /** `healthy`, `unhealthy`, `starting`, or null without a healthcheck. */
  health: string | null;
  /** Published ports as bound. */
  ports: PublishedPort[];
}

/** Options of `stacks.logs()`. */
export interface StackLogsOptions extends Pick<LogsOptions, 'follow' | 'since' | 'until' | 'tail' | 'signal'> {
  /** Only these services. */
  services?: string[];
}

/** One line of `stacks.logs()`. */
export interface StackLogLine {
  /** The service whose container wrote it. */
  service: string;
  /** The stream it was written to. */
  stream: 'stdout' | 'stderr';
  /** When the monitor read it. */
  time: Date;
  /** The line without its newline. */
  line: string;
}

/** Options of `stacks.exec()`: those of `container.exec()`. */
export type StackExecOptions = ExecOptions;
