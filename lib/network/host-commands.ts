import { execFile } from 'node:child_process';
import { BerthError } from '../errors.js';

/**
 * Runs iproute2's `ip` (optionally inside a container's network namespace
 * via nsenter) or `nft` with a batch of commands on stdin. Host networking is
 * changed only through here, and only for what the user asked for.
 */
export function runBatch(tool: 'ip' | 'nft', commands: string[], options: { netnsPid?: number; step: string }): Promise<void> {
  const args = tool === 'ip' ? ['-batch', '-'] : ['-f', '-'];
  const [file, argv] = options.netnsPid ? ['nsenter', ['-t', String(options.netnsPid), '-n', tool, ...args]] : [tool, args];
  return new Promise((resolve, reject) => {
    const child = execFile(file, argv, (error, _stdout, stderr) => {
      if (!error) return resolve();
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      reject(new BerthError(
        missing
          ? `${file} is not installed: install ${tool === 'nft' ? 'nftables' : 'iproute2'} (apt-get install ${tool === 'nft' ? 'nftables' : 'iproute2'})`
          : `${tool} failed (${options.step}): ${stderr.trim() || error.message}\ncommands:\n  ${commands.join('\n  ')}`,
        { code: missing ? 'ENOENT' : 'ERR_NETWORK', syscall: tool, path: file, step: options.step, cause: error },
      ));
    });
    child.stdin!.end(commands.join('\n') + '\n');
  });
}
