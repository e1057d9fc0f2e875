// The leases the kernel shows: every table our rules and routes use for an
// (interface, address) is a lease, whatever the store says. The allocator
// claims them when it starts, before it answers anyone, so a table in use is
// never handed to another address: after a damaged or lost store, and after
// a kill -9 between a dispatched event's answer and the store write that
// follows it (lib/allocator/allocator.ts, STORE_SOON_MS). No I/O here: the daemon reads the
// state, the allocator applies the claims to its table.

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
}

/** Our tables in the allocator's range that name an interface and an address, in table order. */
export function kernelLeases(state: KernelState, config: Pick<Config, 'protocol' | 'prefFrom' | 'prefOif' | 'tableMin' | 'tableMax'>): KernelLease[] {
  const found: KernelLease[] = [];
  for (const e of indexState(state, config).entries.values()) {
    if (!e.ifname || !e.address || e.table < config.tableMin || e.table > config.tableMax) continue;
    found.push({ ifname: e.ifname, address: e.address.text, family: e.family, table: e.table });
  }
  return found.sort((a, b) => a.family - b.family || a.table - b.table);
}

export interface Claims {
  /** Leases the store did not have, now held. */
  claimed: WireLease[];
  /** Tables held by another key in the store: left as they are (the next event for the address moves it). */
  conflicts: KernelLease[];
}

/** Gives each kernel lease its table unless its key already holds a lease; the rest is reported. */
export function claimFromKernel(table: LeaseTable, found: readonly KernelLease[], now: number): Claims {
  const held = new Map(table.list().map((l) => [`${l.addr_family}|${l.ifname}|${l.address}`, l]));
  const claims: Claims = { claimed: [], conflicts: [] };
  for (const k of found) {
    if (held.has(`${k.family}|${k.ifname}|${k.address}`)) continue; // the store's lease stands: the next event for the address uses its table
    const got = table.claim({ ifname: k.ifname, address: k.address, addr_family: k.family }, k.table, now);
    if (got) claims.claimed.push(got);
    else claims.conflicts.push(k);
  }
  return claims;
}
