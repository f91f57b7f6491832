/**
 * A client of the OCI distribution API (v2) on undici: manifests and blobs
 * down, blobs and manifests up. It authenticates as the registry asks (Basic,
 * Bearer), follows redirects to blob storage, retries 5xx, 429 and broken
 * connections with backoff, and resumes broken blob downloads with `Range`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Descriptor, RegistryOptions } from '../../types/image.js';
import { BerthError, ImageContentError, ImagePullError, NotFoundError, RegistryAuthError } from '../errors.js';
import { resolveCredentials, type Credentials } from './credentials.js';
import { sha256, verifyContent } from './digest.js';
import { bodyText, httpRequest } from './http.js';
import { MANIFEST_ACCEPT } from './media-types.js';
import { USER_AGENT, basicAuthorization, bearerToken, checkTokenRealm, forgetToken, parseChallenge, type Challenge } from './registry-auth.js';

/** How the registry authenticated last time, per host: sent up front on later requests. */
const knownChallenges = new Map<string, Challenge>();

/** The largest manifest or index accepted (containerd's limit). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** The largest image config accepted: real ones are kilobytes. */
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;
const MAX_REDIRECTS = 5;
/** What is read of an error answer's body, for its message (`{"errors":[{"code":…}]}`). */
const ERROR_BODY_BYTES = 64 * 1024;
const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** The host that serves a reference's domain. */
export function registryHost(domain: string): string {
  return domain === 'docker.io' ? 'registry-1.docker.io' : domain;
}

/** Plain HTTP only for the loopback host names and registries the caller called insecure. */
export function isLoopback(host: string): boolean {
  const name = host.replace(/:\d+$/, '');
  return name === 'localhost' || name.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(name) || name === '[::1]';
}

interface SendRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH';
  /** A path on the registry (`/v2/…`) or an absolute URL (upload locations). */
  url: string;
  headers?: Record<string, string>;
  /** A body factory, so a retry can send it again. */
  body?: () => Buffer | Readable | string;
  scopes: readonly string[];
  /** Statuses that are answers (not failures to retry). */
  accept: readonly number[];
}

/** A distribution-API client for one registry. */
export class RegistryClient {
  /** The reference domain (`docker.io`, `127.0.0.1:5000`). */
  readonly domain: string;
  private readonly origin: string;
  private readonly retries: number;
  private readonly timeout: number;
  private readonly signal: AbortSignal | undefined;
  private credentials: Promise<Credentials | undefined> | undefined;

  constructor(domain: string, private readonly options: RegistryOptions = {}) {
    this.domain = domain;
    const host = registryHost(domain);
    this.origin = `${options.insecure || isLoopback(host) ? 'http' : 'https'}://${host}`;
    this.retries = options.retries ?? 4;
    this.timeout = options.timeout ?? 60_000;
    this.signal = options.signal;
    if (!Number.isInteger(this.retries) || this.retries < 0) throw new TypeError('retries must be a non-negative integer');
    if (typeof this.timeout !== 'number' || !(this.timeout > 0)) throw new TypeError('timeout must be a positive number of milliseconds');
  }

  private getCredentials(): Promise<Credentials | undefined> {
    this.credentials ??= resolveCredentials(this.domain, this.options);
    return this.credentials;
  }

  /** The Authorization header for a challenge, fetching a token when needed. */
  private async authorization(challenge: Challenge, scopes: readonly string[]): Promise<string | undefined> {
    const credentials = await this.getCredentials();
    if (challenge.scheme === 'basic') return credentials ? basicAuthorization(credentials) : undefined;
    checkTokenRealm(this.domain, challenge.realm, this.origin);
    return `Bearer ${await bearerToken(this.domain, challenge, scopes, credentials, this.timeout, this.signal)}`;
  }

