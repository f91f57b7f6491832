/**
 * undici, loaded on first use: it is most of berth's import time, and only
 * registry traffic needs it. One connection pool serves every registry.
 */
import type { Socket } from 'node:net';
import type { Dispatcher } from 'undici';

type Undici = typeof import('undici');

let loading: Promise<Undici> | undefined;
let pool: Dispatcher | undefined;

/**
 * The shared pool. Idle sockets close soon and never hold the process.
 * Connections are kept alive: undici 7 asserts (nodejs/undici#5360) when a
 * server closes a `Connection: close` response while its body waits for a
 * slow reader, which a layer body often does. A registry or proxy can still
 * answer that way, so every socket is guarded ({@link guardParserAssertion}).
 */
async function dispatcher(undici: Undici): Promise<Dispatcher> {
  if (pool) return pool;
  const connector = undici.buildConnector({});
  const connect: typeof connector = (options, callback) =>
    connector(options, (...args) => {
      if (args[1]) guardParserAssertion(args[1]);
      callback(...args);
    });
  pool = new undici.Agent({ keepAliveTimeout: 4_000, keepAliveMaxTimeout: 10_000, connections: 16, connect });
  return pool;
}

/**
 * undici 7's HTTP/1 parser asserts that it is not paused when the server
 * ends (or resets) a `Connection: close` response; it is paused whenever
 * the body waits for its reader. The assertion is thrown from the socket's
 * 'end' or 'error' listener, so nothing can catch it and it takes down the
 * caller's process (nodejs/undici#5360, fixed in undici 8, which needs
 * Node 22). Here it becomes what it is, a connection that broke before the
 * response was read: the request fails with `UND_ERR_SOCKET`, which the
 * registry client retries (a blob resumes with `Range`) or reports as an
 * `ImagePullError`.
 */
function guardParserAssertion(socket: Socket): void {
  const emit = socket.emit.bind(socket) as (event: string | symbol, ...args: unknown[]) => boolean;
  socket.emit = ((event: string | symbol, ...args: unknown[]): boolean => {
    if (event !== 'end' && event !== 'error') return emit(event, ...args);
    try {
      return emit(event, ...args);
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ERR_ASSERTION') throw error;
      const broken = Object.assign(new Error('the server closed the connection before the response was read'), { code: 'UND_ERR_SOCKET', cause: error });
      if (event === 'end') socket.destroy(broken);
      else emit('error', broken);
      return true;
    }
  }) as Socket['emit'];
}

/** undici's `request` through the shared pool. */
export async function httpRequest(url: URL, options: Omit<Dispatcher.RequestOptions, 'origin' | 'path'>): Promise<Dispatcher.ResponseData> {
  const undici = await (loading ??= import('undici'));
  return (await undici.request(url, { ...options, dispatcher: await dispatcher(undici) } as Parameters<Undici['request']>[1])) as Dispatcher.ResponseData;
}

/** undici's `fetch` (redirects followed) through the shared pool, its sockets guarded as above. */
export async function httpFetch(url: string, init: { signal?: AbortSignal | undefined }): Promise<Awaited<ReturnType<Undici['fetch']>>> {
  const undici = await (loading ??= import('undici'));
  return undici.fetch(url, { ...(init.signal ? { signal: init.signal } : {}), dispatcher: await dispatcher(undici) });
}

/**
 * At most `limit` bytes of a response body, as text: what a server says
 * besides the content asked for (an error page, a token answer), which it
 * may make endless. The rest is not read (the connection is dropped), and a
 * body that breaks off gives what came; `complete` says whether it was all.
 */
export async function bodyText(response: Dispatcher.ResponseData, limit: number): Promise<{ text: string; complete: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.length;
      if (size > limit) return { text: Buffer.concat(chunks).subarray(0, limit).toString('utf8'), complete: false }; // leaving the loop destroys the body
    }
  } catch {
    return { text: Buffer.concat(chunks).toString('utf8'), complete: false };
  }
  return { text: Buffer.concat(chunks).toString('utf8'), complete: true };
}
