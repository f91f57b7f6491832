/**
 * undici, loaded on first use: it is most of berth's import time, and only
 * registry traffic needs it. One connection pool serves every registry.
 */
import type { Dispatcher } from 'undici';

type Undici = typeof import('undici');

let loading: Promise<Undici> | undefined;
let pool: Dispatcher | undefined;

/**
 * The shared pool. Idle sockets close soon and never hold the process.
 * Connections are kept alive: undici 7 asserts (and takes the process down,
 * nodejs/undici#5360) when a server closes a `Connection: close` response
 * while its body waits for a slow reader, which a layer body often does.
 */
async function dispatcher(undici: Undici): Promise<Dispatcher> {
  pool ??= new undici.Agent({ keepAliveTimeout: 4_000, keepAliveMaxTimeout: 10_000, connections: 16 });
  return pool;
}

/** undici's `request` through the shared pool. */
export async function httpRequest(url: URL, options: Omit<Dispatcher.RequestOptions, 'origin' | 'path'>): Promise<Dispatcher.ResponseData> {
  loading ??= import('undici');
  const undici = await loading;
  return (await undici.request(url, { ...options, dispatcher: await dispatcher(undici) } as Parameters<Undici['request']>[1])) as Dispatcher.ResponseData;
}
