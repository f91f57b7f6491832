import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Container } from '../container.js';
import { ListeningPortWait, parseContainerPort, type ContainerPort } from './listening-port.js';
import { checkInterval, pollUntil, type WaitStrategy } from './wait-strategy.js';

/** Options of {@link Wait.forHttp}. */
export interface HttpWaitOptions {
  /** The status to wait for, or a predicate on it. Default 200. */
  status?: number | ((status: number) => boolean);
  /** A predicate on the response body (UTF-8, at most 1 MiB: a longer body fails the attempt), checked after the status. */
  body?: (body: string) => boolean;
  /** Default `GET`. */
  method?: string;
  /** Request headers. */
  headers?: Record<string, string>;
  /** Speak HTTPS. */
  tls?: boolean;
  /** With `tls`: accept any certificate (a test server's self-signed one). */
  insecure?: boolean;
  /** Milliseconds between attempts. Default 10. */
  interval?: number;
  /** Milliseconds one attempt may take, the body included. Default 2000. */
  requestTimeout?: number;
}

/** The most of a response body read for the `body` predicate: a server that streams without end is not kept in memory. */
export const MAX_HTTP_WAIT_BODY = 1024 * 1024;

/**
 * One request; resolves with the status and body, or undefined when it
 * failed. The container's server is not trusted to end its answer: the
 * attempt takes at most `timeout` in all (not only while the socket is idle),
 * the body is read only for a `body` predicate and only up to
 * {@link MAX_HTTP_WAIT_BODY} (more fails the attempt).
 */
function attempt(url: URL, options: HttpWaitOptions, signal: AbortSignal, timeout: number): Promise<{ status: number; body: string } | undefined> {
  const request = options.tls ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: { status: number; body: string } | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy(); // a body still coming is not waited for
      resolve(result);
    };
    const timer = setTimeout(() => finish(undefined), timeout);
    const req = request(url, {
      method: options.method ?? 'GET', headers: options.headers, signal, timeout, agent: false,
      ...(options.tls && options.insecure ? { rejectUnauthorized: false } : {}),
    }, (res) => {
      const status = res.statusCode ?? 0;
      res.on('error', () => finish(undefined));
      if (!options.body) return finish({ status, body: '' }); // the status is the answer
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_HTTP_WAIT_BODY) finish(undefined);
        else chunks.push(chunk);
      });
      res.on('end', () => finish({ status, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => finish(undefined));
    req.on('error', () => finish(undefined));
    req.end();
  });
}

/**
 * Waits until an HTTP request to the container answers with the expected
 * status (and body). It first waits for the port to listen inside the
 * container, then asks through the published port, or at the container's
 * address on its bridge network.
 */
export class HttpWait implements WaitStrategy {
  readonly description: string;
  private readonly port: ContainerPort;
  private readonly accept: (status: number) => boolean;
  private readonly interval: number;
  private readonly requestTimeout: number;

  constructor(private readonly path: string, port: number | string, private readonly options: HttpWaitOptions = {}) {
    if (typeof path !== 'string' || !path.startsWith('/')) throw new TypeError(`Wait.forHttp: the path must start with '/', got '${String(path)}'`);
    this.port = parseContainerPort(port, 'Wait.forHttp');
    if (this.port.proto !== 'tcp') throw new TypeError('Wait.forHttp: HTTP needs a TCP port');
    const status = options.status ?? 200;
    if (typeof status === 'number') this.accept = (s) => s === status;
    else if (typeof status === 'function') this.accept = status;
    else throw new TypeError('Wait.forHttp: status must be a number or a function');
    if (options.body !== undefined && typeof options.body !== 'function') throw new TypeError('Wait.forHttp: body must be a function');
    this.interval = checkInterval(options.interval, 'Wait.forHttp: interval', 10);
    this.requestTimeout = checkInterval(options.requestTimeout, 'Wait.forHttp: requestTimeout', 2000);
    this.description = `HTTP ${options.method ?? 'GET'} ${path} on port ${this.port.port} answering ${typeof status === 'number' ? status : 'as expected'}`;
  }

  async waitUntilReady(container: Container, signal: AbortSignal): Promise<void> {
    await new ListeningPortWait([this.port.port]).waitUntilReady(container, signal);
    const { host, port } = container.addressOf(this.port.port);
    const url = new URL(`${this.options.tls ? 'https' : 'http'}://${host}:${port}${this.path}`);
    await pollUntil(async () => {
      const response = await attempt(url, this.options, signal, this.requestTimeout);
      return response !== undefined && this.accept(response.status) && (this.options.body?.(response.body) ?? true);
    }, this.interval, signal);
  }
}
