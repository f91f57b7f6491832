/**
 * A parsed Dockerfile. Arguments that Docker substitutes variables in are
 * kept as written (`raw`): their values depend on build args and the ENV of
 * the stage, so the builder expands them step by step.
 */
import type { DockerfileLocation } from '../errors.js';
import type { Heredoc } from './dockerfile-lexer.js';

/** `["executable", "arg"]` (exec form) or a command line for the shell (shell form). */
export type CommandForm = { exec: string[] } | { shell: string };

interface InstructionBase {
  /** Where the keyword is. */
  location: DockerfileLocation;
  /** The instruction as written, continuations joined. */
  original: string;
}

export interface FromInstruction extends InstructionBase {
  kind: 'FROM';
  /** Base image reference, a stage name or `scratch` (raw: meta ARGs substitute). */
  image: string;
  /** `AS name`, lower-case. */
  name?: string;
  /** `--platform` (raw). */
  platform?: string;
}

export interface RunInstruction extends InstructionBase {
  kind: 'RUN';
  command: CommandForm;
  heredocs: Heredoc[];
  /** `--mount` values (raw), in order. */
  mounts: string[];
  /** `--network`: `default`, `none` or `host` (raw). */
  network?: string;
  /** `--security` (raw). */
  security?: string;
}

export interface CopyInstruction extends InstructionBase {
  kind: 'COPY' | 'ADD';
  /** Sources (raw words, or `<<EOF` naming a heredoc). */
  sources: string[];
  /** Destination (raw). */
  destination: string;
  heredocs: Heredoc[];
  /** `--from` (COPY; raw). */
  from?: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  exclude: string[];
  /** `--checksum` (ADD; raw). */
  checksum?: string;
  /** `--parents` (COPY). */
  parents: boolean;
  /** `--keep-git-dir` (ADD). */
  keepGitDir: boolean;
}

export interface CommandInstruction extends InstructionBase {
  kind: 'CMD' | 'ENTRYPOINT';
  command: CommandForm;
}

export interface ShellInstruction extends InstructionBase {
  kind: 'SHELL';
  shell: string[];
}

/** `ENV` and `LABEL`: key=value pairs (raw). */
export interface PairsInstruction extends InstructionBase {
  kind: 'ENV' | 'LABEL';
  pairs: [string, string][];
}

export interface ArgInstruction extends InstructionBase {
  kind: 'ARG';
  args: { name: string; default?: string }[];
}

/** `WORKDIR`, `USER`, `STOPSIGNAL`, `MAINTAINER`: one string (raw). */
export interface StringInstruction extends InstructionBase {
  kind: 'WORKDIR' | 'USER' | 'STOPSIGNAL' | 'MAINTAINER';
  value: string;
}

/** `EXPOSE` and `VOLUME`. */
export interface ListInstruction extends InstructionBase {
  kind: 'EXPOSE' | 'VOLUME';
  /** Raw words, or the JSON form's strings (`json`). */
  items: string[];
  json: boolean;
}

export interface HealthcheckInstruction extends InstructionBase {
  kind: 'HEALTHCHECK';
  /** `["NONE"]`, `["CMD", …]` or `["CMD-SHELL", "…"]`. */
  test: string[];
  /** Nanoseconds. */
  interval?: number;
  timeout?: number;
  startPeriod?: number;
  startInterval?: number;
  retries?: number;
}

export interface OnbuildInstruction extends InstructionBase {
  kind: 'ONBUILD';
  /** The trigger as written (`RUN make`), stored in the image's `OnBuild`. */
  trigger: string;
  instruction: Instruction;
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CopyInstruction
  | CommandInstruction
  | ShellInstruction
  | PairsInstruction
  | ArgInstruction
  | StringInstruction
  | ListInstruction
  | HealthcheckInstruction
  | OnbuildInstruction;

/** A build stage: its FROM and what follows until the next FROM. */
export interface Stage {
  /** 0-based position. */
  index: number;
  /** `AS name`, lower-case. */
  name?: string;
  from: FromInstruction;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** The escape character. */
  escape: string;
  /** Parser directives, lower-case names. */
  directives: Record<string, string>;
  /** `ARG`s before the first FROM (usable in FROM lines). */
  metaArgs: ArgInstruction[];
  stages: Stage[];
  /** Notes for the user (an ignored `syntax` directive, MAINTAINER, empty continuation lines …). */
  warnings: string[];
}
