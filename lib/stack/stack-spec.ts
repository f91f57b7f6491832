/** A whole compose document (already interpolated) → StackSpec: top-level networks and volumes, then the services. */
import type { StackNetwork, StackSpec, StackVolume } from '../../types/stack.js';
import { readService } from './service-spec.js';
import { startOrder } from './start-order.js';
import { isMap, readBoolean, readMap, readString, readStringMap, refuseUnknownKeys, shown, Where } from './compose-values.js';

/** Where the document came from and what it is resolved with. */
export interface SpecContext {
  /** The file's name for messages (`<object>` for a spec given as an object). */
  file: string;
  project: string;
  projectDir: string;
  variables: Readonly<Record<string, string | undefined>>;
}

const TOP_KEYS = ['name', 'version', 'services', 'networks', 'volumes'];
const RESOURCE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** `networks:` / `volumes:` entries: `name:`, `external`, `labels`, the local driver, and what `extra` reads. */
function readResources<T extends { name: string; external: boolean; labels: Record<string, string> }>(
  value: unknown, where: Where, project: string, kind: 'network' | 'volume',
  extraKeys: string[], extra: (map: Record<string, unknown>, where: Where) => Omit<T, 'name' | 'external' | 'labels'>,
): Record<string, T> {
  const out: Record<string, T> = {};
  if (value === undefined || value === null) return out;
  for (const [key, given] of Object.entries(readMap(value, where))) {
    const here = where.at(key);
    if (!RESOURCE_NAME.test(key)) here.fail(`${shown(key)} is not a valid ${kind} name`);
    const map = given === null ? {} : readMap(given, here);
    refuseUnknownKeys(map, ['name', 'external', 'labels', 'driver', 'driver_opts', ...extraKeys], here);
    const driver = map.driver === undefined ? undefined : readString(map.driver, here.at('driver'));
    const drivers = kind === 'network' ? ['bridge'] : ['local'];
    if (driver !== undefined && !drivers.includes(driver)) here.at('driver').fail(`berth has the ${drivers[0]} driver only, got ${shown(driver)}`, 'ERR_COMPOSE_UNSUPPORTED');
    if (map.driver_opts !== undefined && Object.keys(readMap(map.driver_opts, here.at('driver_opts'))).length) here.at('driver_opts').fail('driver options are not supported by berth', 'ERR_COMPOSE_UNSUPPORTED');
    const external = map.external === undefined ? false : isMap(map.external) ? true : readBoolean(map.external, here.at('external'));
    const name = map.name !== undefined ? readString(map.name, here.at('name')) : external ? key : `${project}_${key}`;
    if (!RESOURCE_NAME.test(name) || name.length > 64) here.at('name').fail(`${shown(name)} is not a valid ${kind} name`);
    out[key] = {
      name, external,
      labels: map.labels === undefined ? {} : readStringMap(map.labels, here.at('labels')),
      ...extra(map, here),
    } as T;
  }
  return out;
}

function networkExtras(map: Record<string, unknown>, where: Where): Omit<StackNetwork, 'name' | 'external' | 'labels'> {
  const internal = map.internal === undefined ? false : readBoolean(map.internal, where.at('internal'));
  if (map.ipam === undefined) return { internal };
  const ipam = readMap(map.ipam, where.at('ipam'));
  refuseUnknownKeys(ipam, ['driver', 'config'], where.at('ipam'));
  const config = ipam.config === undefined ? [] : Array.isArray(ipam.config) ? ipam.config : where.at('ipam.config').fail('must be a list');
  if (config.length > 1) where.at('ipam.config').fail('berth networks have one subnet', 'ERR_COMPOSE_UNSUPPORTED');
  if (config.length === 0) return { internal };
  const first = readMap(config[0], where.at('ipam.config[0]'));
  refuseUnknownKeys(first, ['subnet', 'gateway'], where.at('ipam.config[0]'), ['ip_range', 'aux_addresses']);
  return {
    internal,
    ...(first.subnet === undefined ? {} : { subnet: readString(first.subnet, where.at('ipam.config[0].subnet')) }),
    ...(first.gateway === undefined ? {} : { gateway: readString(first.gateway, where.at('ipam.config[0].gateway')) }),
  };
}

/** Checks and resolves a compose document. */
export function readSpec(document: unknown, context: SpecContext): StackSpec {
  const top = new Where(context.file, undefined, undefined);
  const root = readMap(document, top);
  refuseUnknownKeys(root, TOP_KEYS, top, ['secrets', 'configs', 'include', 'models']);
  const servicesMap = readMap(root.services, top.at('services'));
  if (Object.keys(servicesMap).length === 0) top.at('services').fail('defines no service');
  for (const name of Object.keys(servicesMap)) {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) top.at('services').fail(`${shown(name)} is not a valid service name`);
  }
  const networks = readResources<StackNetwork>(root.networks, top.at('networks'), context.project, 'network', ['internal', 'ipam', 'attachable', 'enable_ipv6'], networkExtras);
  const volumes = readResources<StackVolume>(root.volumes, top.at('volumes'), context.project, 'volume', [], () => ({}));
  const serviceContext = {
    project: context.project, projectDir: context.projectDir, variables: context.variables,
    services: Object.keys(servicesMap), declaredNetworks: [...Object.keys(networks), 'default'], declaredVolumes: Object.keys(volumes),
  };
  const services = Object.fromEntries(Object.entries(servicesMap).map(([name, value]) => [
    name, readService(name, value, new Where(context.file, name, undefined), serviceContext),
  ]));
  const names = Object.values(services).map((s) => s.container_name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) top.at('services').fail(`two services have the container name ${shown(twice)}`);
  startOrder(services, top); // a cycle fails here, before anything is created
  if (!networks.default && Object.values(services).some((s) => s.networks.default)) {
    networks.default = { name: `${context.project}_default`, external: false, internal: false, labels: {} };
  }
  return { name: context.project, services, networks, volumes };
}
