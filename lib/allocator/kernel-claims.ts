// The leases the kernel shows: every table our rules and routes use for an
// (interface, address) is a lease, whatever the store says. The allocator
// claims them when it starts, before it answers anyone, so a table in use is
// never handed to another address: after a damaged or lost store, and after
// a kill -9 between a dispatched event's answer and the store write that
// follows it (lib/allocator/allocator.ts, STORE_SOON_MS). For a live address
// (present on its interface) the kernel wins outright: a store lease that
// gives its table to another key is dropped. handleEvent checks the same
// thing on every event (`tableTakenBy`), so a table the store hands out
// while the kernel routes another live address through it is never used.
// No I/O here: the daemon reads the state, the allocator applies the claims.

import type { Config } from '../config/schema.js';
import type { Family } from '../net/address.js';
import { indexState } from '../plan/index.js';
import type { KernelState } from '../state/types.js';
import type { LeaseTable } from './leases.js';
import type { WireLease } from './protocol.js';

export interface KernelLease {
  ifname: string;
  /** Canonical address text. */
  address: string;
  family: Family;
  table: number;
  /** The address is on its interface: the table is in use, the kernel decides whose it is. */
  live: boolean;
}

type IndexConfig = Pick<Config, 'protocol' | 'prefFrom' | 'prefOif'>;

const isLive = (state: KernelState, ifname: string, address: string) =>
  !!state.links.find((l) => l.ifname === ifname)?.addresses.some((a) => a.address.address.text === address);

/** Our tables in the allocator's range that name an interface and an address, in table order. */
export function kernelLeases(state: KernelState, config: IndexConfig & Pick<Config, 'tableMin' | 'tableMax'>): KernelLease[] {
  const found: KernelLease[] = [];
  for (const e of indexState(state, config).entries.values()) {
    if (!e.ifname || !e.address || e.table < config.tableMin || e.table > config.tableMax) continue;
    found.push({ ifname: e.ifname, address: e.address.text, family: e.family, table: e.table, live: isLive(state, e.ifname, e.address.text) });
  }
  return found.sort((a, b) => a.family - b.family || a.table - b.table);
}

/**
 * The live (interface, address) the kernel routes through `table`, when it
 * is not `self`: that table is theirs, whatever the allocator answered.
 */
export function tableTakenBy(
  state: KernelState,
  config: IndexConfig,
  family: Family,
  table: number,
  self: { ifname: string; address: string },
): { ifname: string; address: string } | undefined {
  if (table <= 0) return undefined;
  const e = indexState(state, config).entries.get(`${family}:${table}`);
  if (!e?.ifname || !e.address) return undefined;
  if (e.ifname === self.ifname && e.address.text === self.address) return undefined;
  return isLive(state, e.ifname, e.address.text) ? { ifname: e.ifname, address: e.address.text } : undefined;
}

export interface Claims {
  /** Leases the store did not have (or had under another table), now held. */
  claimed: WireLease[];
  /** Store leases dropped because the kernel routes a live address through their table. */
  dropped: WireLease[];
  /** Tables of addresses no longer live that the store gives another key: left to the store. */
  conflicts: KernelLease[];
}

/**
 * Applies the kernel's leases to the table. A live address gets the table
 * the kernel routes it through (if the kernel shows it in several, a store
 * lease for one of them stands); an address no longer live gets its table
 * only when nobody holds it.
 */
export function claimFromKernel(table: LeaseTable, found: readonly KernelLease[], now: number): Claims {
  const kernelTables = new Map<string, Set<number>>();
  for (const k of found) {
    const key = `${k.family}|${k.ifname}|${k.address}`;
    kernelTables.set(key, (kernelTables.get(key) ?? new Set()).add(k.table));
  }
  const claims: Claims = { claimed: [], dropped: [], conflicts: [] };
  for (const k of found) {
    const key = `${k.family}|${k.ifname}|${k.address}`;
    const lease = { ifname: k.ifname, address: k.address, addr_family: k.family };
    const held = table.get(lease);
    if (held && kernelTables.get(key)!.has(held.table)) continue; // the store agrees with the kernel
    if (k.live) {
      const got = table.reassign(lease, k.table, now);
      if (!got) continue;
      claims.claimed.push(got.lease);
      claims.dropped.push(...got.dropped.filter((d) => `${d.addr_family}|${d.ifname}|${d.address}` !== key));
      continue;
    }
    if (held) continue; // not live: its store lease stands, the watcher removes the stale entry
    const got = table.claim(lease, k.table, now);
    if (got) claims.claimed.push(got);
    else claims.conflicts.push(k);
  }
  return claims;
}
