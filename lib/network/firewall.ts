import { writeFileSync } from 'node:fs';
import type { NetworkRecord } from '../../types/network.js';
import { runBatch } from './host-commands.js';

/**
 * A runtime's nftables table, `inet berth_<hash of its root>` (several
 * runtimes on one host each keep their own), rebuilt whole in one
 * transaction from the list of networks whenever it changes, and deleted
 * with the last network. It keeps networks apart (a drop in any table
 * drops), gives internal networks no way out, and masquerades the others'
 * outbound traffic (IPv4 and IPv6: the rules match interfaces, and the table
 * is of the `inet` family).
 */
export async function applyFirewall(table: string, networks: NetworkRecord[]): Promise<void> {
  const reset = [`table inet ${table} {}`, `delete table inet ${table}`];
  if (networks.length === 0) return runBatch('nft', reset, { step: 'firewall' });
  const forward: string[] = ['ct state established,related accept'];
  const nat: string[] = [];
  for (const n of networks) {
    const br = `"${n.bridge}"`;
    forward.push(`iifname ${br} oifname ${br} accept`);
    forward.push(`iifname ${br} oifname "berth-*" drop`);
    if (n.internal) {
      forward.push(`iifname ${br} drop`, `oifname ${br} drop`);
    } else {
      nat.push(`ip saddr ${n.subnet} oifname != ${br} masquerade`);
      if (n.enableIPv6 && n.subnet6) nat.push(`ip6 saddr ${n.subnet6} oifname != ${br} masquerade`);
    }
  }
  const rules = [
    `table inet ${table} {`,
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    ...forward.map((rule) => `    ${rule}`),
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    ...nat.map((rule) => `    ${rule}`),
    '  }',
    '}',
  ];
  await runBatch('nft', [...reset, ...rules], { step: 'firewall' });
  if (networks.some((n) => !n.internal)) {
    // outbound access needs forwarding in this network namespace
    writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
  }
  if (networks.some((n) => !n.internal && n.enableIPv6)) writeFileSync('/proc/sys/net/ipv6/conf/all/forwarding', '1');
}
