/** Options and progress of `runtime.images.build()`. */
import type { Readable } from 'node:stream';

/** A secret for `RUN --mount=type=secret,id=…`: its content, or a host file to read it from. */
export type BuildSecret =
  | string
  | Buffer
  | {
      /** A host file whose content is the secret. */
      file: string;
    };

/** Options of `runtime.images.build()`. */
export interface BuildOptions {
  /**
   * The build context: a host directory, or a tar stream of one (plain, gzip
   * or zstd; extracted into a private directory first, entries that would
   * leave it refused). Its `.dockerignore` (or `<Dockerfile>.dockerignore`) applies.
   */
  context: string | Readable;
  /** The Dockerfile: a path relative to the context (default `Dockerfile`) or absolute. */
  dockerfile?: string;
  /** The Dockerfile's text, instead of a file (`dockerfile` then only names it in messages). */
  dockerfileContent?: string;
  /** References to tag the result with (`app:1`, `127.0.0.1:5000/app`). */
  tags?: string[];
  /** `--build-arg`: values of the Dockerfile's `ARG`s. */
  buildArgs?: Record<string, string>;
  /** Build only up to this stage (its name or index) and the stages it needs. Default: the last. */
  target?: string;
  /** Labels added to the result's config. */
  labels?: Record<string, string>;
  /** Run every step again, using no cached step (the new steps are cached). */
  noCache?: boolean;
  /** Pull policy of base images: `missing` (default), `always`, `never`. */
  pull?: 'missing' | 'always' | 'never';
  /**
   * The network of `RUN` steps that do not say (`RUN --network=default` or no
   * flag): `none` (the default, as BuildKit's sandbox) or `host`.
   */
  network?: 'none' | 'host';
  /**
   * The platform to build for (`linux/amd64`): berth builds for the host's
   * platform only (there is no emulation); another one is an
   * `ImageContentError` `ERR_PLATFORM_UNAVAILABLE` before anything runs.
   */
  platform?: string;
  /** Secrets for `RUN --mount=type=secret,id=…`, by id. Never stored in the image or the cache key. */
  secrets?: Record<string, BuildSecret>;
  /** Called with each progress event (steps starting, cached, done; their output; warnings). */
  onProgress?: (event: BuildProgressEvent) => void;
  /** Stops the build: the running step's container is killed, nothing of the build is tagged. */
  signal?: AbortSignal;
}

/** One build step, as progress events name it. */
export interface BuildStepInfo {
  /** A number for the step, unique in this build (1-based), in the order steps start. */
  id: number;
  /** The stage's name, or its index when it has none. */
  stage: string;
  /** The step's position in its stage (1-based; the FROM is 0). */
  index: number;
  /** How many steps the stage has. */
  total: number;
  /** The instruction, variables substituted (`RUN make`, `COPY . /src`). */
  instruction: string;
}

/** What `onProgress` receives. */
export type BuildProgressEvent =
  | ({
      /** A step began to run. */
      type: 'step-start';
    } & BuildStepInfo)
  | ({
      /** A step was taken from the cache. */
      type: 'step-cached';
    } & BuildStepInfo)
  | ({
      /** A step finished. */
      type: 'step-done';
      /** How long it ran, in milliseconds. */
      durationMs: number;
    } & BuildStepInfo)
  | {
      /** A line a `RUN` step wrote. */
      type: 'output';
      /** The step's `id`. */
      step: number;
      /** Which stream it wrote to. */
      stream: 'stdout' | 'stderr';
      /** The line, without its newline. */
      line: string;
    }
  | {
      /** Something the builder wants the user to know (an ignored directive, …). */
      type: 'warning';
      /** What it is. */
      message: string;
    }
  | {
      /** The build is done. */
      type: 'done';
      /** The image built. */
      imageId: string;
      /** The tags it was given. */
      tags: string[];
      /** The whole build, in milliseconds. */
      durationMs: number;
      /** Steps that ran. */
      stepsRun: number;
      /** Steps taken from the cache. */
      stepsCached: number;
    };
