#!/usr/bin/env node
/**
 * The `berth` command: a thin shell over the library, for trying it out and
 * for scripts. `berth run [-d] [--name N] [-e K=V] [-w DIR] [-u USER] [-t] IMAGE [CMD…]`,
 * `berth ps [-a]`, `berth stop NAME`, `berth rm [-f] NAME`, `berth inspect NAME`.
 * The state root is $BERTH_ROOT or /var/lib/berth.
 */
import { Runtime } from './runtime.js';
import { BerthError } from './errors.js';

const USAGE = `usage:
  berth run [-d] [--rm] [--name NAME] [-e KEY=VALUE]… [-w DIR] [-u USER] [-t] [-i] IMAGE [CMD…]
  berth ps [-a]
  berth stop [-t SECONDS] NAME
  berth rm [-f] NAME
  berth inspect NAME
state root: $BERTH_ROOT, default /var/lib/berth; the built-in image is localhost/busybox`;

async function main(argv: string[]): Promise<number> {
  const runtime = await Runtime.open(process.env.BERTH_ROOT ? { root: process.env.BERTH_ROOT } : {});
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return run(runtime, rest);
    case 'ps': {
      const containers = await runtime.containers.list({ all: rest.includes('-a') });
      console.log(['ID'.padEnd(14), 'NAME'.padEnd(24), 'STATUS'.padEnd(10), 'COMMAND'].join(''));
      for (const c of containers) {
        const info = await c.inspect();
        const status = info.state.status === 'exited' ? `exited(${info.state.exitCode})` : info.state.status;
        console.log([c.id.slice(0, 12).padEnd(14), c.name.padEnd(24), status.padEnd(10), info.config.cmd.join(' ')].join(''));
      }
      return 0;
    }
    case 'stop': {
      const timeoutFlag = rest.indexOf('-t');
      const timeout = timeoutFlag >= 0 ? Number(rest.splice(timeoutFlag, 2)[1]) : undefined;
      const status = await (await runtime.containers.get(rest[0] ?? '')).stop(timeout === undefined ? {} : { timeout });
      if (status) console.log(status.exitCode);
      return 0;
    }
    case 'rm':
      await (await runtime.containers.get(rest.filter((a) => a !== '-f')[0] ?? '')).remove({ force: rest.includes('-f') });
      return 0;
    case 'inspect':
      console.log(JSON.stringify(await (await runtime.containers.get(rest[0] ?? '')).inspect(), null, 2));
      return 0;
    default:
      console.error(USAGE);
      return 2;
  }
}

async function run(runtime: Runtime, args: string[]): Promise<number> {
  let detach = false, autoRemove = false, tty = false, stdin = false;
  let name: string | undefined, workdir: string | undefined, user: string | undefined;
  const env: string[] = [];
  while (args[0]?.startsWith('-')) {
    const flag = args.shift()!;
    if (flag === '-d') detach = true;
    else if (flag === '--rm') autoRemove = true;
    else if (flag === '-t') tty = true;
    else if (flag === '-i') stdin = true;
    else if (flag === '-it' || flag === '-ti') tty = stdin = true;
    else if (flag === '--name') name = args.shift();
    else if (flag === '-e') env.push(args.shift() ?? '');
    else if (flag === '-w') workdir = args.shift();
    else if (flag === '-u') user = args.shift();
    else throw new TypeError(`unknown flag ${flag}\n${USAGE}`);
  }
  const [image, ...cmd] = args;
  if (!image) throw new TypeError(`run: no image given\n${USAGE}`);
  const container = await runtime.containers.create({
    image, env, tty, stdin, attach: !detach,
    // detached, the monitor removes it when the command exits; attached, this process does, below
    autoRemove: autoRemove && detach,
    ...(cmd.length ? { cmd } : {}), ...(name ? { name } : {}), ...(workdir ? { workdir } : {}), ...(user ? { user } : {}),
  });
  try {
    await container.start();
  } catch (error) {
    // --rm leaves nothing behind, a container that never started included (as Container.run)
    if (autoRemove) {
      await container.remove({ force: true }).catch((e: unknown) => console.error(`berth: removing the container failed too: ${String(e)}`));
    }
    throw error;
  }
  if (detach) {
    console.log(container.id);
    return 0;
  }
  container.stdout?.pipe(process.stdout);
  container.stderr?.pipe(process.stderr);
  if (container.stdin) process.stdin.pipe(container.stdin);
  const status = await container.wait();
  process.stdin.unpipe();
  process.stdin.pause();
  if (autoRemove) await container.remove();
  return status.exitCode;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    const details = error instanceof BerthError && error.step ? ` [step ${error.step}]` : '';
    console.error(`berth: ${error instanceof Error ? error.message : String(error)}${details}`);
    process.exitCode = 125;
  },
);
