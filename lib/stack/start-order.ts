/** The order services start in: every service after what it `depends_on`; a cycle is an error naming it. */
import type { StackService } from '../../types/stack.js';
import type { Where } from './compose-values.js';

/** Service names, dependencies first (file order among equals). */
export function startOrder(services: Readonly<Record<string, StackService>>, where: Where): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]) => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const cycle = [...path.slice(path.indexOf(name)), name];
      where.at(`services.${name}.depends_on`).fail(`dependency cycle: ${cycle.join(' → ')}`, 'ERR_COMPOSE_CYCLE');
    }
    state.set(name, 'visiting');
    for (const dependency of Object.keys(services[name]!.depends_on)) visit(dependency, [...path, name]);
    state.set(name, 'done');
    order.push(name);
  };
  for (const name of Object.keys(services)) visit(name, []);
  return order;
}

/** `names` with everything they depend on, transitively. */
export function withDependencies(services: Readonly<Record<string, StackService>>, names: readonly string[]): Set<string> {
  const wanted = new Set<string>();
  const add = (name: string) => {
    if (wanted.has(name)) return;
    wanted.add(name);
    for (const dependency of Object.keys(services[name]?.depends_on ?? {})) add(dependency);
  };
  names.forEach(add);
  return wanted;
}
