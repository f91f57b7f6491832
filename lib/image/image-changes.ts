/** Dockerfile instructions applied to an image config, as `docker import --change` and `docker commit --change` do. */
import type { ImageConfig } from '../../types/image.js';

const SUPPORTED = ['CMD', 'ENTRYPOINT', 'ENV', 'WORKDIR', 'USER', 'LABEL', 'EXPOSE', 'VOLUME', 'STOPSIGNAL'];

function bad(change: string, why: string): never {
  throw new TypeError(`change '${change}': ${why}`);
}

/** `["a", "b"]` (JSON form) or `a b` (shell form, run by /bin/sh -c). */
function command(change: string, rest: string): string[] {
  if (rest.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(rest);
    } catch {
      bad(change, 'the JSON form must be a JSON array of strings');
    }
    if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) bad(change, 'the JSON form must be a JSON array of strings');
    return parsed as string[];
  }
  return ['/bin/sh', '-c', rest];
}

/** `a=1 b="two words"` → [['a','1'], ['b','two words']]; the old form `KEY value` too. */
function pairs(change: string, rest: string): [string, string][] {
  const result: [string, string][] = [];
  const pattern = /([^\s=]+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/gy;
  let position = 0;
  const text = rest.trim();
  if (!/^[^\s=]+=/.test(text)) {
    const space = text.search(/\s/);
    if (space < 0) bad(change, 'expected KEY=value');
    return [[text.slice(0, space), text.slice(space).trim()]];
  }
  while (position < text.length) {
    pattern.lastIndex = position;
    const match = pattern.exec(text);
    if (!match) bad(change, `cannot read '${text.slice(position)}' as KEY=value`);
    let value = match[2]!;
    if (value.startsWith('"')) value = value.slice(1, -1).replace(/\\(.)/g, '$1');
    else if (value.startsWith("'")) value = value.slice(1, -1);
    result.push([match[1]!, value]);
    position = pattern.lastIndex;
    while (text[position] === ' ' || text[position] === '\t') position++;
  }
  return result;
}

/**
 * A copy of `config` with the instructions applied in order.
 * @throws TypeError naming an instruction that is malformed or not supported.
 */
export function applyChanges(config: ImageConfig, changes: readonly string[] | undefined): ImageConfig {
  const result: ImageConfig = structuredClone(config);
  if (changes === undefined) return result;
  if (!Array.isArray(changes) || !changes.every((c) => typeof c === 'string')) throw new TypeError('changes must be an array of strings');
  for (const change of changes) {
    const match = /^\s*([A-Za-z]+)\s+([\s\S]*\S)\s*$/.exec(change);
    if (!match) bad(change, `expected an instruction and its arguments, one of ${SUPPORTED.join(', ')}`);
    const instruction = match[1]!.toUpperCase();
    const rest = match[2]!;
    switch (instruction) {
      case 'CMD':
        result.Cmd = command(change, rest);
        break;
      case 'ENTRYPOINT':
        result.Entrypoint = command(change, rest);
        break;
      case 'ENV': {
        const env = new Map((result.Env ?? []).map((entry) => [entry.split('=', 1)[0]!, entry]));
        for (const [key, value] of pairs(change, rest)) env.set(key, `${key}=${value}`);
        result.Env = [...env.values()];
        break;
      }
      case 'LABEL':
        result.Labels = { ...result.Labels, ...Object.fromEntries(pairs(change, rest)) };
        break;
      case 'WORKDIR':
        if (!rest.startsWith('/')) bad(change, 'WORKDIR must be an absolute path');
        result.WorkingDir = rest;
        break;
      case 'USER':
        result.User = rest;
        break;
      case 'STOPSIGNAL':
        result.StopSignal = rest;
        break;
      case 'EXPOSE':
        for (const port of rest.split(/\s+/)) {
          if (!/^\d{1,5}(\/(tcp|udp|sctp))?$/.test(port)) bad(change, `'${port}' is not a port (80, 80/tcp, 53/udp)`);
          result.ExposedPorts = { ...result.ExposedPorts, [port.includes('/') ? port : `${port}/tcp`]: {} };
        }
        break;
      case 'VOLUME': {
        const paths = rest.startsWith('[') ? command(change, rest) : rest.split(/\s+/);
        for (const path of paths) result.Volumes = { ...result.Volumes, [path]: {} };
        break;
      }
      default:
        bad(change, `${instruction} is not supported here; use one of ${SUPPORTED.join(', ')}`);
    }
  }
  return result;
}
