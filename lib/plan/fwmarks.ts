// Connections marked for an uplink leave by it (docs/forwarding.md): replies
// of those that came in on it, and forwarded ones that first left by it
// (sticky). One rule `fwmark M/MASK lookup T` per uplink table at
// rule_pref_fwmark, M the table's mark under fwmark_mask. The rules are where
// the marks live: a table keeps the mark its rule has for as long as the table
// is managed (connections carry it in conntrack), a new table takes the lowest
// free one. lib/forward renders the nftables table that sets and restores the
// marks from these rules, after the routing changes.

import type { Config } from '../config/schema.js';
import type { Family } from '../net/address.js';
import type { KernelState } from '../state/types.js';
import { subjectOf, type Builder } from './builder.js';
import type { Uplink } from './pins.js';
import { specOfRule } from './specs.js';

/** The lowest set bit of a mask: mark slot n is n × this. */
export function markUnit(mask: number): number {
  let unit = 1;
  while (unit < mask && Math.floor(mask / unit) % 2 === 0) unit *= 2;
  return unit;
}

/** Plans the fwmark rules of one family over its kept uplinks. */
export function planFwmarks(b: Builder, state: KernelState, config: Config, family: Family, uplinks: readonly Uplink[]): void {
  const mask = config.fwmarkMask;
  const unit = markUnit(mask);
  const capacity = Math.floor(mask / unit);
  const kept = new Map(uplinks.map((u) => [u.table, u]));
  const ours = state.rules.filter((r) => r.family === family && r.protocol === config.protocol && r.fwmark && r.priority === config.prefFwmark);
  const markOf = new Map<number, number>();
  for (const r of ours) {
    const valid = r.fwmark!.mask === mask && r.fwmark!.value !== 0 && r.table !== undefined && kept.has(r.table) && !markOf.has(r.table);
    const taken = [...markOf.values()].includes(r.fwmark!.value);
    if (valid && !taken) markOf.set(r.table!, r.fwmark!.value);
    else b.dels.push({ kind: 'del-rule', rule: specOfRule(r), subject: subjectOf(kept.get(r.table ?? 0)?.ifname ?? '?', undefined, r.table ?? 0), reason: 'mark rule of an uplink no longer managed (or of another mask)' });
  }
  const used = new Set(markOf.values());
  let slot = 1;
  for (const u of uplinks) {
    if (markOf.has(u.table)) continue;
    while (slot <= capacity && used.has(slot * unit)) slot++;
    if (slot > capacity) break;
    const value = slot * unit;
    used.add(value);
    b.adds.push({
      kind: 'add-rule',
      rule: { family, priority: config.prefFwmark, fwmark: { value, mask }, table: u.table, protocol: config.protocol },
      subject: subjectOf(u.ifname, u.address, u.table),
      reason: `connections that came in on ${u.ifname}, or were forwarded out of it first, leave by it (mark 0x${value.toString(16)})`,
    });
  }
}
