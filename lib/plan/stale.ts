// Stale leases of events with `soleLease` (dhclient, IPv4: one lease per
// interface): after a refused renewal the client binds a new address and may
// later report the old one. Found, removed and swept here once, for the
// address-up (before the new lease is built) and the address-down planners.

import type { Config } from '../config/schema.js';
import type { Family, IpAddress } from '../net/address.js';
import type { KernelState, LinkAddress, Route, Rule } from '../state/types.js';
import { Builder, subjectOf } from './builder.js';
import type { Change, Plan, Subject } from './change.js';
import type { AddressUp } from './event.js';
import type { Entry, StateIndex } from './index.js';

/** A stale lease: the address on the interface and everything of ours for it. */
export interface StaleLease {
  on: LinkAddress;
  /** Our tables whose rules (or routes) name the address on the interface. */
  entries: Entry[];
  /** Fallback routes of ours in main with the address as source (no lease). */
  main: Route[];
}

/**
 * The stale leases on `ifname`: the addresses of its family, other than
 * `keep`, that
 *   1. carry a lease lifetime: not permanent (`dynamic` in `ip address`, a
 *      finite valid_lft). dhclient-script and this hook always put a DHCP
 *      address on with valid_lft = the lease time; ifupdown's static
 *      addresses and addresses added by hand are permanent, so they never
 *      qualify, even when we manage them; the kernel's SLAAC addresses
 *      (protocol kernel_ra) never qualify either; and
 *   2. are ours: a table of ours whose rules (or, without rules, routes)
 *      name the address on this interface (`from A` with `oif I`), or a
 *      fallback route of ours in main with the address as source.
 * A permanent address, or one we hold nothing for, is never touched. Only
 * the kernel's state decides (no state file), as for every down event.
 * Order: secondaries first (with promote_secondaries off, the kernel's
 * default, deleting a primary address deletes its secondaries too).
 */
export function staleLeases(idx: StateIndex, config: Config, ifname: string, family: Family, keep: IpAddress): StaleLease[] {
  const link = idx.links.get(ifname);
  if (!link) return [];
  const out: StaleLease[] = [];
  for (const on of link.addresses) {
    const S = on.address.address;
    if (S.family !== family || S.text === keep.text) continue;
    if (on.validLifetime === undefined || on.protocol === 'kernel_ra') continue;
    const entries = [...idx.entries.values()].filter((e) => e.family === family && e.ifname === ifname && e.address?.text === S.text);
    const main = (idx.mainByDev.get(`${family}:${ifname}`) ?? []).filter((r) => r.protocol === config.protocol && r.prefsrc?.text === S.text);
    if (entries.length || main.length) out.push({ on, entries, main });
  }
  return out.sort((a, b) => isSecondary(b.on) - isSecondary(a.on));
}

/** 1 for a secondary address, for sorting secondaries first. */
export const isSecondary = (a: LinkAddress) => Number(a.flags.includes('secondary'));

/** Deletes an address found on the interface; the undo puts it back with the lifetime it had left. */
function delAddress(ifname: string, on: LinkAddress, subject: Subject, reason: string): Change {
  return {
    kind: 'del-address', ifname, address: on.address,
    ...(on.flags.includes('noprefixroute') ? { noprefixroute: true } : {}),
    ...(on.validLifetime !== undefined ? { validLifetime: on.validLifetime, preferredLifetime: on.validLifetime } : {}),
    subject, reason,
  };
}

/**
 * Removes the stale leases' tables and fallback routes (releasing their
 * leases) and returns their address deletions, in `stale`'s order, for the
 * caller to place among its own.
 */
export function removeStaleLeases(b: Builder, ifname: string, stale: readonly StaleLease[], reason: string): [LinkAddress, Change][] {
  return stale.map((s) => {
    const subject = subjectOf(ifname, s.on.address, s.entries[0]?.table ?? 0);
    for (const entry of s.entries) b.removeEntry(entry, reason, { ifname, address: s.on.address });
    for (const r of s.main) b.removeMainRoute(r, subject, `${reason}: remove its fallback route`);
    return [s.on, delAddress(ifname, s.on, subject, reason)];
  });
}

/**
 * Before an address-up with `soleLease`: removes the stale leases (their
 * rules and routes, then the addresses) and returns the changes with the
 * state the kernel is in afterwards, which the address-up is planned on.
 * When the event's address is already on the interface as a secondary of a
 * stale primary of its prefix, it is deleted first and put back by the
 * address-up: the kernel would otherwise delete it with the primary.
 */
export function sweepBeforeUp(state: KernelState, idx: StateIndex, config: Config, e: AddressUp): { changes: Change[]; released: Plan['released']; state: KernelState } | undefined {
  const A = e.address.address;
  const stale = staleLeases(idx, config, e.ifname, A.family, A);
  if (!stale.length) return undefined;
  const b = new Builder();
  const goneAddresses = new Set(stale.map((s) => s.on.address.address.text));
  const mine = idx.links.get(e.ifname)!.addresses.find((a) => a.address.address.text === A.text);
  if (mine?.flags.includes('secondary') && stale.some((s) => !s.on.flags.includes('secondary') && s.on.address.prefix.text === mine.address.prefix.text)) {
    const table = [...idx.entries.values()].find((x) => x.family === A.family && x.ifname === e.ifname && x.address?.text === A.text)?.table ?? 0;
    b.last.push(delAddress(e.ifname, mine, subjectOf(e.ifname, mine.address, table), `a secondary of stale lease ${stale[0]!.on.address.address.text}: deleted and put back, or the kernel deletes it with that address`));
    goneAddresses.add(A.text);
  }
  const deletions = removeStaleLeases(b, e.ifname, stale, `stale ${e.source} lease: ${e.ifname}'s lease is now ${A.text}`);
  b.last.push(...deletions.map(([, c]) => c));
  // What the kernel holds afterwards: deleting an address also deletes the
  // routes that have it as source, in every table.
  const goneRules = new Set<Rule>(stale.flatMap((s) => s.entries.flatMap((x) => x.rules)));
  const goneRoutes = new Set<Route>(stale.flatMap((s) => [...s.entries.flatMap((x) => x.routes), ...s.main]));
  const after: KernelState = {
    ...state,
    links: state.links.map((l) => (l.ifname === e.ifname ? { ...l, addresses: l.addresses.filter((a) => !goneAddresses.has(a.address.address.text)) } : l)),
    routes: state.routes.filter((r) => !goneRoutes.has(r) && !(r.family === A.family && r.prefsrc && goneAddresses.has(r.prefsrc.text))),
    rules: state.rules.filter((r) => !goneRules.has(r)),
  };
  return { changes: b.list(), released: b.released, state: after };
}
