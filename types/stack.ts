/** Stacks (`runtime.stacks`): a compose file resolved, and the options of up/down/logs. */
import type { RestartPolicy, LogsOptions, ExecOptions } from './container.js';

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

/** One service, resolved. */
export interface StackService {
  /** The image reference. */
  image: string;
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
  /** The networks the service joins, with its extra aliases there (the service name is always one). */
  networks: Record<string, { aliases: string[] }>;
  /** `none` or `host` instead of networks. */
  network_mode?: 'none' | 'host';
  /** What must be true of other services before this one starts. */
  depends_on: Record<string, { condition: DependsOnCondition; required: boolean }>;
  /** The healthcheck (`test: ['NONE']` when disabled). */
  healthcheck?: {
    test: string[];
    interval?: number;
    timeout?: number;
    retries?: number;
    start_period?: number;
    start_interval?: number;
  };
  /** The restart policy. */
  restart: RestartPolicy;
  /** Labels of the container (berth adds Compose's `com.docker.compose.*` ones). */
  labels: Record<string, string>;
  user?: string;
  working_dir?: string;
  hostname?: string;
  init?: boolean;
  tty?: boolean;
  stdin_open?: boolean;
  read_only?: boolean;
  privileged?: boolean;
  cap_add?: string[];
  cap_drop?: string[];
  stop_signal?: string;
  /** Seconds. */
  stop_grace_period?: number;
  /** `deploy.resources.limits`: CPUs, bytes of memory, processes. */
  deploy?: { resources: { limits: { cpus?: number; memory?: number; pids?: number } } };
}

/** A published port, long syntax. */
export interface StackPort {
  /** The container port. */
  target: number;
  /** The host port; 0: any free one. */
  published: number;
  /** The host address (berth's default: `127.0.0.1`). */
  host_ip?: string;
  protocol: 'tcp' | 'udp';
}

/** A mount, long syntax. `source` of a volume is the file's volume name (not the project-prefixed one). */
export type StackMount =
  | { type: 'volume'; source?: string; target: string; read_only: boolean; volume?: { nocopy: boolean } }
  | { type: 'bind'; source: string; target: string; read_only: boolean; bind?: { propagation?: string } }
  | { type: 'tmpfs'; target: string; read_only: boolean; tmpfs?: { size?: number; mode?: number } };

/** A top-level network. */
export interface StackNetwork {
  /** Its name in berth: `<project>_<key>`, or `name:`, or the external network's name. */
  name: string;
  external: boolean;
  internal: boolean;
  labels: Record<string, string>;
  /** `ipam.config[0]`. */
  subnet?: string;
  gateway?: string;
}

/** A top-level volume. */
export interface StackVolume {
  /** Its name in berth: `<project>_<key>`, or `name:`, or the external volume's name. */
  name: string;
  external: boolean;
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
  /** Milliseconds for each `depends_on` condition and for `wait`. Default 60 000. */
  timeout?: number;
  /** Called as services change: `('web', 'created')`, `('web', 'started')`, … */
  onProgress?: (service: string, event: 'created' | 'recreated' | 'started' | 'running' | 'healthy' | 'exited') => void;
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
  service: string;
  /** The container's name. */
  name: string;
  id: string;
  image: string;
  /** `running`, `exited`, … */
  status: string;
  exitCode: number | null;
  /** `healthy`, `unhealthy`, `starting`, or null without a healthcheck. */
  health: string | null;
  /** Published ports as bound. */
  ports: { hostIp: string; hostPort: number; containerPort: number; proto: 'tcp' | 'udp' }[];
}

/** Options of `stacks.logs()`. */
export interface StackLogsOptions extends Pick<LogsOptions, 'follow' | 'since' | 'until' | 'tail' | 'signal'> {
  /** Only these services. */
  services?: string[];
}

/** One line of `stacks.logs()`. */
export interface StackLogLine {
  service: string;
  stream: 'stdout' | 'stderr';
  time: Date;
  line: string;
}

/** Options of `stacks.exec()`. */
export type StackExecOptions = ExecOptions;
