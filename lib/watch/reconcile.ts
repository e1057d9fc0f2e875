// The watcher's decisions (pure): from the kernel's state, the lease table
// and what the daemon remembers, which routing events to hand to
// handleEvent and which leases to renew, claim or release.
//
// - An entry of ours (rules/routes with our protocol naming a table) whose
//   interface is gone → interface-gone; whose address is gone from its
//   interface → address-down. Both remove rules and routes and release.
// - A managed address still present whose table lost its routes (a link set
//   down and up again flushes them) or one of its rules → address-up rebuilt
//   from the routes it had when last complete (the snapshot). The state of
//   the kernel is the truth: while an entry is complete its snapshot follows
//   it, so a hook that changes the routes is never "repaired" back.
// - A SLAAC address (lib/plan/ra.ts) on a managed, up interface without an
//   entry → address-up (source kernel) with the RA's default routers; when
//   those change, the same event again (the planner moves the routes).
// - Any other global address without an entry, no hook reporting it within
//   the grace period → address-up (source kernel, adopted: adopt.ts).
// - A lease whose address is on its interface is renewed once half its time
//   is gone; a lease seen held in this daemon's life whose address is gone is
//   released; one never seen held is left to reclaim.ts, which releases it
//   after lease_reclaim_grace (a hook may be about to add its address). An
//   entry without a lease claims its table.
//
// Every event carries a check the executor re-evaluates on the state read
// under the routing lock: a hook may have changed things in between.

import type { WireLease } from '../allocator/protocol.js';
import type { Config } from '../config/schema.js';
import { hostPrefix, parseInterfaceAddress, type Family, type IpAddress, type IpInterfaceAddress } from '../net/address.js';
import type { AddressUp, ExtraRoute, RoutingEvent } from '../plan/event.js';
import { indexState, type Entry, type StateIndex } from '../plan/index.js';
import { isIgnored } from '../plan/ignore.js';
import { isSlaacAddress, nextRaExpiry, raGateways } from '../plan/ra.js';
import { isBandRule, isLegacyBandRule } from '../state/rules.js';
import { PROTO_KERNEL, TABLE_MAIN, type KernelState, type Link } from '../state/types.js';
import type { Snapshot } from '../state/records.js';
import { planAdoptions, type AdoptMemory } from './adopt.js';

/** The lease key as the allocator spells it: `family|ifname|address`. */
export const leaseKey = (family: Family, ifname: string, address: string) => `${family}|${ifname}|${address}`;

/** What the daemon remembers between passes (and writes to its view file). */
export interface WatchMemory {
  /** Lease keys seen with their address present during this daemon's life. */
  held: Set<string>;
  snapshots: Map<string, Snapshot>;
  /** Addresses waiting to be adopted, and those not to adopt (adopt.ts). */
  adopt?: AdoptMemory;
}

/** Re-checked under the routing lock before the event is applied. */
export type Check =
  | { kind: 'interface-absent'; ifname: string }
  | { kind: 'address-absent'; ifname: string; address: string }
  | { kind: 'address-present'; ifname: string; address: string }
  /** The address is present and has no complete entry (repair, adoption). */
  | { kind: 'incomplete'; ifname: string; address: string; family: Family };

export type Action =
  | { kind: 'event'; event: RoutingEvent; check: Check; why: string }
  | { kind: 'renew'; lease: WireLease }
  | { kind: 'claim'; ifname: string; address: string; family: Family; table: number; why: string }
  | { kind: 'release'; lease: WireLease; why: string };

export interface ReconcileInput {
  state: KernelState;
  leases: readonly WireLease[];
  config: Pick<Config, 'protocol' | 'prefFrom' | 'prefOif' | 'prefTo' | 'prefDefault' | 'ignoreInterfaces' | 'leaseTime' | 'adoptGraceMs'>;
  memory: WatchMemory;
  /** What hooks recorded per table (lib/state/records.ts): preferred over the memory's snapshots. */
  records?: readonly Snapshot[];
  /** Unix seconds. */
  now: number;
  manageSlaac: boolean;
  /** Adopt addresses no hook reported (adopt_addresses); `takeOver`: the daemon's first pass. */
  adopt?: { nowMs: number; takeOver: boolean };
}

