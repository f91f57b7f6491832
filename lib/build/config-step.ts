/**
 * The instructions that change only the image config (ENV, LABEL, WORKDIR,
 * USER, EXPOSE, VOLUME, STOPSIGNAL, HEALTHCHECK, SHELL, CMD, ENTRYPOINT,
 * ONBUILD, MAINTAINER), applied with variables substituted as Docker does.
 * The values are typed already, so they are set directly rather than
 * re-quoted into `applyChanges` text; the result passes the same image
 * config policy when the image is stored.
 */
import { posix } from 'node:path';
import type { ImageConfig } from '../../types/image.js';
import type { CommandForm, Instruction } from './dockerfile-ast.js';
import { expandWord, expandWords, type Lookup } from './dockerfile-words.js';

export const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** The variables a stage's instructions see: its ENV, then its ARGs. */
export function stageLookup(config: ImageConfig, args: ReadonlyMap<string, string>): Lookup {
  const env = new Map((config.Env ?? []).map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
  return (name) => env.get(name) ?? args.get(name);
}

/** A command form as the config holds it: the shell form through the stage's SHELL. */
export function commandArgv(command: CommandForm, config: ImageConfig): string[] {
  return 'exec' in command ? command.exec : [...(config.Shell ?? DEFAULT_SHELL), command.shell];
}

function setEnv(config: ImageConfig, key: string, value: string): void {
  const env = (config.Env ?? []).filter((entry) => entry.slice(0, entry.indexOf('=')) !== key);
  config.Env = [...env, `${key}=${value}`];
}

/** `80`, `80/udp`, `8000-8002/tcp` → `80/tcp` … */
function exposedPorts(item: string): string[] {
  const match = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|sctp))?$/i.exec(item);
  if (!match) throw new Error(`'${item}' is not a port: use 80, 80/tcp, 53/udp or 8000-8010`);
  const first = Number(match[1]);
  const last = match[2] === undefined ? first : Number(match[2]);
  if (first < 1 || last > 65535 || last < first) throw new Error(`'${item}' is not a port range within 1-65535`);
  const protocol = (match[3] ?? 'tcp').toLowerCase();
  return Array.from({ length: last - first + 1 }, (_, i) => `${first + i}/${protocol}`);
}

/**
 * Applies a config-only instruction to `config` (changed in place). Returns
 * the history entry's `created_by`.
 * @param cmdSetHere whether CMD was set in this stage (ENTRYPOINT clears an inherited CMD).
 * @throws Error with a message for the user (the caller adds the location).
 */
export function applyConfigInstruction(config: ImageConfig, instruction: Instruction, lookup: Lookup, escape: string, cmdSetHere: boolean): string {
  const word = (text: string) => expandWord(text, lookup, escape);
  switch (instruction.kind) {
    case 'ENV':
    case 'LABEL': {
      const pairs = instruction.pairs.map(([key, value]): [string, string] => [word(key), word(value)]);
      for (const [key, value] of pairs) {
        if (key === '') throw new Error(`${instruction.kind} needs a non-empty name`);
        if (instruction.kind === 'ENV') {
          setEnv(config, key, value);
          const previous = lookup;
          lookup = (name) => (name === key ? value : previous(name)); // later pairs see earlier ones
        } else config.Labels = { ...config.Labels, [key]: value };
      }
      return `${instruction.kind} ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`;
    }
    case 'WORKDIR': {
      const path = word(instruction.value);
      config.WorkingDir = posix.resolve(config.WorkingDir || '/', path);
      return `WORKDIR ${config.WorkingDir}`;
    }
    case 'USER':
      config.User = word(instruction.value);
      return `USER ${config.User}`;
    case 'STOPSIGNAL':
      config.StopSignal = word(instruction.value);
      return `STOPSIGNAL ${config.StopSignal}`;
    case 'EXPOSE': {
      const ports = instruction.items.flatMap((item) => expandWords(item, lookup, escape)).flatMap(exposedPorts);
      config.ExposedPorts = { ...config.ExposedPorts, ...Object.fromEntries(ports.map((port) => [port, {}])) };
      return `EXPOSE map[${ports.map((p) => `${p}:{}`).join(' ')}]`;
    }
    case 'VOLUME': {
      const paths = instruction.json ? instruction.items.map(word) : instruction.items.flatMap((item) => expandWords(item, lookup, escape));
      for (const path of paths) if (path === '') throw new Error('VOLUME paths must not be empty');
      config.Volumes = { ...config.Volumes, ...Object.fromEntries(paths.map((path) => [path, {}])) };
      return `VOLUME [${paths.join(' ')}]`;
    }
    case 'HEALTHCHECK': {
      if (instruction.test[0] === 'NONE') config.Healthcheck = { Test: ['NONE'] };
      else {
        config.Healthcheck = {
          Test: instruction.test,
          ...(instruction.interval !== undefined ? { Interval: instruction.interval } : {}),
          ...(instruction.timeout !== undefined ? { Timeout: instruction.timeout } : {}),
          ...(instruction.startPeriod !== undefined ? { StartPeriod: instruction.startPeriod } : {}),
          ...(instruction.startInterval !== undefined ? { StartInterval: instruction.startInterval } : {}),
          ...(instruction.retries !== undefined ? { Retries: instruction.retries } : {}),
        };
      }
      return `HEALTHCHECK ${JSON.stringify(config.Healthcheck)}`;
    }
    case 'SHELL':
      config.Shell = instruction.shell;
      return `SHELL ${JSON.stringify(instruction.shell)}`;
    case 'CMD':
      config.Cmd = commandArgv(instruction.command, config);
      return `CMD ${JSON.stringify(config.Cmd)}`;
    case 'ENTRYPOINT':
      config.Entrypoint = commandArgv(instruction.command, config);
      if (!cmdSetHere) delete config.Cmd; // an inherited CMD does not go with a new ENTRYPOINT (Docker's rule)
      return `ENTRYPOINT ${JSON.stringify(config.Entrypoint)}`;
    case 'ONBUILD':
      config.OnBuild = [...(config.OnBuild ?? []), instruction.trigger];
      return `ONBUILD ${instruction.trigger}`;
    case 'MAINTAINER':
      return `MAINTAINER ${word(instruction.value)}`;
    default:
      throw new Error(`${instruction.kind} is not a config instruction`);
  }
}
