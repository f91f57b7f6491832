/** `berth exec` (through a pty with `-t`) and `berth attach`. */
import { spawn } from 'node:child_process';
import { listFlag, stringFlag, type CliCommand } from './command.js';
import { terminalSize } from './terminal.js';

export const commands: Record<string, CliCommand> = {
  exec: {
    usage: 'berth exec [OPTIONS] CONTAINER COMMAND [ARG...]',
    summary: 'Execute a command in a running container',
    flags: {
      interactive: { type: 'boolean', short: 'i', description: 'Keep STDIN open even if not attached' },
      tty: { type: 'boolean', short: 't', description: 'Allocate a pseudo-TTY' },
      detach: { type: 'boolean', short: 'd', description: 'Detached mode: run command in the background' },
      env: { type: 'string', short: 'e', multiple: true, description: 'Set environment variables' },
      workdir: { type: 'string', short: 'w', description: 'Working directory inside the container' },
      user: { type: 'string', short: 'u', description: 'Username or UID (format: "<name|uid>[:<group|gid>]")' },
    },
    minArgs: 2,
    stopAtOperand: true,
    async run(parsed, ctx) {
      const [name, ...cmd] = parsed.args as [string, ...string[]];
      const container = await (await ctx.runtime()).containers.get(name);
      const env = listFlag(parsed, 'env');
      const workdir = stringFlag(parsed, 'workdir');
      const user = stringFlag(parsed, 'user');
      if (parsed.flags.detach) {
        // the command outlives this process: a detached `berth exec` of its own runs it
        if (!(await container.inspect()).state.running) await container.exec(['true']); // fails now, with the error an attached exec gives
        const again = ['exec', ...env.flatMap((e) => ['-e', e]), ...(workdir ? ['-w', workdir] : []), ...(user ? ['-u', user] : []), name, ...cmd];
        spawn(process.execPath, [process.argv[1]!, ...again], { detached: true, stdio: 'ignore' }).unref();
        return 0;
      }
      const tty = parsed.flags.tty === true;
      const stdin = parsed.flags.interactive === true;
      const size = tty ? terminalSize() : undefined;
      const proc = await container.execStream(cmd, {
        tty,
        stdin,
        ...(env.length ? { env } : {}),
        ...(workdir ? { workdir } : {}),
        ...(user ? { user } : {}),
        ...(size ? { ttySize: size } : {}),
      });
      proc.stdout.pipe(process.stdout, { end: false });
      proc.stderr?.pipe(process.stderr, { end: false });
      const raw = tty && stdin && process.stdin.isTTY;
      const resize = () => {
        const now = terminalSize();
        if (now) proc.resize(now);
      };
      if (proc.stdin) {
        if (raw) process.stdin.setRawMode(true);
        proc.stdin.on('error', () => {});
        process.stdin.pipe(proc.stdin);
      }
      if (size) process.stdout.on('resize', resize);
      const exit = await proc.wait();
      await Promise.all([proc.stdout, proc.stderr].map((s) => (s && !s.readableEnded ? new Promise((r) => s.once('end', r).once('close', r)) : undefined)));
      process.stdout.off('resize', resize);
      if (proc.stdin) {
        process.stdin.unpipe();
        if (raw) process.stdin.setRawMode(false);
        process.stdin.pause();
      }
      return exit.exitCode;
    },
  },
  attach: {
    usage: 'berth attach CONTAINER',
    summary: "Attach to a running container's output (until it exits; its exit code)",
    flags: {},
    minArgs: 1,
    maxArgs: 1,
    async run(parsed, ctx) {
      const container = await (await ctx.runtime()).containers.get(parsed.args[0]!);
      // from another process the output is read where the monitor writes it: the log, from now on
      for await (const entry of container.logs({ follow: true, tail: 0 })) {
        (entry.stream === 'stderr' ? ctx.stderr : ctx.stdout).write(`${entry.line}\n`);
      }
      return (await container.wait()).exitCode;
    },
  },
};