export interface ReconcileResult {
  actions: Action[];
  /** Seconds until something changes without a kernel event (an RA default route expiring): pass again then. */
  recheckInS?: number;
  /** Milliseconds until an address waiting for a hook is due for adoption: pass again then. */
  adoptInMs?: number;
  /** The memory after this pass (new objects; the input is not changed). */
  memory: WatchMemory;
}

const bits = (f: Family) => (f === 4 ? 32 : 128);

function present(link: Link | undefined, address: string): boolean {
  return !!link?.addresses.some((a) => a.address.address.text === address);
}

/**
 * True when an entry has every rule the layout needs and routes in its table,
 * and its family has main's suppress rule. An old `iif lo` band rule makes it
 * incomplete: planning the address again moves the band (upgrade).
 */
export function isComplete(e: Entry, idx: Pick<StateIndex, 'suppress'>): boolean {
  const has = (pred: (r: Entry['rules'][number]) => boolean) => e.rules.some(pred);
  const to = e.prefix === undefined || e.prefix.length >= bits(e.family) || has((r) => !!r.dst && !r.src);
  const band = has((r) => isBandRule(r) && !isLegacyBandRule(r)) && !has(isLegacyBandRule);
  const suppress = idx.suppress.some((r) => r.family === e.family);
  return e.routes.length > 0 && has((r) => !!r.src) && has((r) => r.oif !== undefined) && band && suppress && to;
}

function snapshotOf(state: KernelState, e: Entry, slaac: boolean): Snapshot {
  const A = e.address!;
  const onLink = e.routes.find((r) => !r.gateway && r.dst.length > 0 && r.dst.length < bits(e.family) && (e.prefix ? r.dst.text === e.prefix.text : true));
  const length = e.prefix?.length ?? onLink?.dst.length ?? bits(e.family);
  const prefixText = e.prefix?.text ?? onLink?.dst.text;
  const defaults = e.routes.filter((r) => r.dst.length === 0 && r.gateway).sort((a, b) => a.metric - b.metric);
  const routes = e.routes
    .filter((r) => r.dst.length > 0 && !(r.dst.text === prefixText && !r.gateway))
    .map((r) => ({ destination: r.dst.text, ...(r.gateway ? { gateway: r.gateway.text } : {}), metric: r.metric }));
  const gateways = defaults.map((r) => r.gateway!.text);
  const main = state.routes.filter((r) => r.table === TABLE_MAIN && r.family === e.family && r.dev === e.ifname);
  const keepMain = main.some(
    (r) => (r.dst.length === 0 && r.gateway && gateways.includes(r.gateway.text)) || (r.protocol === PROTO_KERNEL && prefixText !== undefined && r.dst.text === prefixText && e.family === 4),
  );
  return { ifname: e.ifname!, family: e.family, address: `${A.text}/${length}`, table: e.table, gateways, routes, keepMain, slaac };
}

/** The address-up that rebuilds a snapshot (SLAAC: with the RA's current routers). */
export function eventOfSnapshot(s: Snapshot, gateways?: IpAddress[]): AddressUp {
  const address: IpInterfaceAddress = parseInterfaceAddress(s.address, s.family);
  const routes: ExtraRoute[] = s.routes.map((r) => ({
    destination: parseInterfaceAddress(r.destination, s.family).prefix,
    ...(r.gateway ? { gateway: parseInterfaceAddress(r.gateway, s.family).address } : {}),
    metric: r.metric,
  }));
  return {
    kind: 'address-up',
    source: s.slaac || s.adopted ? 'kernel' : s.keepMain ? 'NetworkManager' : 'ifupdown',
    ifname: s.ifname,
    address,
    gateways: gateways ?? s.gateways.map((g) => parseInterfaceAddress(g, s.family).address),
    routes,
    manageAddress: false,
    ...(s.adopted ? { adopted: s.adopted } : {}),
    ...(s.adopted && s.fromFallback ? { fromFallback: true } : {}),
  };
}

