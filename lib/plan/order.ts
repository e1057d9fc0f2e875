// The order of the `iif lo` rules for unbound traffic: by configured
// interface priority (first matching pattern), then by name in natural order
// (eth2 before eth10), then by address value, then table. It depends only on
// what is managed, never on bring-up order, so every hook computes the same
// ranks and the 91000 band stays dense (91000, 91001, …) per family.

import { ifnameMatches } from '../net/ifname.js';

export interface Rankable {
  ifname: string;
  /** Numeric value of the address (lower first among one interface's addresses). */
  address: bigint;
  table: number;
}

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

/** Sorts managed addresses into their `iif lo` order; returns table → rank (0-based). */
export function rankTables(patterns: readonly string[], items: readonly Rankable[]): Map<number, number> {
  const keyed = items.map((item) => ({ item, p: priorityIndex(patterns, item.ifname) }));
  keyed.sort(
    (x, y) =>
      x.p - y.p ||
      compareNatural(x.item.ifname, y.item.ifname) ||
      (x.item.address < y.item.address ? -1 : x.item.address > y.item.address ? 1 : 0) ||
      x.item.table - y.item.table,
  );
  return new Map(keyed.map(({ item }, rank) => [item.table, rank]));
}
