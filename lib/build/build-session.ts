/** What the steps of one build share. */
import type { BuildOptions, BuildProgressEvent, BuildStepInfo } from '../../types/build.js';
import type { DockerfileLocation } from '../errors.js';
import type { ImageStore } from '../image/image-store.js';
import type { Runtime } from '../runtime.js';
import type { BuildCache } from './build-cache.js';
import type { BuildContext } from './build-context.js';
import type { StageState } from './build-state.js';

export interface BuildSession {
  runtime: Runtime;
  store: ImageStore;
  cache: BuildCache;
  context: BuildContext;
  options: BuildOptions;
  /** Aborted by the caller's signal or by a failure of another stage. */
  signal: AbortSignal;
  /** The Dockerfile's escape character. */
  escape: string;
  /** Private scratch space for this build (secrets, downloads), removed at the end. */
  tempDir: string;
  progress(event: BuildProgressEvent): void;
  /** The final state of a stage, by name or index (built once, when first asked for). */
  stage(reference: string, from: DockerfileLocation): Promise<StageState> | undefined;
  stats: { run: number; cached: number };
}

/** A step under way: numbered, announced, timed. */
export interface StepHandle {
  info: BuildStepInfo;
  started: number;
}
