// Our nftables table (pure): the connection marks that keep a connection on
// one uplink (docs/forwarding.md). A new connection arriving on an uplink (to
// one of its managed addresses) gets that table's mark in its conntrack entry,
// under fwmark_mask only, so its replies go back the way it came; a new
// forwarded connection that has none of our bits yet gets the mark of the
// uplink it leaves by (sticky), so it stays on it, masqueraded to that
// uplink's address, when the band later prefers another uplink (failback).
// Packets arriving on any other interface (a container's, a LAN client's)
// get their connection's mark copied into the packet, where the `fwmark
// M/MASK lookup T` rule at rule_pref_fwmark finds it. Only our bits are read
// and written, with constants (no two-register arithmetic, so any kernel nft
// runs on does).
//
// The whole table is one `nft -f` script (add, delete, define): nft applies a
// file as one transaction, so the table is replaced atomically, and deleting
// it first drops our old rules without touching any other table.

import type { Family, IpAddress } from '../net/address.js';

export const TABLE = 'multihomed_routing';

/** One uplink table's mark. */
export interface Mark {
  family: Family;
  mark: number;
  ifname: string;
  /** The managed address of the table: only connections to it are marked. */
  address?: IpAddress;
}

const hex = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
/** nft strings: interface names are validated names, quoted for nft's parser. */
const quote = (s: string) => `"${s.replace(/["\\]/g, '')}"`;

/** The table's definition, or undefined when there is nothing to mark. */
export function renderTable(marks: readonly Mark[], mask: number): string | undefined {
  if (!marks.length) return undefined;
  const keep = hex(~mask >>> 0);
  const lines = [
    `table inet ${TABLE} {`,
    '  chain prerouting {',
    '    type filter hook prerouting priority mangle; policy accept;',
  ];
  for (const m of marks) {
    const to = m.address ? ` ${m.family === 4 ? 'ip' : 'ip6'} daddr ${m.address.text}` : ` meta nfproto ${m.family === 4 ? 'ipv4' : 'ipv6'}`;
    lines.push(`    iifname ${quote(m.ifname)}${to} ct state new ct mark set ct mark and ${keep} or ${hex(m.mark)} comment "came in on ${m.ifname}"`);
  }
  const uplinks = [...new Set(marks.map((m) => m.ifname))].sort().map(quote).join(', ');
  for (const value of [...new Set(marks.map((m) => m.mark))].sort((a, b) => a - b)) {
    lines.push(`    iifname != { ${uplinks} } ct mark and ${hex(mask)} == ${hex(value)} meta mark set meta mark and ${keep} or ${hex(value)} comment "leaves by the uplink of its connection"`);
  }
  lines.push('  }', ...stickyChain(marks, mask), '}');
  return lines.join('\n') + '\n';
}

/**
 * The forward hook: host-local traffic never passes it. One rule per family
 * and uplink; an uplink with several tables of a family (several addresses)
 * uses the lowest mark: each of them leads out of that interface.
 */
function stickyChain(marks: readonly Mark[], mask: number): string[] {
  const keep = hex(~mask >>> 0);
  const lines = ['  chain forward {', '    type filter hook forward priority mangle; policy accept;'];
  const seen = new Set<string>();
  const order = [...marks].sort((a, b) => a.family - b.family || (a.ifname < b.ifname ? -1 : a.ifname > b.ifname ? 1 : 0) || a.mark - b.mark);
  for (const m of order) {
    const key = `${m.family} ${m.ifname}`;
    if (seen.has(key)) continue;
    seen.add(key);
    lines.push(`    meta nfproto ${m.family === 4 ? 'ipv4' : 'ipv6'} oifname ${quote(m.ifname)} ct state new ct mark and ${hex(mask)} == 0x00000000 ct mark set ct mark and ${keep} or ${hex(m.mark)} comment "forwarded connection stays on ${m.ifname}"`);
  }
  lines.push('  }');
  return lines;
}

/** The nft script that replaces our table with `definition` (or removes it), in one transaction. */
export function replaceScript(definition: string | undefined): string {
  return `table inet ${TABLE}\ndelete table inet ${TABLE}\n${definition ?? ''}`;
}
