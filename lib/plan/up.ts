// The address-up planner: an address's table, rules and sysctls, what the
// kernel and the caller put in main for it moved out, and (no lease, table 0)
// the degraded fallback: routes in main with metric = ifindex and our
// protocol (that protocol is how `status` sees "degraded"), no table, and
// a `from A lookup main` rule (the band would send A's traffic elsewhere). Under
// NetworkManager no route is added to or removed from main: its routes stay,
// the last resort after the band (docs/routing.md).

import type { Config } from '../config/schema.js';
import { isLinkLocal } from '../net/address.js';
import { PROTO_KERNEL, TABLE_MAIN, type KernelState } from '../state/types.js';
import { Builder, leaseOf, subjectOf } from './builder.js';
import type { Plan } from './change.js';
import type { AddressUp } from './event.js';
import { isIgnored } from './ignore.js';
import { indexState, tableKey, type StateIndex } from './index.js';
import { planForwarding } from './pins.js';
import { rerank } from './ranking.js';
import { asRouted, defaultMetric, desiredRoutes, desiredRules, fallbackRule, routeMatches, ruleKey, specOfRoute, specOfRule, wholePrefixNote, withRaGateways } from './specs.js';
import { sweepBeforeUp } from './stale.js';
import { planSysctls } from './sysctls.js';

/** Plans an address coming up with table `leased` (0: no lease, fallback to main). */
export function planAddressUp(state: KernelState, idx: StateIndex, event: AddressUp, config: Config, leased: number): Plan {
  const e = { ...event, address: asRouted(event.address) };
  const f = e.address.address.family;
  const A = e.address.address;
  // The prefix as the caller has it: the kernel's prefix route in main is made from it.
  const P = event.address.prefix;
  const note = wholePrefixNote(event.address);
  const none = (skipped: string): Plan => ({ changes: [], table: 0, degraded: false, skipped, released: [] });
  if (isIgnored(config, e.ifname)) return none(`interface ${e.ifname} matches ignore_interfaces`);
  if (isLinkLocal(A)) return none(`link-local address ${A.text} is not managed`);
  const link = idx.links.get(e.ifname);
  if (!link) return none(`interface ${e.ifname} does not exist`);
  const onLinkAddress = link.addresses.find((a) => a.address.address.text === A.text);
  if (!onLinkAddress && !e.manageAddress) return none(`address ${A.text} is not on ${e.ifname}`);
  if (e.soleLease) {
    const sweep = sweepBeforeUp(state, idx, config, e);
    if (sweep) {
      const rest = planAddressUp(sweep.state, { ...indexState(sweep.state, config), ...(idx.down ? { down: idx.down } : {}) }, { ...event, soleLease: false }, config, leased);
      return { ...rest, changes: [...sweep.changes, ...rest.changes], released: [...sweep.released, ...rest.released] };
    }
  }

  const b = new Builder();
  // NetworkManager's main-table metrics stand; so do the kernel's own RA
  // routes for a SLAAC address (it would re-add them on the next RA).
  const nm = e.source === 'NetworkManager' || e.source === 'kernel';
  const fallback = leased === 0;
  const table = fallback ? 0 : leased;
  const subject = subjectOf(e.ifname, e.address, table);

  if (!onLinkAddress) {
    b.pre.push({
      kind: 'add-address', ifname: e.ifname, address: e.address,
      ...(e.broadcast ? { broadcast: e.broadcast } : {}),
      // The kernel would add a prefix route to main that we would only delete again.
      ...(!nm && !fallback ? { noprefixroute: true } : {}),
      ...(e.preferredLifetime !== undefined ? { preferredLifetime: e.preferredLifetime } : {}),
      ...(e.validLifetime !== undefined ? { validLifetime: e.validLifetime } : {}),
      subject, reason: `${e.source} lease: put the address on the interface${note}`,
    });
  } else if (e.manageAddress && e.validLifetime !== undefined) {
    // A renewed lease (dhclient RENEW, RENEW6, a repeated BOUND): the address
    // is there, its lifetimes count down from the old lease. dhclient-script
    // refreshes them (`ip addr change … valid_lft`), so do we; the flags stay
    // as they are (IPv6 would re-add a prefix route without noprefixroute).
    b.pre.push({
      kind: 'change-address', ifname: e.ifname, address: onLinkAddress.address,
      ...(onLinkAddress.flags.includes('noprefixroute') ? { noprefixroute: true } : {}),
      ...(e.preferredLifetime !== undefined ? { preferredLifetime: e.preferredLifetime } : {}),
      validLifetime: e.validLifetime,
      subject, reason: `${e.source} lease renewed: refresh the address lifetimes`,
    });
  }
  if (e.mtu !== undefined && f === 4) b.pre.push({ kind: 'set-mtu', ifname: e.ifname, mtu: e.mtu, subject, reason: 'MTU from the lease' });

  // Entries of the same (interface, address) under another table are stale;
  // so are entries of interfaces that no longer exist (a missed udev remove).
  for (const entry of idx.entries.values()) {
    if (entry.family !== f || entry.table === table) continue;
    if (entry.ifname === e.ifname && entry.address?.text === A.text) {
      b.removeEntry(entry, `stale table ${entry.table} of the same address`);
    } else if (entry.ifname !== undefined && !idx.links.has(entry.ifname)) {
      b.removeEntry(entry, `interface ${entry.ifname} is gone`, leaseOf(entry));
    }
  }

  // Main table: what the kernel and the caller put there for this address.
  const desiredMain = fallback && !nm ? desiredRoutes(e, TABLE_MAIN, link.ifindex, config.protocol, true) : [];
  const mainRoutes = idx.mainByDev.get(`${f}:${e.ifname}`) ?? [];
  // Our own fallback routes go whoever reports the address (the watcher's
  // take-over of an address a hook left degraded included); the others'
  // routes only for callers whose main we manage.
  {
    const gateways = new Set(e.gateways.map((g) => g.text));
    for (const r of mainRoutes) {
      if (r.type !== 1) continue;
      let reason: string | undefined;
      if (r.protocol === config.protocol) {
        if (r.prefsrc?.text === A.text && !desiredMain.some((s) => routeMatches(r, s))) {
          reason = fallback ? 'fallback route changed' : `leased table ${table} replaces the fallback in main`;
        }
      } else if (nm) {
        continue;
      } else if (r.protocol === PROTO_KERNEL && r.dst.text === P.text && (f === 6 || r.prefsrc?.text === A.text)) {
        if (note) reason = `the kernel's prefix route goes${note}`;
        else reason = fallback ? `fallback: prefix route with metric ${link.ifindex} (interface index) replaces the kernel's` : `prefix route moves to table ${table}`;
      } else if (r.dst.length === 0 && r.gateway && gateways.has(r.gateway.text)) {
        reason = fallback
          ? `fallback: default route with metric ${link.ifindex} (interface index) replaces ${e.source}'s`
          : `default route moves to table ${table}`;
      }
      if (reason) b.post.push({ kind: 'del-route', route: specOfRoute(r), subject, reason });
    }
  }

  const mainFrom = fallbackRule(config, A);
  const haveMainFrom = idx.fallbackRules.filter((r) => r.src?.network.text === A.text);
  if (fallback) {
    for (const s of desiredMain) {
      if (!mainRoutes.some((r) => routeMatches(r, s))) b.adds.push({ kind: 'add-route', route: s, subject, reason: `no table lease: fallback to main with metric = interface index (degraded)${note}` });
    }
    if (!haveMainFrom.some((r) => ruleKey(r) === ruleKey(mainFrom))) b.adds.push({ kind: 'add-rule', rule: mainFrom, subject, reason: `no table lease: traffic from the address looks up main, not the band (degraded)${note}` });
    for (const r of haveMainFrom) if (ruleKey(r) !== ruleKey(mainFrom)) b.dels.push({ kind: 'del-rule', rule: specOfRule(r), subject, reason: 'fallback rule moved' });
    if (b.removed.size) rerank(b, config, idx, f);
  } else {
    for (const r of haveMainFrom) b.dels.push({ kind: 'del-rule', rule: specOfRule(r), subject, reason: `leased table ${table} replaces the fallback in main` });
    planTable(b, config, idx, e, table, note);
  }
  planForwarding(b, state, idx, config, f, fallback ? undefined : { ifname: e.ifname, address: A, table });
  planSysctls(b, state, config, e.ifname, f, subject);
  return { changes: b.list(), table, degraded: fallback, released: b.released };
}

