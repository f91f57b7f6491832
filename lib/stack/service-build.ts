/** A service's `build` section (short or long form) → StackBuild; the image name a built service gets. */
import { resolve } from 'node:path';
import type { StackBuild } from '../../types/stack.js';
import { readBoolean, readMap, readString, readStringList, readStringMap, refuseUnknownKeys, shown, type Where } from './compose-values.js';

const BUILD_KEYS = ['context', 'dockerfile', 'dockerfile_inline', 'args', 'target', 'labels', 'no_cache', 'pull', 'tags'];
/** Compose build keys berth's builder has no equivalent for: refused by name. */
const UNSUPPORTED_BUILD_KEYS = [
  'ssh', 'secrets', 'platforms', 'cache_from', 'cache_to', 'additional_contexts', 'extra_hosts', 'isolation', 'network',
  'privileged', 'shm_size', 'ulimits', 'entitlements', 'provenance', 'sbom',
];
/** A remote context (git URL, http(s) tarball). */
const REMOTE_CONTEXT = /^(?:[a-z][a-z0-9+.-]*:\/\/|git@|github\.com\/)/i;

/**
 * `build: DIR` or `build: { context, dockerfile, … }`; paths relative to
 * `projectDir`; bare `args` keys take `variables`' values (left out when unset).
 */
export function readBuild(value: unknown, where: Where, projectDir: string, variables: Readonly<Record<string, string | undefined>>): StackBuild {
  const map = typeof value === 'string' ? { context: value } : readMap(value, where);
  refuseUnknownKeys(map, BUILD_KEYS, where, UNSUPPORTED_BUILD_KEYS);
  const context = map.context === undefined ? '.' : readString(map.context, where.at('context'));
  if (context === '') where.at('context').fail('must be a directory');
  if (REMOTE_CONTEXT.test(context)) where.at('context').fail(`berth builds from a local directory only, got ${shown(context)}`, 'ERR_COMPOSE_UNSUPPORTED');
  if (map.dockerfile !== undefined && map.dockerfile_inline !== undefined) where.at('dockerfile_inline').fail('cannot be given together with dockerfile');
  const optional = (key: string) => (map[key] === undefined ? {} : { [key]: readString(map[key], where.at(key)) });
  return {
    context: resolve(projectDir, context),
    dockerfile: map.dockerfile === undefined ? 'Dockerfile' : readString(map.dockerfile, where.at('dockerfile')),
    ...optional('dockerfile_inline'),
    args: map.args === undefined ? {} : readStringMap(map.args, where.at('args'), (key) => variables[key]),
    ...optional('target'),
    labels: map.labels === undefined ? {} : readStringMap(map.labels, where.at('labels')),
    no_cache: map.no_cache === undefined ? false : readBoolean(map.no_cache, where.at('no_cache')),
    pull: map.pull === undefined ? false : readBoolean(map.pull, where.at('pull')),
    tags: map.tags === undefined ? [] : readStringList(map.tags, where.at('tags')),
  };
}

/** The name Compose v2 gives a built service's image when the file gives no `image`: `<project>-<service>`, lower case. */
export function defaultImageName(project: string, service: string): string {
  return `${project}-${service}`.toLowerCase();
}