function slaacEvent(ifname: string, address: IpInterfaceAddress, gateways: IpAddress[]): AddressUp {
  return { kind: 'address-up', source: 'kernel', ifname, address, gateways, routes: [], manageAddress: false };
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** One pass: the actions, in the order they should run, and the new memory. */
export function reconcile(input: ReconcileInput): ReconcileResult {
  const { state, config, now } = input;
  const idx = indexState(state, config);
  const held = new Set(input.memory.held);
  const snapshots = new Map(input.memory.snapshots);
  const actions: Action[] = [];
  const handled = new Set<string>();
  const goneIfaces = new Set<string>();
  const entryByKey = new Map<string, Entry>();
  const leaseByKey = new Map(input.leases.map((l) => [leaseKey(l.addr_family, l.ifname, l.address), l]));

  for (const e of idx.entries.values()) {
    if (e.ifname === undefined || e.address === undefined) continue; // cannot tell whose: leave it
    const key = leaseKey(e.family, e.ifname, e.address.text);
    entryByKey.set(key, e);
    const link = idx.links.get(e.ifname);
    if (!link) {
      handled.add(key);
      snapshots.delete(key);
      if (!goneIfaces.has(e.ifname)) {
        goneIfaces.add(e.ifname);
        actions.push({ kind: 'event', event: { kind: 'interface-gone', source: 'kernel', ifname: e.ifname }, check: { kind: 'interface-absent', ifname: e.ifname }, why: `interface ${e.ifname} is gone` });
      }
      continue;
    }
    if (!present(link, e.address.text)) {
      handled.add(key);
      snapshots.delete(key);
      const address = { address: e.address, prefix: e.prefix ?? hostPrefix(e.address) };
      actions.push({
        kind: 'event',
        event: { kind: 'address-down', source: 'kernel', ifname: e.ifname, address, manageAddress: false },
        check: { kind: 'address-absent', ifname: e.ifname, address: e.address.text },
        why: `address ${e.address.text} is no longer on ${e.ifname}`,
      });
      continue;
    }
    const linkAddress = link.addresses.find((a) => a.address.address.text === e.address!.text)!;
    const slaac = isSlaacAddress(linkAddress);
    if (isComplete(e, idx)) {
      snapshots.set(key, snapshotOf(state, e, slaac));
      if (!leaseByKey.has(key)) {
        actions.push({ kind: 'claim', ifname: e.ifname, address: e.address.text, family: e.family, table: e.table, why: 'routed through a table the lease store does not know' });
      }
      continue;
    }
    const recorded = input.records?.find((r) => r.table === e.table && r.family === e.family && r.ifname === e.ifname && r.address.split('/')[0] === e.address!.text);
    const snap = recorded ?? snapshots.get(key);
    if (!link.up || !snap || snap.table !== e.table) continue; // down: nothing can be added; unknown: not ours to invent
    handled.add(key);
    actions.push({
      kind: 'event',
      event: eventOfSnapshot(snap, slaac ? raGateways(state, e.ifname) : undefined),
      check: { kind: 'incomplete', ifname: e.ifname, address: e.address.text, family: e.family },
      why: e.routes.length ? 'a rule of the address (or main\'s suppress rule) is missing, or its band rule is an old `iif lo` one' : `table ${e.table} lost its routes (link went down and up?)`,
    });
  }

  const slaacLinks = new Set<string>();
  if (input.manageSlaac) {
    for (const link of idx.links.values()) {
      if (!link.up || isIgnored(config as Config, link.ifname)) continue;
      const addrs = link.addresses.filter(isSlaacAddress);
      if (!addrs.length) continue;
      slaacLinks.add(link.ifname);
      const gateways = raGateways(state, link.ifname);
      for (const a of addrs) {
        const key = leaseKey(6, link.ifname, a.address.address.text);
        if (handled.has(key)) continue;
        const e = entryByKey.get(key);
        if (!e || !isComplete(e, idx)) {
          // Incomplete without a snapshot (a daemon restart): the address and the RA say it all.
          handled.add(key);
          actions.push({
            kind: 'event',
            event: slaacEvent(link.ifname, a.address, gateways),
            check: { kind: 'incomplete', ifname: link.ifname, address: a.address.address.text, family: 6 },
            why: e ? 'SLAAC address with a rule missing or an old band rule' : 'SLAAC address without its table',
          });
        } else if (isComplete(e, idx)) {
          const have = e.routes.filter((r) => r.dst.length === 0 && r.gateway).sort((x, y) => x.metric - y.metric).map((r) => r.gateway!.text);
          if (!sameList(have, gateways.map((g) => g.text))) {
            handled.add(key);
            actions.push({
              kind: 'event',
              event: slaacEvent(link.ifname, a.address, gateways),
              check: { kind: 'address-present', ifname: link.ifname, address: a.address.address.text },
              why: `the RA's default routers changed (${gateways.map((g) => g.text).join(' ') || 'none'})`,
            });
          }
        }
      }
    }
  }

  let adoptInMs: number | undefined;
  let adopt: AdoptMemory | undefined;
  if (input.adopt) {
    const result = planAdoptions({
      state, config, entries: entryByKey, handled, hadEntry: new Set(input.memory.snapshots.keys()), ...(input.records ? { records: input.records } : {}),
      memory: input.memory.adopt ?? { since: new Map(), declined: new Set() }, nowMs: input.adopt.nowMs, takeOver: input.adopt.takeOver, key: leaseKey,
    });
    for (const { event: e, why, refresh } of result.adoptions) {
      const [ifname, address] = [e.ifname, e.address.address.text];
      actions.push({ kind: 'event', event: e, check: refresh ? { kind: 'address-present', ifname, address } : { kind: 'incomplete', ifname, address, family: e.address.address.family }, why });
    }
    [adopt, adoptInMs] = [result.memory, result.dueInMs];
  }

  for (const lease of input.leases) {
    const key = leaseKey(lease.addr_family, lease.ifname, lease.address);
    if (present(idx.links.get(lease.ifname), lease.address)) {
      held.add(key);
      if (lease.lease_expires - now < config.leaseTime / 2) actions.push({ kind: 'renew', lease });
      continue;
    }
    if (handled.has(key)) {
      held.delete(key); // the event releases it
      continue;
    }
    if (held.has(key)) {
      held.delete(key);
      actions.push({ kind: 'release', lease, why: `address ${lease.address} is no longer on ${lease.ifname}` });
    }
  }
  // Forget what no longer exists anywhere.
  for (const key of held) if (!leaseByKey.has(key)) held.delete(key);
  for (const key of snapshots.keys()) if (!entryByKey.has(key)) snapshots.delete(key);
  const recheckInS = nextRaExpiry(state, slaacLinks);
  return {
    actions,
    memory: { held, snapshots, ...(adopt ? { adopt } : {}) },
    ...(recheckInS !== undefined ? { recheckInS } : {}),
    ...(adoptInMs !== undefined ? { adoptInMs } : {}),
  };
}

/** Evaluates a check on state read under the lock; a reason when the event no longer applies. */
export function checkFails(check: Check, state: KernelState, config: Pick<Config, 'protocol' | 'prefFrom' | 'prefOif'>): string | undefined {
  const link = state.links.find((l) => l.ifname === check.ifname);
  switch (check.kind) {
    case 'interface-absent':
      return link ? `interface ${check.ifname} exists again` : undefined;
    case 'address-absent':
      return present(link, check.address) ? `address ${check.address} is back on ${check.ifname}` : undefined;
    case 'address-present':
      return present(link, check.address) ? undefined : `address ${check.address} is no longer on ${check.ifname}`;
    case 'incomplete': {
      if (!present(link, check.address)) return `address ${check.address} is no longer on ${check.ifname}`;
      const idx = indexState(state, config);
      for (const e of idx.entries.values()) {
        if (e.family === check.family && e.ifname === check.ifname && e.address?.text === check.address && isComplete(e, idx)) {
          return `${check.address} on ${check.ifname} is complete (a hook did it)`;
        }
      }
      return undefined;
    }
  }
}
