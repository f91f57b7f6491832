import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { build, makeContext, run } from './build-helpers.js';
import { BUSYBOX, temporaryRuntime } from './helpers.js';
import { startRegistry } from './image-helpers.js';

const execFileAsync = promisify(execFile);

/** podman or buildah on private storage (vfs, no cgroups, no network setup), with a deadline. */
function containersTool(tool: 'podman' | 'buildah'): ((...args: string[]) => Promise<string>) & Disposable {
  const dir = mkdtempSync(join(tmpdir(), `berth-${tool}-`));
  const base = ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--storage-driver', 'vfs'];
  const extra = tool === 'podman' ? ['--cgroup-manager', 'cgroupfs', '--events-backend', 'file'] : [];
  const fn = async (...args: string[]) => {
    const { stdout } = await execFileAsync(`/usr/bin/${tool}`, [...base, ...extra, ...args], { timeout: 120_000, maxBuffer: 16 << 20 });
    return stdout;
  };
  return Object.assign(fn, { [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) });
}

const DOCKERFILE = (base: string) => [
  `FROM ${base} AS build`,
  'WORKDIR /src',
  'COPY app.sh .',
  'RUN mkdir /out && cp app.sh /out/app.sh && chmod 755 /out/app.sh',
  `FROM ${base}`,
  'ENV GREETING="hello from a berth build" APP_HOME=/app',
  'LABEL org.opencontainers.image.title=interop version=2',
  'WORKDIR /app',
  'COPY --from=build /out/app.sh ./',
  'EXPOSE 8080/tcp 53/udp',
  'VOLUME /data',
  'USER 1000:1000',
  'STOPSIGNAL SIGINT',
  'HEALTHCHECK --interval=30s --timeout=3s --retries=2 CMD test -x /app/app.sh',
  'ENTRYPOINT ["/bin/sh", "/app/app.sh"]',
  'CMD ["--flag"]',
].join('\n');

test('an image berth built is pulled by podman and runs under buildah unchanged, and buildah bud gives the same config for the same Dockerfile', async (t) => {
  for (const tool of ['/usr/bin/podman', '/usr/bin/buildah', '/usr/bin/docker-registry']) {
    if (!existsSync(tool)) return t.skip(`${tool} is not installed (apt-get install podman buildah docker-registry)`);
  }
  await using runtime = await temporaryRuntime();
  await using registry = await startRegistry();
  // one base both builders pull: berth's busybox, pushed to the local registry
  await (await runtime.images.get(BUSYBOX)).push(`${registry.host}/base/busybox:1`);
  const base = `${registry.host}/base/busybox:1`;
  using context = makeContext({ 'app.sh': 'echo "$GREETING in $(pwd) as $(id -u) with $*"\n', Dockerfile: DOCKERFILE(base) });
  const { image } = await build(runtime, { context: context.dir, tags: [`${registry.host}/built/app:1`] });
  const expected = 'hello from a berth build in /app as 1000 with --flag\n';
  assert.equal((await run(runtime, `${registry.host}/built/app:1`)).stdout, expected);
  await image.push();

  // podman pulls it (its image library checks manifest, config and layers) ...
  using podman = containersTool('podman');
  await podman('pull', '--tls-verify=false', '-q', `${registry.host}/built/app:1`);
  const pulled = JSON.parse(await podman('image', 'inspect', `${registry.host}/built/app:1`)) as { Config: { Entrypoint: string[]; Cmd: string[] } }[];
  assert.deepEqual([pulled[0]!.Config.Entrypoint, pulled[0]!.Config.Cmd], [['/bin/sh', '/app/app.sh'], ['--flag']]);
  // ... and buildah runs it (chroot isolation: podman's runtimes need cgroups this host's hybrid layout does not give them)
  using runner = containersTool('buildah');
  const container = (await runner('from', '--tls-verify=false', '-q', `${registry.host}/built/app:1`)).trim();
  const ran = await runner('run', '--isolation', 'chroot', container, '--', ...pulled[0]!.Config.Entrypoint, ...pulled[0]!.Config.Cmd);
  assert.equal(ran, expected);

  using buildah = containersTool('buildah');
  await buildah('bud', '--tls-verify=false', '--isolation', 'chroot', '--format', 'docker', '-q', '-t', 'buildah-built', context.dir);
  const theirs = JSON.parse(await buildah('inspect', '--type', 'image', 'buildah-built')) as { Docker: { config: Record<string, unknown> } };
  const ours = image.inspect().config as Record<string, unknown>;
  for (const field of ['Env', 'Entrypoint', 'Cmd', 'WorkingDir', 'User', 'ExposedPorts', 'Volumes', 'StopSignal', 'Healthcheck']) {
    assert.deepEqual(ours[field], theirs.Docker.config[field], field);
  }
  const theirLabels = theirs.Docker.config.Labels as Record<string, string>;
  assert.deepEqual(ours.Labels, Object.fromEntries(Object.entries(theirLabels).filter(([key]) => key !== 'io.buildah.version')));
});
