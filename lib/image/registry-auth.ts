/**
 * Registry authentication: parsing `WWW-Authenticate`, Basic credentials, and
 * the Bearer token flow (token endpoint, cache until expiry).
 */
import { RegistryAuthError } from '../errors.js';
import type { Credentials } from './credentials.js';
import { bodyText, httpRequest } from './http.js';

/** A parsed `WWW-Authenticate` challenge. */
export interface Challenge {
  scheme: 'basic' | 'bearer';
  realm?: string;
  service?: string;
  scope?: string;
  /** `insufficient_scope`, `invalid_token`, … */
  error?: string;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (or `Basic realm="…"`); undefined for other schemes. */
export function parseChallenge(header: string | string[] | undefined): Challenge | undefined {
  const values = Array.isArray(header) ? header : header ? [header] : [];
  for (const value of values) {
    const match = /^\s*(Basic|Bearer)\b\s*(.*)$/i.exec(value);
    if (!match) continue;
    const challenge: Challenge = { scheme: match[1]!.toLowerCase() as Challenge['scheme'] };
    const params = /([a-zA-Z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
    for (let param = params.exec(match[2]!); param; param = params.exec(match[2]!)) {
      const key = param[1]!.toLowerCase();
      const text = param[2] !== undefined ? param[2].replace(/\\(.)/g, '$1') : param[3]!;
      if (key === 'realm' || key === 'service' || key === 'scope' || key === 'error') challenge[key] = text;
    }
    return challenge;
  }
  return undefined;
}

/**
 * Checks where a registry sends us for tokens: an http(s) URL, and plain
 * http only when the registry itself is plain http (loopback or `insecure`),
 * since the credentials go there.
 * @throws RegistryAuthError naming the realm.
 */
export function checkTokenRealm(registry: string, realm: string | undefined, registryOrigin: string): void {
  if (realm === undefined) return; // bearerToken says that one
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    throw new RegistryAuthError(`${registry} named a token service that is not a URL: ${realm}`, { registry });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new RegistryAuthError(`${registry} named the token service ${realm}; only http(s) token services are used`, { registry });
  }
  if (url.protocol === 'http:' && registryOrigin.startsWith('https:')) {
    throw new RegistryAuthError(`${registry} (https) named the plain-http token service ${url.origin}; refusing to send credentials there`, { registry });
  }
}

/** `Basic base64(user:password)` */
export function basicAuthorization(credentials: Credentials): string | undefined {
  if (credentials.username === undefined || credentials.password === undefined) return undefined;
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

interface CachedToken {
  token: string;
  /** ms since the epoch */
  expiresAt: number;
}

const tokens = new Map<string, CachedToken>();

/** Tokens live at least this long when the server does not say (the distribution spec's default). */
const DEFAULT_TOKEN_SECONDS = 60;
/** The largest token answer read: real ones are kilobytes (a JWT and a few fields). */
const MAX_TOKEN_ANSWER_BYTES = 1024 * 1024;

function cacheKey(challenge: Challenge, scopes: readonly string[], credentials: Credentials | undefined): string {
  const who = credentials?.username ?? (credentials?.identityToken ? 'identity:' + credentials.identityToken.slice(0, 8) : '');
  return [challenge.realm, challenge.service ?? '', [...scopes].sort().join(' '), who].join('|');
}

/** Forgets a cached token (the registry rejected it). */
export function forgetToken(challenge: Challenge, scopes: readonly string[], credentials: Credentials | undefined): void {
  tokens.delete(cacheKey(challenge, scopes, credentials));
}

/**
 * A bearer token for `scopes` from the challenge's token endpoint (cached until
 * shortly before it expires). With username/password: GET with Basic auth; with
 * an identity token: the OAuth2 refresh-token POST; anonymous otherwise.
 * @throws RegistryAuthError when the token service refuses.
 */
export async function bearerToken(
  registry: string,
  challenge: Challenge,
  scopes: readonly string[],
  credentials: Credentials | undefined,
  timeout: number,
  signal?: AbortSignal,
): Promise<string> {
  if (credentials?.registryToken) return credentials.registryToken;
  if (!challenge.realm) throw new RegistryAuthError(`${registry} asked for a bearer token without naming a token service (realm)`, { registry });
  const key = cacheKey(challenge, scopes, credentials);
  const cached = tokens.get(key);
  if (cached && cached.expiresAt > Date.now()) return cached.token;

  let url: URL;
  try {
    url = new URL(challenge.realm);
  } catch {
    throw new RegistryAuthError(`${registry} named a token service that is not a URL: ${challenge.realm}`, { registry });
  }
  const headers: Record<string, string> = { 'user-agent': USER_AGENT };
  let method: 'GET' | 'POST' = 'GET';
  let body: string | undefined;
  if (credentials?.identityToken) {
    method = 'POST';
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credentials.identityToken, client_id: 'berth' });
    if (challenge.service) form.set('service', challenge.service);
    if (scopes.length) form.set('scope', scopes.join(' '));
    body = form.toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  } else {
    if (challenge.service) url.searchParams.set('service', challenge.service);
    for (const scope of scopes) url.searchParams.append('scope', scope);
    const basic = credentials ? basicAuthorization(credentials) : undefined;
    if (basic) {
      headers.authorization = basic;
      url.searchParams.set('account', credentials!.username!);
    }
  }
  let response;
  try {
    response = await httpRequest(url, { method, headers, body, headersTimeout: timeout, bodyTimeout: timeout, signal });
  } catch (error) {
    throw new RegistryAuthError(`cannot reach the token service ${url.origin} of ${registry}: ${(error as Error).message}`, { registry, cause: error });
  }
  // a token answer is a few kilobytes: one without end, or cut off, is not waited for nor kept
  const { text, complete } = await bodyText(response, MAX_TOKEN_ANSWER_BYTES);
  if (response.statusCode === 401 || response.statusCode === 403) {
    throw new RegistryAuthError(
      `the token service of ${registry} refused ${credentials ? 'the credentials' : 'anonymous access'} (HTTP ${response.statusCode}); ` +
        (credentials ? 'check the username and password' : 'give credentials, or log in with docker login'),
      { registry, status: response.statusCode },
    );
  }
  if (response.statusCode !== 200) {
    throw new RegistryAuthError(`the token service of ${registry} answered HTTP ${response.statusCode}: ${text.slice(0, 200)}`, { registry, status: response.statusCode });
  }
  if (!complete) {
    throw new RegistryAuthError(`the token service of ${registry} sent an answer that broke off or is larger than ${MAX_TOKEN_ANSWER_BYTES} bytes`, { registry });
  }
  let answer: { token?: string; access_token?: string; expires_in?: number; issued_at?: string };
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    throw new RegistryAuthError(`the token service of ${registry} answered something that is not JSON`, { registry });
  }
  const token = answer.token ?? answer.access_token;
  if (typeof token !== 'string' || token === '') throw new RegistryAuthError(`the token service of ${registry} sent no token`, { registry });
  const seconds = typeof answer.expires_in === 'number' && answer.expires_in > 0 ? answer.expires_in : DEFAULT_TOKEN_SECONDS;
  const issued = answer.issued_at ? Date.parse(answer.issued_at) : NaN;
  const start = Number.isFinite(issued) && issued <= Date.now() ? issued : Date.now();
  // renew a little early, so a token never expires between cache and use
  tokens.set(key, { token, expiresAt: start + seconds * 1000 - Math.min(10_000, (seconds * 1000) / 10) });
  return token;
}

declare const __BERTH_VERSION__: string | undefined;
export const USER_AGENT = `berth/${typeof __BERTH_VERSION__ === 'string' ? __BERTH_VERSION__ : '0.1.0'}`;
