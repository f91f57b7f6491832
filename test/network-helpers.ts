import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Interface names in the test's network namespace. */
export function links(): string[] {
  return readFileSync('/proc/net/dev', 'utf8').split('\n').slice(2).map((l) => l.split(':')[0]!.trim()).filter(Boolean);
}

/** berth's leftovers in the test's network namespace: bridges, host veths, its nftables table. */
export function berthNetworkLeftovers(): string[] {
  const tables = execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' });
  const berthTables = tables.split('\n').filter((line) => /^table inet berth/.test(line));
  return [...links().filter((l) => l.startsWith('berth-') || l.startsWith('bv')), ...berthTables];
}
