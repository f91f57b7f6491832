/** Registry credentials: explicit ones, or Docker's config.json (`auths`, `credHelpers`, `credsStore`). */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { RegistryCredentials } from '../../types/image.js';
import { RegistryAuthError } from '../errors.js';

/** Credentials in the form the auth flows use. */
export interface Credentials {
  username?: string;
  password?: string;
  /** OAuth2 refresh token. */
  identityToken?: string;
  /** A bearer token used as it is. */
  registryToken?: string;
}

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string; registrytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function defaultDockerConfigPath(): string {
  return join(process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
}

const DOCKER_HUB_KEYS = ['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com'];

/** `https://index.docker.io/v1/` → `index.docker.io`; `http://host:5000/x` → `host:5000`. */
function keyHost(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').split('/')[0]!.toLowerCase();
}

function sameRegistry(key: string, domain: string): boolean {
  const host = keyHost(key);
  if (domain === 'docker.io') return DOCKER_HUB_KEYS.includes(host);
  return host === domain.toLowerCase();
}

function fromExplicit(credentials: RegistryCredentials): Credentials {
  if ('username' in credentials) {
    if (typeof credentials.username !== 'string' || typeof credentials.password !== 'string') {
      throw new TypeError('credentials.username and credentials.password must be strings');
    }
    return { username: credentials.username, password: credentials.password };
  }
  if ('identityToken' in credentials && typeof credentials.identityToken === 'string') return { identityToken: credentials.identityToken };
  if ('registryToken' in credentials && typeof credentials.registryToken === 'string') return { registryToken: credentials.registryToken };
  throw new TypeError('credentials must be { username, password }, { identityToken } or { registryToken }');
}

/** Asks `docker-credential-<helper> get` for the registry's credentials. */
function fromHelper(helper: string, serverUrl: string, domain: string): Promise<Credentials | undefined> {
  const program = `docker-credential-${helper}`;
  return new Promise((resolve, reject) => {
    const child = spawn(program, ['get'], { stdio: ['pipe', 'pipe', 'pipe'] });
    // (not spawn's own timeout: its timer outlives a helper that failed to start)
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000).unref();
    child.once('close', () => clearTimeout(timer)).once('error', () => clearTimeout(timer));
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', (error) =>
      reject(
        new RegistryAuthError(`cannot run the credential helper ${program} for ${domain}: ${error.message}; install it or remove it from Docker's config.json`, {
          registry: domain,
          cause: error,
        }),
      ),
    );
    child.once('close', (code) => {
      const stdout = Buffer.concat(out).toString('utf8').trim();
      if (code !== 0) {
        // "credentials not found" is not an error: the registry may allow anonymous access
        if (/not found/i.test(stdout + Buffer.concat(err).toString('utf8'))) return resolve(undefined);
        return reject(new RegistryAuthError(`the credential helper ${program} failed for ${domain} (exit ${code}): ${stdout || Buffer.concat(err).toString('utf8').trim()}`, { registry: domain }));
      }
      try {
        const answer = JSON.parse(stdout) as { Username?: string; Secret?: string };
        if (!answer.Secret) return resolve(undefined);
        resolve(answer.Username === '<token>' ? { identityToken: answer.Secret } : { username: answer.Username ?? '', password: answer.Secret });
      } catch {
        reject(new RegistryAuthError(`the credential helper ${program} answered something that is not JSON for ${domain}`, { registry: domain }));
      }
    });
    child.stdin.on('error', () => {});
    child.stdin.end(serverUrl);
  });
}

/**
 * The credentials to use for `domain`: the explicit ones, else Docker's
 * config.json — a `credHelpers` entry for the registry, else an `auths` entry,
 * else the `credsStore` helper. `undefined`: anonymous.
 */
export async function resolveCredentials(
  domain: string,
  options: { credentials?: RegistryCredentials | undefined; dockerConfig?: string | false | undefined },
): Promise<Credentials | undefined> {
  if (options.credentials !== undefined) return fromExplicit(options.credentials);
  if (options.dockerConfig === false) return undefined;
  const path = options.dockerConfig ?? defaultDockerConfigPath();
  let file: DockerConfigFile;
  try {
    file = JSON.parse(readFileSync(path, 'utf8')) as DockerConfigFile;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && options.dockerConfig === undefined) return undefined;
    throw new RegistryAuthError(`cannot read Docker's config ${path}: ${(error as Error).message}`, { registry: domain, path, cause: error });
  }
  const serverUrl = domain === 'docker.io' ? 'https://index.docker.io/v1/' : domain;
  const helper = Object.entries(file.credHelpers ?? {}).find(([key]) => sameRegistry(key, domain))?.[1];
  if (helper) return fromHelper(helper, serverUrl, domain);
  const entry = Object.entries(file.auths ?? {}).find(([key]) => sameRegistry(key, domain))?.[1];
  if (entry) {
    if (entry.identitytoken) return { identityToken: entry.identitytoken };
    if (entry.registrytoken) return { registryToken: entry.registrytoken };
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) throw new RegistryAuthError(`the auth entry for ${domain} in ${path} is not base64 of user:password`, { registry: domain, path });
      return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password };
  }
  if (file.credsStore) return fromHelper(file.credsStore, serverUrl, domain);
  return undefined;
}
