/** `berth run` and `berth create`. */
import type { Container, ContainerCreateOptions, Runtime } from '../index.js';
import { stringFlag, type CliCommand, type ParsedArgs } from './command.js';
import type { CliContext } from './context.js';
import { pullWithProgress } from './pull-push.js';
import { terminalSize } from './terminal.js';
import { CREATE_FLAGS, createOptions } from './run-options.js';

/** The options for `IMAGE [COMMAND…]`, with the image pulled (with progress) when it is missing, as Docker does. */
async function prepare(runtime: Runtime, parsed: ParsedArgs, ctx: CliContext): Promise<ContainerCreateOptions> {
  const [image, ...cmd] = parsed.args as [string, ...string[]];
  const options: ContainerCreateOptions = { ...createOptions(parsed), image, ...(cmd.length ? { cmd } : {}) };
  const policy = stringFlag(parsed, 'pull') ?? 'missing';
  let found = policy !== 'always';
  if (found && policy !== 'never') {
    found = await runtime.images.get(image).then(
      () => true,
      (error: { code?: string }) => {
        if (error.code === 'ERR_NOT_FOUND') return false;
        throw error;
      },
    );
  }
  if (!found) {
    ctx.stderr.write(`Unable to find image '${image}' locally\n`);
    const progressCtx = { ...ctx, stdout: ctx.stderr, isTTY: process.stderr.isTTY === true };
    await pullWithProgress(runtime, image, progressCtx, options.platform);
    options.pull = 'never';
  }
  if (parsed.flags['publish-all']) {
    const resolved = await runtime.images.get(image);
    const exposed = Object.keys(resolved.config.ExposedPorts ?? {});
    options.ports = { ...Object.fromEntries(exposed.map((port) => [port, 0])), ...options.ports };
  }
  return options;
}

const PROXIED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/** Copies the container's output to ours and our input to it until it exits; its exit code. */
async function attachAndWait(container: Container, tty: boolean): Promise<number> {
  container.stdout?.pipe(process.stdout, { end: false });
  container.stderr?.pipe(process.stderr, { end: false });
  const rawInput = tty && container.stdin !== null && process.stdin.isTTY;
  if (container.stdin) {
    if (rawInput) process.stdin.setRawMode(true);
    process.stdin.pipe(container.stdin);
    container.stdin.on('error', () => {}); // the command may exit without reading
  }
  // as Docker's sig-proxy: a Ctrl-C or a kill of this process goes to the container's command
  const forward = (signal: NodeJS.Signals) => void container.kill(signal).catch(() => {});
  for (const signal of PROXIED) process.on(signal, forward);
  const status = await container.wait().finally(() => {
    for (const signal of PROXIED) process.off(signal, forward);
  });
  await Promise.all(
    [container.stdout, container.stderr].map((stream) => (stream && !stream.readableEnded ? new Promise((resolve) => stream.once('close', resolve).once('end', resolve)) : undefined)),
  );
  if (container.stdin) {
    process.stdin.unpipe();
    if (rawInput) process.stdin.setRawMode(false);
    process.stdin.pause();
  }
  return status.exitCode;
}

const RUN_FLAGS = { detach: { type: 'boolean', short: 'd', description: 'Run container in background and print container ID' }, ...CREATE_FLAGS } as const;

export const commands: Record<string, CliCommand> = {
  run: {
    usage: 'berth run [OPTIONS] IMAGE [COMMAND] [ARG...]',
    summary: 'Create and run a new container from an image',
    flags: RUN_FLAGS,
    minArgs: 1,
    stopAtOperand: true,
    async run(parsed, ctx) {
      const runtime = await ctx.runtime();
      const detach = parsed.flags.detach === true;
      const autoRemove = parsed.flags.rm === true;
      const options = await prepare(runtime, parsed, ctx);
      const tty = options.tty === true;
      const size = tty ? terminalSize() : undefined;
      if (size) options.ttySize = size;
      const container = await runtime.containers.create({
        ...options,
        attach: !detach,
        // detached, the monitor removes it when the command exits; attached, this process does, below
        autoRemove: autoRemove && detach,
      });
      try {
        await container.start();
      } catch (error) {
        // a container that never started leaves nothing behind with --rm (as Container.run)
        if (autoRemove) await container.remove({ force: true, volumes: true }).catch(() => {});
        throw error;
      }
      if (detach) {
        ctx.stdout.write(`${container.id}\n`);
        return 0;
      }
      const code = await attachAndWait(container, tty);
      // as Docker's --rm: the anonymous volumes go with it
      if (autoRemove) await container.remove({ force: true, volumes: true });
      return code;
    },
  },
  create: {
    usage: 'berth create [OPTIONS] IMAGE [COMMAND] [ARG...]',
    summary: 'Create a new container',
    flags: CREATE_FLAGS,
    minArgs: 1,
    stopAtOperand: true,
    async run(parsed, ctx) {
      const runtime = await ctx.runtime();
      const options = await prepare(runtime, parsed, ctx);
      // started later by `berth start`: its output goes to the log only
      const container = await runtime.containers.create({ ...options, stdin: false, attach: false, ...(parsed.flags.rm ? { autoRemove: true } : {}) });
      ctx.stdout.write(`${container.id}\n`);
      return 0;
    },
  },
};
