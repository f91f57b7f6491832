/**
 * `berth login` / `berth logout`: Docker's config.json (`$DOCKER_CONFIG/config.json`,
 * else `~/.docker/config.json`), written as Docker writes it — an `auths`
 * entry per registry with `auth` = base64 of `user:password` (Docker Hub under
 * `https://index.docker.io/v1/`), the file 0600 and replaced atomically,
 * every other key kept — so that pulls and pushes (and Docker itself) find it.
 * The credentials are checked against the registry first.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { RegistryAuthError } from '../errors.js';
import { stringFlag, UsageError, type CliCommand } from './command.js';

/** The config.json key Docker uses for a registry. */
function configKey(server: string | undefined): { key: string; domain: string } {
  if (!server || /^(https?:\/\/)?(index\.)?docker\.io(\/.*)?$/.test(server) || server === 'registry-1.docker.io') {
    return { key: 'https://index.docker.io/v1/', domain: 'docker.io' };
  }
  const domain = server.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  return { key: domain, domain };
}

async function readConfig(path: string): Promise<Record<string, unknown> & { auths?: Record<string, unknown> }> {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as Record<string, unknown>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new RegistryAuthError(`cannot read Docker's config ${path}: ${(error as Error).message}`, { path });
  }
}

function writeConfig(path: string, config: object): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(config, null, '\t') + '\n', { mode: 0o600 });
  renameSync(temporary, path);
}

/** Checks user/password against the registry's /v2/ (Basic, or the token service it names). */
async function verify(domain: string, username: string, password: string): Promise<void> {
  const { isLoopback, registryHost } = await import('../image/registry-client.js');
  const { parseChallenge, basicAuthorization, bearerToken } = await import('../image/registry-auth.js');
  const { httpRequest } = await import('../image/http.js');
  const host = registryHost(domain);
  const url = `${isLoopback(host) ? 'http' : 'https'}://${host}/v2/`;
  const credentials = { username, password };
  const refused = () => new RegistryAuthError(`login to ${domain} refused: unauthorized: incorrect username or password`, { registry: domain });
  const first = await httpRequest(new URL(url), { method: 'GET', headers: { authorization: basicAuthorization(credentials) ?? '' }, headersTimeout: 30_000, bodyTimeout: 30_000 });
  await first.body.dump();
  if (first.statusCode === 200) return;
  if (first.statusCode !== 401) throw new RegistryAuthError(`login to ${domain}: ${url} answered ${first.statusCode}`, { registry: domain });
  const challenge = parseChallenge(first.headers['www-authenticate']);
  if (challenge?.scheme !== 'bearer') throw refused();
  try {
    await bearerToken(domain, challenge, [], credentials, 30_000);
  } catch (error) {
    if (error instanceof RegistryAuthError) throw refused();
    throw error;
  }
}

export const commands: Record<string, CliCommand> = {
  login: {
    usage: 'berth login [OPTIONS] [SERVER]',
    summary: "Log in to a registry (Docker Hub when no SERVER is given)",
    flags: {
      username: { type: 'string', short: 'u', description: 'Username' },
      password: { type: 'string', short: 'p', description: 'Password' },
      'password-stdin': { type: 'boolean', description: 'Take the password from stdin' },
    },
    maxArgs: 1,
    async run(parsed, ctx) {
      const username = stringFlag(parsed, 'username');
      let password = stringFlag(parsed, 'password');
      if (parsed.flags['password-stdin']) {
        if (password !== undefined) throw new UsageError('--password and --password-stdin are mutually exclusive', 'login');
        const chunks: Buffer[] = [];
        for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
        password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
      } else if (password !== undefined) {
        ctx.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
      }
      if (!username || password === undefined) throw new UsageError('give --username and --password-stdin (or --password)', 'login');
      const { key, domain } = configKey(parsed.args[0]);
      await verify(domain, username, password);
      const { defaultDockerConfigPath } = await import('../image/credentials.js');
      const path = defaultDockerConfigPath();
      const config = await readConfig(path);
      config.auths = { ...(config.auths ?? {}), [key]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } };
      writeConfig(path, config);
      ctx.stdout.write('Login Succeeded\n');
      return 0;
    },
  },
  logout: {
    usage: 'berth logout [SERVER]',
    summary: 'Log out from a registry',
    flags: {},
    maxArgs: 1,
    async run(parsed, ctx) {
      const { key } = configKey(parsed.args[0]);
      const { defaultDockerConfigPath } = await import('../image/credentials.js');
      const path = defaultDockerConfigPath();
      const config = await readConfig(path);
      if (!config.auths || !(key in config.auths)) {
        ctx.stdout.write(`Not logged in to ${key}\n`);
        return 0;
      }
      delete config.auths[key];
      writeConfig(path, config);
      ctx.stdout.write(`Removing login credentials for ${key}\n`);
      return 0;
    },
  },
};