  /**
   * Sends a request: authenticates as the registry asks, follows redirects
   * (http and https only, never from https to http; credentials are dropped
   * when they leave the registry's origin, and only the registry's own origin
   * may ask for them), and retries what is worth retrying. Returns the response of an accepted status with
   * its body unread.
   */
  private async send(req: SendRequest): Promise<Dispatcher.ResponseData> {
    const host = registryHost(this.domain);
    let authRetried = false;
    for (let attempt = 0; ; attempt++) {
      let url = new URL(req.url, this.origin);
      const challenge = knownChallenges.get(host);
      const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...req.headers };
      if (challenge) {
        const authorization = await this.authorization(challenge, req.scopes);
        if (authorization) headers.authorization = authorization;
      }
      let response: Dispatcher.ResponseData;
      try {
        for (let redirects = 0; ; redirects++) {
          response = await httpRequest(url, {
            method: req.method,
            headers,
            body: req.body?.() ?? null,
            headersTimeout: this.timeout,
            bodyTimeout: this.timeout,
            signal: this.signal,
          });
          const location = response.headers.location;
          if (response.statusCode < 300 || response.statusCode >= 400 || typeof location !== 'string' || req.method === 'PUT' || req.method === 'PATCH' || req.method === 'POST') break;
          await response.body.dump();
          if (redirects >= MAX_REDIRECTS) throw new ImagePullError(`${this.domain}: more than ${MAX_REDIRECTS} redirects for ${req.url}`, { registry: this.domain });
          url = this.redirectTarget(url, location, req);
          if (url.origin !== this.origin) delete headers.authorization; // blob storage has its own signed URLs
        }
      } catch (error) {
        if (error instanceof BerthError || this.signal?.aborted || attempt >= this.retries) throw this.transportError(error, req);
        await this.backoff(attempt);
        continue;
      }
      if (response.statusCode === 401 && url.origin !== this.origin) {
        await response.body.dump();
        // a challenge from where a redirect led must not decide where credentials go
        throw new ImagePullError(`${this.domain}: ${url.origin}, where the registry redirected ${describe(req.url)}, refused it (HTTP 401)`, {
          registry: this.domain,
          status: 401,
          code: 'ERR_REDIRECT_REFUSED',
        });
      }
      if (response.statusCode === 401) {
        const offered = parseChallenge(response.headers['www-authenticate']);
        await response.body.dump();
        if (!offered) throw new RegistryAuthError(`${this.domain} refused ${req.method} ${url.pathname} (HTTP 401) without saying how to authenticate`, { registry: this.domain, status: 401 });
        const credentials = await this.getCredentials();
        const sameKind = challenge && challenge.scheme === offered.scheme;
        if (authRetried || (sameKind && offered.scheme === 'basic')) {
          if (offered.scheme === 'bearer') forgetToken(offered, req.scopes, credentials);
          throw this.authError(credentials, offered, req, 401);
        }
        if (offered.scheme === 'basic' && !credentials) throw this.authError(credentials, offered, req, 401);
        if (sameKind && offered.scheme === 'bearer' && challenge) forgetToken(challenge, req.scopes, credentials);
        knownChallenges.set(host, offered);
        authRetried = true;
        attempt--;
        continue;
      }
      if (response.statusCode === 403) {
        await response.body.dump();
        throw this.authError(await this.getCredentials(), knownChallenges.get(host), req, 403);
      }
      if (req.accept.includes(response.statusCode)) return response;
      const text = req.method === 'HEAD' ? '' : (await bodyText(response, ERROR_BODY_BYTES)).text.slice(0, 300);
      if (RETRYABLE_STATUS.has(response.statusCode) && attempt < this.retries) {
        await this.backoff(attempt, response.headers['retry-after']);
        continue;
      }
      if (response.statusCode === 404) {
        throw new NotFoundError(`${this.domain} has no ${describe(req.url)} (HTTP 404${errorCode(text)})`);
      }
      throw new ImagePullError(`${this.domain}: ${req.method} ${url.pathname} failed with HTTP ${response.statusCode}${errorCode(text)}${text && !errorCode(text) ? `: ${text}` : ''}`, {
        registry: this.domain,
        status: response.statusCode,
      });
    }
  }

  /** Where a redirect leads: http(s) only, and never from https down to plain http. */
  private redirectTarget(from: URL, location: string, req: SendRequest): URL {
    let next: URL;
    try {
      next = new URL(location, from);
    } catch {
      next = new URL('invalid:');
    }
    const refuse = (why: string) =>
      new ImagePullError(`${this.domain}: refusing the redirect of ${describe(req.url)} to ${next.protocol === 'invalid:' ? location : next.origin}: ${why}`, {
        registry: this.domain,
        code: 'ERR_REDIRECT_REFUSED',
      });
    if (next.protocol !== 'http:' && next.protocol !== 'https:') throw refuse('only http and https redirects are followed');
    if (from.protocol === 'https:' && next.protocol === 'http:') throw refuse('it goes from https to plain http');
    return next;
  }

  private authError(credentials: Credentials | undefined, challenge: Challenge | undefined, req: SendRequest, status: number): RegistryAuthError {
    const what = req.scopes.some((s) => s.endsWith('push')) ? 'push to' : 'pull from';
    const repository = /^repository:([^:]+):/.exec(req.scopes[0] ?? '')?.[1] ?? '';
    const advice = credentials
      ? 'the credentials were refused; check the username and password (or token)'
      : 'the registry needs credentials: pass credentials, or add them to Docker\'s config.json (docker login)';
    return new RegistryAuthError(
      `${what} ${this.domain}/${repository} denied (HTTP ${status}${challenge?.error ? `, ${challenge.error}` : ''}): ${advice}; ` +
        'the repository may also not exist',
      { registry: this.domain, status },
    );
  }

  private transportError(error: unknown, req: SendRequest): Error {
    if (error instanceof BerthError) return error;
    if (this.signal?.aborted) return (this.signal.reason as Error) ?? (error as Error);
    const code = (error as { code?: string }).code;
    return new ImagePullError(`cannot ${req.method} ${this.origin}${new URL(req.url, this.origin).pathname}: ${(error as Error).message}${code ? ` (${code})` : ''}`, {
      registry: this.domain,
      cause: error,
      ...(code ? { code } : {}),
    });
  }

  private async backoff(attempt: number, retryAfter?: string | string[]): Promise<void> {
    const asked = typeof retryAfter === 'string' ? Number(retryAfter) * 1000 : NaN;
    const delay = Number.isFinite(asked) ? Math.min(asked, 10_000) : Math.min(100 * 2 ** attempt, 5_000) * (0.75 + Math.random() / 2);
    await sleep(delay, undefined, this.signal ? { signal: this.signal } : undefined);
  }

  /**
   * A manifest or index by tag or digest: its bytes, media type and digest.
   * A digest reference is verified against the bytes.
   */
  async getManifest(repository: string, reference: string, accept = MANIFEST_ACCEPT): Promise<{ bytes: Buffer; mediaType: string | undefined; digest: string }> {
    const req: SendRequest = {
      method: 'GET',
      url: `/v2/${repository}/manifests/${reference}`,
      headers: { accept },
      scopes: [`repository:${repository}:pull`],
      accept: [200],
    };
    const response = await this.send(req);
    let bytes: Buffer;
    try {
      bytes = await readLimited(response, MAX_MANIFEST_BYTES, `the manifest ${repository}${reference.startsWith('sha256:') ? '@' : ':'}${reference} from ${this.domain}`);
    } catch (error) {
      throw this.transportError(error, req); // a connection that broke mid-body
    }
    const digest = sha256(bytes);
    if (reference.startsWith('sha256:')) verifyContent(`manifest ${repository}@${reference} from ${this.domain}`, { digest: reference }, { digest, size: bytes.length });
    const contentType = response.headers['content-type'];
    return { bytes, mediaType: typeof contentType === 'string' ? contentType : undefined, digest };
  }

  /** A small blob (a config) in memory, verified. */
  async getBlobBytes(repository: string, descriptor: Descriptor, maxBytes = MAX_CONFIG_BYTES): Promise<Buffer> {
    if (descriptor.size > maxBytes) {
      throw new ImageContentError(`${this.domain}/${repository}: the blob ${descriptor.digest} is ${descriptor.size} bytes, more than the ${maxBytes} accepted for a config; refusing the image`, {
        code: 'ERR_TOO_LARGE',
      });
    }
    const chunks: Buffer[] = [];
    for await (const chunk of this.openBlob(repository, descriptor)) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    verifyContent(`blob ${descriptor.digest} from ${this.domain}/${repository}`, descriptor, { digest: sha256(bytes), size: bytes.length });
    return bytes;
  }

  /**
   * A blob as a stream. A connection that breaks (or ends early) is resumed
   * where it stopped: with `Range` where the registry honours it, else by
   * skipping what already arrived. Never yields more than `descriptor.size`
   * bytes: a response whose Content-Length differs from the descriptor, or a
   * body that goes on past it, fails with `ERR_SIZE_MISMATCH`.
   */
  openBlob(repository: string, descriptor: Descriptor): Readable {
    const self = this;
    async function* chunks(): AsyncGenerator<Buffer> {
      let received = 0;
      for (let attempt = 0; ; ) {
        let skip = 0;
        const response = await self.send({
          method: 'GET',
          url: `/v2/${repository}/blobs/${descriptor.digest}`,
          headers: received > 0 ? { range: `bytes=${received}-` } : {},
          scopes: [`repository:${repository}:pull`],
          accept: [200, 206],
        });
        const announced = response.statusCode === 200 ? Number(response.headers['content-length'] ?? NaN) : NaN;
        if (Number.isFinite(announced) && announced !== descriptor.size) {
          response.body.destroy();
          throw new ImageContentError(
            `${self.domain}/${repository}: the blob ${descriptor.digest} is served as ${announced} bytes, but its descriptor says ${descriptor.size}; refusing it`,
            { code: 'ERR_SIZE_MISMATCH' },
          );
        }
        if (received > 0) {
          const start = /^bytes (\d+)-/.exec(String(response.headers['content-range'] ?? ''))?.[1];
          skip = response.statusCode === 206 && start !== undefined ? received - Number(start) : received;
          if (skip < 0) skip = received; // a range we did not ask for: start over, skipping
        }
        try {
          for await (const chunk of response.body as AsyncIterable<Buffer>) {
            let data = chunk;
            if (skip > 0) {
              const dropped = Math.min(skip, data.length);
              skip -= dropped;
              data = data.subarray(dropped);
              if (data.length === 0) continue;
            }
            if (received + data.length > descriptor.size) {
              response.body.destroy();
              throw new ImageContentError(
                `${self.domain}/${repository}: the blob ${descriptor.digest} goes on past the ${descriptor.size} bytes its descriptor says; refusing it`,
                { code: 'ERR_SIZE_MISMATCH' },
              );
            }
            received += data.length;
            yield data;
          }
          if (received >= descriptor.size) return;
          throw Object.assign(new Error(`the connection ended after ${received} of ${descriptor.size} bytes`), { code: 'UND_ERR_SOCKET' });
        } catch (error) {
          if (error instanceof BerthError || self.signal?.aborted || attempt >= self.retries) {
            throw error instanceof BerthError ? error : self.transportError(error, { method: 'GET', url: `/v2/${repository}/blobs/${descriptor.digest}`, scopes: [], accept: [] });
          }
          await self.backoff(attempt++);
        }
      }
    }
    return Readable.from(chunks(), { objectMode: false, highWaterMark: 1 << 20 });
  }

  /** True when the repository has the blob (HEAD). */
  async hasBlob(repository: string, digest: string, scopes = [`repository:${repository}:pull,push`]): Promise<boolean> {
    const response = await this.send({ method: 'HEAD', url: `/v2/${repository}/blobs/${digest}`, scopes, accept: [200, 404] });
    await response.body.dump();
    return response.statusCode === 200;
  }

  /**
   * Asks the registry to mount a blob from another repository of its own
   * (`POST …/uploads/?mount=&from=`). Returns `{ mounted: true }`, or the upload
   * session the registry opened instead.
   */
  async mountBlob(repository: string, digest: string, from: string): Promise<{ mounted: true } | { mounted: false; location: string }> {
    const response = await this.send({
      method: 'POST',
      url: `/v2/${repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`,
      scopes: [`repository:${repository}:pull,push`, `repository:${from}:pull`],
      accept: [201, 202],
      headers: { 'content-length': '0' },
    });
    await response.body.dump();
    if (response.statusCode === 201) return { mounted: true };
    return { mounted: false, location: this.location(response) };
  }

  /** Opens an upload session; returns its location. */
  async startUpload(repository: string): Promise<string> {
    const response = await this.send({
      method: 'POST',
      url: `/v2/${repository}/blobs/uploads/`,
      scopes: [`repository:${repository}:pull,push`],
      accept: [202],
      headers: { 'content-length': '0' },
    });
    await response.body.dump();
    return this.location(response);
  }

  private location(response: Dispatcher.ResponseData): string {
    const location = response.headers.location;
    if (typeof location !== 'string') throw new ImagePullError(`${this.domain} opened an upload without a Location header`, { registry: this.domain });
    let url: URL;
    try {
      url = new URL(location, this.origin);
    } catch (error) {
      throw new ImagePullError(`${this.domain} opened an upload at a Location that is not a URL: ${location.slice(0, 200)}`, { registry: this.domain, cause: error });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ImagePullError(`${this.domain} opened an upload at a ${url.protocol} URL; only http and https are used`, { registry: this.domain, code: 'ERR_REDIRECT_REFUSED' });
    }
    return url.toString();
  }

  /**
   * Uploads a blob into an open session: in one PUT, or (with `chunkSize`) in
   * PATCHes of that size followed by the closing PUT.
   */
  async uploadBlob(
    repository: string,
    location: string,
    blob: { digest: string; size: number; open: (start: number, end: number) => Readable },
    chunkSize: number | undefined,
    onBytes?: (sent: number) => void,
  ): Promise<void> {
    const scopes = [`repository:${repository}:pull,push`];
    const withDigest = (url: string) => {
      const next = new URL(url);
      next.searchParams.set('digest', blob.digest);
      return next.toString();
    };
    if (!chunkSize || blob.size <= chunkSize) {
      const response = await this.send({
        method: 'PUT',
        url: withDigest(location),
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) },
        body: () => blob.open(0, blob.size),
        scopes,
        accept: [201],
      });
      await response.body.dump();
      onBytes?.(blob.size);
      return;
    }
    let url = location;
    for (let start = 0; start < blob.size; start += chunkSize) {
      const end = Math.min(start + chunkSize, blob.size);
      const response = await this.send({
        method: 'PATCH',
        url,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(end - start), 'content-range': `${start}-${end - 1}` },
        body: () => blob.open(start, end),
        scopes,
        accept: [202],
      });
      await response.body.dump();
      url = this.location(response);
      onBytes?.(end);
    }
    const response = await this.send({ method: 'PUT', url: withDigest(url), headers: { 'content-length': '0' }, scopes, accept: [201] });
    await response.body.dump();
  }

  /** PUTs a manifest; returns the digest the registry gives it. */
  async putManifest(repository: string, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    const response = await this.send({
      method: 'PUT',
      url: `/v2/${repository}/manifests/${reference}`,
      headers: { 'content-type': mediaType, 'content-length': String(bytes.length) },
      body: () => bytes,
      scopes: [`repository:${repository}:pull,push`],
      accept: [201],
    });
    await response.body.dump();
    const digest = response.headers['docker-content-digest'];
    return typeof digest === 'string' ? digest : sha256(bytes);
  }
}

