/** Looking a step up in the build cache. */
import type { BuildSession, StepHandle } from './build-session.js';
import { imageState, type StageState } from './build-state.js';

/**
 * The state a cached step led to, when the cache has the key and its image
 * (with every layer) is still in the store; announces the step as cached.
 * Undefined with `noCache`, or when there is no usable entry.
 */
export function cachedState(session: BuildSession, state: StageState, key: string, step: StepHandle): StageState | undefined {
  if (session.options.noCache) return undefined;
  const id = session.cache.lookup(key);
  if (id === undefined) return undefined;
  const record = session.store.recordOf(id);
  if (!record || !record.layers.every((layer) => session.store.content.layerRecord(layer) !== undefined)) {
    session.cache.forget(key);
    return undefined;
  }
  const next = imageState(session.store, id);
  next.key = key;
  next.args = new Map(state.args);
  session.progress({ type: 'step-cached', ...step.info });
  session.stats.cached++;
  return next;
}
