// The band: `from all lookup T` rules for traffic no earlier rule answered
// (unbound local traffic and forwarded traffic: containers, VMs, LAN
// clients), ordered by configured interface priority (first matching
// pattern), then by name in natural order (eth2 before eth10), then by
// address value, then table. It depends only on what is managed, never on
// bring-up order, so every hook computes the same ranks and the band stays
// dense (31000, 31001, …) per family: each event re-converges all of it.
// With it goes, per family and while the family has a table, the rule
// `lookup main suppress_prefixlength 0` before it (rule_pref_main): main
// answers for what it routes more specifically than a default (LANs,
// container bridges, VPNs), its default routes come after the band (the
// kernel's rule at 32766: the last resort). Band rules of older versions
// (`iif lo lookup T` at 91000+) are recognised and moved.
//
// Upstream health (lib/health, the daemon's probes) only changes the order:
// an uplink whose upstream is down ranks after every healthy or unknown one,
// by priority among the down ones; when all are down, plain priority order
// stays (the probe targets may be what is filtered). Nothing is withdrawn.

import type { Config } from '../config/schema.js';
import type { Family, IpAddress } from '../net/address.js';
import { ifnameMatches } from '../net/ifname.js';
import { isBandRule } from '../state/rules.js';
import { TABLE_MAIN } from '../state/types.js';
import { subjectOf, type Builder } from './builder.js';
import { tableKey, type Entry, type StateIndex } from './index.js';
import { bandRule, specOfRule } from './specs.js';

/** One managed address, as the band orders it. */
export interface Rankable {
  ifname: string;
  /** Numeric value of the address (lower first among one interface's addresses). */
  address: bigint;
  table: number;
  /** Its upstream is down (health probes). */
  down?: boolean;
}

/** How a down uplink is named in the set the planner gets: family, interface, address. */
export const healthKey = (family: Family, ifname: string, address: string) => `${family} ${ifname} ${address}`;

/** Index of the first pattern matching the name; unmatched names come last. */
export function priorityIndex(patterns: readonly string[], ifname: string): number {
  const i = patterns.findIndex((p) => ifnameMatches(p, ifname));
  return i < 0 ? patterns.length : i;
}

/** Compares names with digit runs as numbers: eth2 < eth10 < wlan0. */
export function compareNatural(a: string, b: string): number {
  const split = (s: string) => s.match(/\d+|\D+/g) ?? [];
  const xa = split(a);
  const xb = split(b);
  for (let i = 0; i < Math.min(xa.length, xb.length); i++) {
    const [pa, pb] = [xa[i]!, xb[i]!];
    if (pa === pb) continue;
    const numeric = /^\d/.test(pa) && /^\d/.test(pb);
    if (numeric && BigInt(pa) !== BigInt(pb)) return BigInt(pa) < BigInt(pb) ? -1 : 1;
    return pa < pb ? -1 : 1;
  }
  return xa.length - xb.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** Sorts managed addresses into their band order; returns table → rank (0-based). */
export function rankTables(patterns: readonly string[], items: readonly Rankable[]): Map<number, number> {
  const demote = !items.every((i) => i.down);
  const keyed = items.map((item) => ({ item, p: priorityIndex(patterns, item.ifname), d: demote && item.down ? 1 : 0 }));
  keyed.sort(
    (x, y) =>
      x.d - y.d ||
      x.p - y.p ||
      compareNatural(x.item.ifname, y.item.ifname) ||
      (x.item.address < y.item.address ? -1 : x.item.address > y.item.address ? 1 : 0) ||
      x.item.table - y.item.table,
  );
  return new Map(keyed.map(({ item }, rank) => [item.table, rank]));
}

/**
 * Re-converges the band of one family over the entries the plan keeps (and
 * `target`, the address being brought up): moves every band rule whose pref
 * is not its rank's (or that is an old `iif lo` one), and keeps the family's
 * suppress rule exactly while a table remains. Returns the target's rank.
 */
export function rerank(b: Builder, config: Config, idx: StateIndex, family: Family, target?: { ifname: string; address: IpAddress; table: number }): number | undefined {
  const items: (Rankable & { entry?: Entry })[] = [];
  for (const e of idx.entries.values()) {
    if (e.family !== family || b.removed.has(tableKey(family, e.table))) continue;
    if (target && e.table === target.table) continue;
    const down = e.address !== undefined && !!idx.down?.has(healthKey(family, e.ifname ?? '', e.address.text));
    items.push({ ifname: e.ifname ?? '', address: e.address?.value ?? 0n, table: e.table, entry: e, down });
  }
  if (target) {
    const down = !!idx.down?.has(healthKey(family, target.ifname, target.address.text));
    items.push({ ifname: target.ifname, address: target.address.value, table: target.table, down });
  }
  const ranks = rankTables(config.interfacePriority, items);
  for (const item of items) {
    if (!item.entry) continue;
    const want = bandRule(config, family, item.table, ranks.get(item.table)!);
    const subject = subjectOf(item.ifname, item.entry.address, item.table);
    const band = item.entry.rules.filter(isBandRule);
    if (band.length === 1 && band[0]!.priority === want.priority && band[0]!.iif === undefined) continue;
    const reason = `unbound and forwarded traffic: ${item.ifname} is number ${ranks.get(item.table)! + 1} in interface priority${item.down && items.some((i) => !i.down) ? ' (its upstream is down: after the healthy uplinks)' : ''}`;
    for (const r of band) b.dels.push({ kind: 'del-rule', rule: specOfRule(r), subject, reason });
    b.adds.push({ kind: 'add-rule', rule: want, subject, reason });
  }
  convergeSuppress(b, config, idx, family, items.length > 0);
  return target ? ranks.get(target.table) : undefined;
}

/** One `lookup main suppress_prefixlength 0` rule at rule_pref_main while `wanted`, none otherwise. */
function convergeSuppress(b: Builder, config: Config, idx: StateIndex, family: Family, wanted: boolean) {
  const have = idx.suppress.filter((r) => r.family === family);
  const keep = wanted ? have.find((r) => r.priority === config.prefMain) : undefined;
  // Shared by every uplink of the family: logged as iface=all.
  const subject = { ifname: 'all', table: TABLE_MAIN };
  for (const r of have) {
    if (r !== keep) b.dels.push({ kind: 'del-rule', rule: specOfRule(r), subject, reason: wanted ? `main's suppress rule belongs at ${config.prefMain}` : `no managed IPv${family} address left: main decides alone again` });
  }
  if (wanted && !keep) {
    b.adds.unshift({
      kind: 'add-rule',
      rule: { family, priority: config.prefMain, table: TABLE_MAIN, suppressPrefixLength: 0, protocol: config.protocol },
      subject,
      reason: 'main answers before the band for everything but its default routes (LANs, container bridges, VPNs)',
    });
  }
}
