/**
 * berth: a container engine you import. Containers, images and their state
 * as a typed API over a small native core — no daemon, no socket.
 * @packageDocumentation
 */
export { Runtime, DEFAULT_ROOT, type RuntimeOptions, type RuntimeInfo } from './runtime.js';
export { Container, type RunOptions, type RunResult, type StopOptions, type RemoveOptions } from './container/container.js';
export { ContainerCollection, type ContainerListOptions } from './container/container-collection.js';
export { Image } from './image/image.js';
export { ImageStore } from './image/image-store.js';
export { parseReference, type ImageReference } from './image/reference.js';
export { BUILTIN_BUSYBOX_REFERENCE } from './image/builtin-busybox.js';
export {
  BerthError,
  NotFoundError,
  ConflictError,
  InvalidStateError,
  ContainerSetupError,
  type BerthErrorDetails,
} from './errors.js';
export { DEFAULT_CAPABILITIES, MASKED_PATHS, READONLY_PATHS, type CapabilityName } from './container/security-defaults.js';
export type {
  ContainerCreateOptions,
  ContainerInspect,
  ContainerStatus,
  ExitStatus,
  LogOptions,
  SignalName,
  Ulimit,
} from '../types/container.js';
export type { ImageConfig, ImageRecord } from '../types/image.js';
