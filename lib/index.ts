/**
 * berth: a container engine you import. Containers, images and their state
 * as a typed API over a small native core — no daemon, no socket.
 * @packageDocumentation
 */
export { Runtime, DEFAULT_ROOT, type RuntimeOptions, type RuntimeInfo } from './runtime.js';
export type { CgroupDelegation } from './cgroup/cgroup-delegation.js';
export type { IdMaps, IdMapping, UsernsMaps } from './userns/id-map.js';
export { Container, type RunOptions, type RunResult, type StartOptions, type StartResult, type StopOptions, type RemoveOptions } from './container/container.js';
export { Wait } from './container/wait-strategies/wait.js';
export type { Snapshot } from './container/snapshot.js';
export { ContainerPool, type PoolOptions } from './pool/container-pool.js';
export type { WaitStrategy } from './container/wait-strategies/wait-strategy.js';
export type { WaitForOptions } from './container/wait-strategies/wait-for.js';
export type { ListeningPortOptions } from './container/wait-strategies/listening-port.js';
export type { LogMessageOptions } from './container/wait-strategies/log-message.js';
export type { HttpWaitOptions } from './container/wait-strategies/http-response.js';
export type { CommandWaitOptions } from './container/wait-strategies/successful-command.js';
export type { ReachableAddress } from './container/container-address.js';
export { ContainerCollection, type ContainerListOptions } from './container/container-collection.js';
export { copyTo, copyFrom } from './container/container-copy.js';
export { UnsafePathError } from './container/path-in-root.js';
export { Image } from './image/image.js';
export { ImageStore } from './image/image-store.js';
export { Volume } from './volume/volume.js';
export { VolumeCollection } from './volume/volume-collection.js';
export type {
  BindMountOptions,
  ContainerMount,
  MountOptions,
  MountPropagation,
  TmpfsMountOptions,
  VolumeCreateOptions,
  VolumeInspect,
  VolumeListOptions,
  VolumeMountOptions,
  VolumePruneOptions,
  VolumePruneResult,
  VolumeRemoveOptions,
} from '../types/volume.js';
export { parseReference, type ImageReference } from './image/reference.js';
export { BUILTIN_BUSYBOX_REFERENCE } from './image/builtin-busybox.js';
export {
  BerthError,
  NotFoundError,
  ConflictError,
  InvalidStateError,
  ContainerSetupError,
  ImagePullError,
  RegistryAuthError,
  ImageContentError,
  InvalidImageError,
  LayerUnpackError,
  ImageArchiveError,
  ContainerExitedError,
  WaitTimeoutError,
  ComposeError,
  DockerfileError,
  BuildStepError,
  RootlessUnsupportedError,
  UsernsError,
  type DockerfileLocation,
  type BerthErrorDetails,
} from './errors.js';
export type { UsernsOption } from './userns/userns-option.js';
export type { BuildOptions, BuildProgressEvent, BuildStepInfo, BuildSecret } from '../types/build.js';
export { CAPABILITY_NAMES, DEFAULT_CAPABILITIES, MASKED_PATHS, READONLY_PATHS, type CapabilityName } from './container/security-defaults.js';
export { DEFAULT_SECCOMP_PROFILE } from './container/seccomp-default.js';
export type {
  ContainerCreateOptions,
  ContainerInspect,
  ContainerUsernsInfo,
  ContainerStatus,
  RestartPolicy,
  SeccompAction,
  SeccompArg,
  SeccompCondition,
  SeccompProfile,
  SeccompSyscall,
  CopyToOptions,
  ExecBaseOptions,
  ExecExit,
  ExecOptions,
  ExecProcess,
  ExecResult,
  ExecStreamOptions,
  ExitStatus,
  HealthcheckOptions,
  HealthResult,
  HealthState,
  LogEntry,
  LogOptions,
  LogsOptions,
  SignalName,
  Ulimit,
} from '../types/container.js';
export { hostPlatform, parsePlatform, formatPlatform } from './image/platform.js';
export { MediaType } from './image/media-types.js';
export type {
  CommitOptions,
  Descriptor,
  HealthcheckConfig,
  HistoryEntry,
  ImageConfig,
  ImageIndex,
  ImageInspect,
  ImageManifest,
  ImageProgress,
  ImageRecord,
  ImageRemoveOptions,
  ImportOptions,
  LayerInspect,
  LoadOptions,
  OciImageConfig,
  Platform,
  PruneOptions,
  PruneResult,
  PullOptions,
  PullPolicy,
  PushOptions,
  PushResult,
  RegistryCredentials,
  RegistryOptions,
  SaveOptions,
} from '../types/image.js';
export type { ResourceLimits, ResourceUpdate, ContainerStats, DeviceRule } from '../types/resources.js';
export type { CgroupMode } from './cgroup/cgroup-mode.js';
export { NetworkCollection, DEFAULT_NETWORK } from './network/network-collection.js';
export { Network } from './network/network.js';
export type {
  NetworkCreateOptions,
  NetworkRecord,
  NetworkInspect,
  NetworkMember,
  ConnectOptions,
  Endpoint,
  PortBinding,
  PublishedPort,
  Slirp4netnsNetwork,
} from '../types/network.js';
export { StackCollection, type StackDownResult } from './stack/stack-collection.js';
export { COMPOSE_FILE_NAMES, normalizeProjectName } from './stack/compose-file.js';
export type {
  StackSpec,
  StackService,
  StackBuild,
  StackPort,
  StackMount,
  StackVolumeMount,
  StackBindMount,
  StackTmpfsMount,
  StackDependency,
  StackHealthcheck,
  StackLimits,
  StackNetwork,
  StackVolume,
  DependsOnCondition,
  StackLoadOptions,
  StackUpOptions,
  StackDownOptions,
  StackContainer,
  StackLogsOptions,
  StackLogLine,
  StackExecOptions,
} from '../types/stack.js';