/** The address's own table: its routes and rules, and its place in the band. */
function planTable(b: Builder, config: Config, idx: StateIndex, e: AddressUp, table: number, note: string) {
  const f = e.address.address.family;
  const subject = subjectOf(e.ifname, e.address, table);
  const entry = idx.entries.get(tableKey(f, table));
  const existing = idx.routesByTable.get(tableKey(f, table)) ?? [];
  const want = desiredRoutes(withRaGateways(idx, e), table, defaultMetric(f), config.protocol, false);
  for (const r of entry?.routes ?? []) {
    if (!want.some((s) => routeMatches(r, s))) b.dels.push({ kind: 'del-route', route: specOfRoute(r), subject, reason: 'no longer part of the address configuration' });
  }
  for (const s of want) {
    if (existing.some((r) => routeMatches(r, s))) continue;
    const what = s.dst.length === 0 ? 'default route' : s.gateway ? 'route' : 'on-link prefix route';
    b.adds.push({ kind: 'add-route', route: s, subject, reason: `${what} for traffic leaving through ${e.ifname}` });
  }
  const rank = rerank(b, config, idx, f, { ifname: e.ifname, address: e.address.address, table })!;
  const wantRules = desiredRules(config, e.ifname, e.address, table, rank);
  const wantKeys = new Set(wantRules.map(ruleKey));
  const haveKeys = new Set<string>();
  for (const r of entry?.rules ?? []) {
    const k = ruleKey(r);
    if (wantKeys.has(k) && !haveKeys.has(k)) haveKeys.add(k);
    else b.dels.push({ kind: 'del-rule', rule: specOfRule(r), subject, reason: 'rule not part of this address any more' });
  }
  const why: Record<string, string> = {
    from: `replies and sockets bound to the address leave through its interface${note}`,
    oif: 'sockets bound to the device use its table',
    to: 'on-link destinations',
    band: `unbound and forwarded traffic, interface priority ${rank + 1}`,
  };
  for (const s of wantRules) {
    if (haveKeys.has(ruleKey(s))) continue;
    const which = s.src ? 'from' : s.oif ? 'oif' : s.dst ? 'to' : 'band';
    b.adds.push({ kind: 'add-rule', rule: s, subject, reason: why[which]! });
  }
}