/** The body, up to `limit` bytes (announced or sent); more is an `ERR_TOO_LARGE` error, read no further. */
async function readLimited(response: Dispatcher.ResponseData, limit: number, what: string): Promise<Buffer> {
  const tooLarge = () => {
    response.body.destroy();
    return new ImageContentError(`${what} is larger than ${limit} bytes; refusing it`, { code: 'ERR_TOO_LARGE' });
  };
  if (Number(response.headers['content-length'] ?? 0) > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** `/v2/ns/app/manifests/1.0` → `manifest ns/app:1.0` */
function describe(url: string): string {
  const manifest = /\/v2\/(.+)\/manifests\/([^/?]+)/.exec(url);
  if (manifest) return `manifest ${manifest[1]}${manifest[2]!.startsWith('sha256:') ? '@' : ':'}${manifest[2]}`;
  const blob = /\/v2\/(.+)\/blobs\/([^/?]+)/.exec(url);
  if (blob) return `blob ${blob[2]} in ${blob[1]}`;
  return url;
}

/** `, MANIFEST_UNKNOWN` from a registry's JSON error body. */
function errorCode(text: string): string {
  try {
    const codes = (JSON.parse(text) as { errors?: { code?: string }[] }).errors?.map((e) => e.code).filter(Boolean);
    return codes?.length ? `, ${codes.join(', ')}` : '';
  } catch {
    return '';
  }
}
