// The pure planner: (kernel state, event, config, leased table) → the exact,
// ordered changes that make the routing layout of DESIGN.md true, each with a
// reason. Nothing here runs a command or reads a file, so it is tested with
// canned state; the same function serves a real run and --dry-run.
//
// Decisions (see also README):
// - Ownership: every rule and route we add carries `protocol config.protocol`
//   (201 by default); we delete only rules/routes carrying it, plus the
//   kernel's prefix route and the caller's default route in main for the
//   address being managed (never under NetworkManager).
// - Rules per address A (prefix P, interface I, table T):
//     from A lookup T        pref rule_pref_from (10000)
//     oif I lookup T         pref rule_pref_oif  (15000)  sockets bound to I
//     to P lookup T          pref rule_pref_to   (20000)  (not for /32, /128)
//     iif lo lookup T        pref rule_pref_default + rank (91000…)
//   The rank is dense per family over every managed address, ordered by
//   interface_priority, then natural name order, then address value; each
//   event re-converges the whole band, so it never depends on bring-up order.
// - Fallback (table 0): routes in main with metric = ifindex and our
//   protocol (that protocol is how `status` sees "degraded"); no rules.
//   Under NetworkManager nothing is added to main: its metrics stand.
// - Sysctls: ignore_routes_with_linkdown=1 per managed family; rp_filter=2 on
//   the interface when loose_rp_filter and the effective value max(all, I)
//   is strict (1). `all` is never touched (host-wide). Old values are saved
//   and restored when the interface holds no managed address any more.

import type { Config } from '../config/schema.js';
import { hostPrefix, isLinkLocal, prefixContains, type Family, type IpAddress, type IpInterfaceAddress, type IpPrefix, parsePrefix } from '../net/address.js';
import { managedSysctlKeys, RP_FILTER_ALL } from '../state/sysctl.js';
import { PROTO_KERNEL, SCOPE_LINK, TABLE_MAIN, type KernelState, type LinkAddress, type Route, type Rule } from '../state/types.js';
import { raGatewaysIn } from './ra.js';
import { isIgnored } from './ignore.js';
import type { Change, Plan, RouteSpec, RuleSpec, Subject } from './change.js';
import type { AddressDown, AddressUp, InterfaceGone, RoutingEvent } from './event.js';
import { indexState, tableKey, type Entry, type StateIndex } from './index.js';
import { rankTables } from './order.js';

export interface PlanInput {
  state: KernelState;
  event: RoutingEvent;
  config: Config;
  /** Table leased for the event's address; 0 = no lease (fallback to main). Ignored for down events. */
  table: number;
}

const bits = (f: Family) => (f === 4 ? 32 : 128);
const defaultMetric = (f: Family) => (f === 4 ? 0 : 1024);
const defaultPrefix = (f: Family) => parsePrefix(f === 4 ? '0.0.0.0/0' : '::/0', f);

/** True when the interface is never managed (config ignore_interfaces). */
export { isIgnored };

function routeMatches(r: Route, s: RouteSpec): boolean {
  return (
    r.type === 1 &&
    r.table === s.table &&
    r.dst.text === s.dst.text &&
    r.metric === s.metric &&
    r.dev === s.dev &&
    r.gateway?.text === s.gateway?.text &&
    r.prefsrc?.text === s.prefsrc?.text &&
    r.protocol === s.protocol &&
    (s.scope === undefined || r.scope === s.scope)
  );
}

const ruleKey = (r: Rule | RuleSpec) =>
  [r.priority, r.src?.text, r.dst?.text, r.iif, r.oif, r.table].join('|');

/** The spec that deletes exactly this route. */
export function specOfRoute(r: Route): RouteSpec {
  return {
    family: r.family,
    table: r.table,
    dst: r.dst,
    dev: r.dev ?? '',
    ...(r.gateway ? { gateway: r.gateway } : {}),
    ...(r.prefsrc ? { prefsrc: r.prefsrc } : {}),
    ...(r.scope === SCOPE_LINK ? { scope: SCOPE_LINK } : {}),
    metric: r.metric,
    protocol: r.protocol,
    ...(r.flags.includes('onlink') ? { onlink: true } : {}),
  };
}

export function specOfRule(r: Rule): RuleSpec {
  return {
    family: r.family,
    priority: r.priority,
    ...(r.src ? { src: r.src } : {}),
    ...(r.dst ? { dst: r.dst } : {}),
    ...(r.iif !== undefined ? { iif: r.iif } : {}),
    ...(r.oif !== undefined ? { oif: r.oif } : {}),
    table: r.table!,
    protocol: r.protocol,
  };
}

/** The routes that let address A leave through I, in table `table` with base metric. */
function desiredRoutes(e: AddressUp, table: number, metric: number, protocol: number, fallback: boolean): RouteSpec[] {
  const f = e.address.address.family;
  const A = e.address.address;
  const P = e.address.prefix;
  const out: RouteSpec[] = [];
  const seen = new Set<string>();
  const add = (s: RouteSpec) => {
    // Two IPv4 routes with one destination and metric collide (EEXIST).
    const key = `${s.dst.text}|${s.metric}${f === 6 ? `|${s.gateway?.text}` : ''}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(s);
  };
  const base = { family: f, table, dev: e.ifname, prefsrc: A, protocol };
  const onlink = (g: IpAddress) => !prefixContains(P, g) && !isLinkLocal(g);
  if (P.length < bits(f)) add({ ...base, dst: P, metric, ...(f === 4 ? { scope: SCOPE_LINK } : {}) });
  const gateways = fallback ? e.gateways.slice(0, 1) : e.gateways;
  gateways.forEach((g, i) =>
    add({ ...base, dst: defaultPrefix(f), gateway: g, metric: metric + (fallback ? 0 : i), ...(onlink(g) ? { onlink: true } : {}) }),
  );
  for (const r of e.routes) {
    if (r.destination.network.family !== f) continue;
    add({
      ...base,
      dst: r.destination,
      metric: fallback ? metric : (r.metric ?? metric),
      ...(r.gateway ? { gateway: r.gateway, ...(onlink(r.gateway) ? { onlink: true } : {}) } : f === 4 ? { scope: SCOPE_LINK } : {}),
    });
  }
  return out;
}

/**
 * An IPv6 address that came without gateways (DHCPv6: the gateway comes from
 * router advertisements; a static inet6 stanza without one) gets the kernel's
 * RA-learned default routes on its interface (main, `proto ra`), in the
 * order of their metric, as its table's gateways. Main keeps the kernel's
 * routes (the kernel owns and refreshes them). The table reflects the RAs as
 * they are when the event is planned: an event planned again after the RAs
 * changed (the kernel watcher) brings it up to date.
 */
function withRaGateways(idx: StateIndex, e: AddressUp): AddressUp {
  if (e.address.address.family !== 6 || e.gateways.length) return e;
  const gateways = raGatewaysIn(idx.mainByDev.get(`6:${e.ifname}`) ?? []);
  return gateways.length ? { ...e, gateways } : e;
}

function desiredRules(config: Config, f: Family, ifname: string, a: IpInterfaceAddress, table: number, rank: number): RuleSpec[] {
  const base = { family: f, table, protocol: config.protocol };
  const rules: RuleSpec[] = [
    { ...base, priority: config.prefFrom, src: hostPrefix(a.address) },
    { ...base, priority: config.prefOif, oif: ifname },
  ];
  if (a.prefix.length < bits(f)) rules.push({ ...base, priority: config.prefTo, dst: a.prefix });
  rules.push({ ...base, priority: config.prefDefault + rank, iif: 'lo' });
  return rules;
}

/** Collects changes; deletions and additions are kept apart so deletions run first. */
export class Builder {
  readonly pre: Change[] = [];
  readonly dels: Change[] = [];
  readonly adds: Change[] = [];
  readonly post: Change[] = [];
  readonly last: Change[] = [];
  list(): Change[] {
    return [...this.pre, ...this.dels, ...this.adds, ...this.post, ...this.last];
  }
}

function subjectOf(ifname: string, address: IpInterfaceAddress | IpAddress | undefined, table: number): Subject {
  const text = address === undefined ? undefined : 'prefix' in address ? `${address.address.text}/${address.prefix.length}` : address.text;
  return { ifname, ...(text ? { address: text } : {}), table };
}

/** Removes everything of one entry: its rules and our routes in its table. */
function removeEntry(b: Builder, entry: Entry, reason: string) {
  const subject = subjectOf(entry.ifname ?? '?', entry.address, entry.table);
  for (const r of entry.rules) b.dels.push({ kind: 'del-rule', rule: specOfRule(r), subject, reason });
  for (const r of entry.routes) b.dels.push({ kind: 'del-route', route: specOfRoute(r), subject, reason });
}

/** Re-converges the `iif lo` band of one family over the entries that remain. */
function rerank(
  b: Builder,
  config: Config,
  idx: StateIndex,
  family: Family,
  removed: Set<string>,
  target?: { ifname: string; address: IpAddress; table: number },
): number | undefined {
  const items: { ifname: string; address: bigint; table: number; entry?: Entry }[] = [];
  for (const e of idx.entries.values()) {
    if (e.family !== family || removed.has(tableKey(family, e.table))) continue;
    if (target && e.table === target.table) continue;
    items.push({ ifname: e.ifname ?? '', address: e.address?.value ?? 0n, table: e.table, entry: e });
  }
  if (target) items.push({ ifname: target.ifname, address: target.address.value, table: target.table });
  const ranks = rankTables(config.interfacePriority, items);
  for (const item of items) {
    if (!item.entry) continue;
    const want = config.prefDefault + ranks.get(item.table)!;
    const subject = subjectOf(item.ifname, item.entry.address, item.table);
    const iifRules = item.entry.rules.filter((r) => r.iif === 'lo' && !r.src && !r.dst && !r.oif);
    if (iifRules.length === 1 && iifRules[0]!.priority === want) continue;
    const reason = `unbound traffic: ${item.ifname} is number ${ranks.get(item.table)! + 1} in interface priority`;
    for (const r of iifRules) b.dels.push({ kind: 'del-rule', rule: specOfRule(r), subject, reason });
    b.adds.push({
      kind: 'add-rule',
      rule: { family, priority: want, iif: 'lo', table: item.table, protocol: config.protocol },
      subject,
      reason,
    });
  }
  return target ? ranks.get(target.table) : undefined;
}

/** Sets ignore_routes_with_linkdown and (when strict) rp_filter on a managed interface. */
function planSysctls(b: Builder, state: KernelState, config: Config, ifname: string, family: Family, subject: Subject) {
  const sys = state.sysctls[ifname];
  if (!sys) return;
  for (const key of managedSysctlKeys(ifname, [family], config.looseRpFilter)) {
    const current = sys.current[key] ?? '';
    if (current === '') continue; // not there (IPv6 disabled, interface gone)
    let want = '1';
    let reason = 'routes through a link without carrier are not used (failover)';
    if (key.endsWith('/rp_filter')) {
      const all = Number(sys.current[RP_FILTER_ALL] ?? '0');
      // The kernel uses max(all, interface): only strict (1) needs loosening.
      if (Math.max(all, Number(current)) !== 1) continue;
      want = '2';
      reason = 'strict rp_filter drops replies when two interfaces share an address: loose (2)';
    }
    if (current === want) continue;
    b.post.push({ kind: 'set-sysctl', key, ifname, value: want, previous: current, save: !(key in sys.saved), subject, reason });
  }
}

/** Restores saved sysctls of an interface that holds no managed address any more. */
export function planRestore(b: Builder, state: KernelState, ifname: string, gone: boolean) {
  const sys = state.sysctls[ifname];
  if (!sys || Object.keys(sys.saved).length === 0) return;
  const subject: Subject = { ifname, table: 0 };
  if (!gone) {
    for (const [key, value] of Object.entries(sys.saved)) {
      const current = sys.current[key] ?? '';
      if (current === '' || current === value) continue;
      b.last.push({ kind: 'set-sysctl', key, ifname, value, previous: current, save: false, subject, reason: 'interface no longer managed: restore the value it had' });
    }
  }
  b.last.push({ kind: 'forget-sysctls', ifname, subject, reason: gone ? 'interface gone' : 'interface no longer managed' });
}

/** True when, after removing `removed`, the interface still holds something of ours. */
function stillManaged(idx: StateIndex, config: Config, ifname: string, removed: Set<string>, removedMain: Set<Route>): boolean {
  for (const e of idx.entries.values()) {
    if (e.ifname === ifname && !removed.has(tableKey(e.family, e.table))) return true;
  }
  for (const f of [4, 6] as const) {
    for (const r of idx.mainByDev.get(`${f}:${ifname}`) ?? []) {
      if (r.protocol === config.protocol && !removedMain.has(r)) return true;
    }
  }
  return false;
}

/** A stale lease (staleLeases): the address on the interface and everything of ours for it. */
interface StaleLease {
  on: LinkAddress;
  /** Our tables whose rules (or routes) name the address on the interface. */
  entries: Entry[];
  /** Fallback routes of ours in main with the address as source (no lease). */
  main: Route[];
}

/**
 * The stale leases of an event with `soleLease` (dhclient, IPv4): the
 * addresses on the event's interface, of its family, other than `keep`, that
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
function staleLeases(idx: StateIndex, config: Config, ifname: string, family: Family, keep: IpAddress): StaleLease[] {
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
  return out.sort((a, b) => Number(b.on.flags.includes('secondary')) - Number(a.on.flags.includes('secondary')));
}

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
 * Before an address-up with `soleLease`: removes the stale leases (their
 * rules and routes, then the addresses) and returns the changes with the
 * state the kernel is in afterwards, which the address-up is planned on.
 * When the event's address is already on the interface as a secondary of a
 * stale primary of its prefix, it is deleted first and put back by the
 * address-up: the kernel would otherwise delete it with the primary.
 */
function sweepBeforeUp(state: KernelState, idx: StateIndex, config: Config, e: AddressUp): { changes: Change[]; released: Plan['released']; state: KernelState } | undefined {
  const A = e.address.address;
  const stale = staleLeases(idx, config, e.ifname, A.family, A);
  if (!stale.length) return undefined;
  const b = new Builder();
  const released: Plan['released'] = [];
  const gone = { rules: new Set<Rule>(), routes: new Set<Route>(), addresses: new Set<string>() };
  const mine = idx.links.get(e.ifname)!.addresses.find((a) => a.address.address.text === A.text);
  if (mine?.flags.includes('secondary') && stale.some((s) => !s.on.flags.includes('secondary') && s.on.address.prefix.text === mine.address.prefix.text)) {
    const table = [...idx.entries.values()].find((x) => x.family === A.family && x.ifname === e.ifname && x.address?.text === A.text)?.table ?? 0;
    b.last.push(delAddress(e.ifname, mine, subjectOf(e.ifname, mine.address, table), `a secondary of stale lease ${stale[0]!.on.address.address.text}: deleted and put back, or the kernel deletes it with that address`));
    gone.addresses.add(A.text);
  }
  for (const s of stale) {
    const table = s.entries[0]?.table ?? 0;
    const subject = subjectOf(e.ifname, s.on.address, table);
    const reason = `stale ${e.source} lease: ${e.ifname}'s lease is now ${A.text}`;
    for (const entry of s.entries) {
      removeEntry(b, entry, reason);
      entry.rules.forEach((r) => gone.rules.add(r));
      entry.routes.forEach((r) => gone.routes.add(r));
      released.push({ ifname: e.ifname, address: s.on.address, table: entry.table });
    }
    for (const r of s.main) {
      b.dels.push({ kind: 'del-route', route: specOfRoute(r), subject, reason: `${reason}: remove its fallback route` });
      gone.routes.add(r);
    }
    b.last.push(delAddress(e.ifname, s.on, subject, reason));
    gone.addresses.add(s.on.address.address.text);
  }
  // What the kernel holds afterwards: deleting an address also deletes the
  // routes that have it as source, in every table.
  const after: KernelState = {
    ...state,
    links: state.links.map((l) => (l.ifname === e.ifname ? { ...l, addresses: l.addresses.filter((a) => !gone.addresses.has(a.address.address.text)) } : l)),
    routes: state.routes.filter((r) => !gone.routes.has(r) && !(r.family === A.family && r.prefsrc && gone.addresses.has(r.prefsrc.text))),
    rules: state.rules.filter((r) => !gone.rules.has(r)),
  };
  return { changes: b.list(), released, state: after };
}

function planAddressUp(state: KernelState, idx: StateIndex, e: AddressUp, config: Config, leased: number): Plan {
  const f = e.address.address.family;
  const A = e.address.address;
  const P = e.address.prefix;
  const none = (skipped: string): Plan => ({ changes: [], table: 0, degraded: false, skipped, released: [] });
  if (isIgnored(config, e.ifname)) return none(`interface ${e.ifname} matches ignore_interfaces`);
  if (isLinkLocal(A)) return none(`link-local address ${A.text} is not managed`);
  const link = idx.links.get(e.ifname);
  if (!link) return none(`interface ${e.ifname} does not exist`);
  const onLink = link.addresses.some((a) => a.address.address.text === A.text);
  if (!onLink && !e.manageAddress) return none(`address ${A.text} is not on ${e.ifname}`);
  if (e.soleLease) {
    const sweep = sweepBeforeUp(state, idx, config, e);
    if (sweep) {
      const rest = planAddressUp(sweep.state, indexState(sweep.state, config), { ...e, soleLease: false }, config, leased);
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

  if (!onLink) {
    b.pre.push({
      kind: 'add-address', ifname: e.ifname, address: e.address,
      ...(e.broadcast ? { broadcast: e.broadcast } : {}),
      // The kernel would add a prefix route to main that we would only delete again.
      ...(!nm && !fallback ? { noprefixroute: true } : {}),
      ...(e.preferredLifetime !== undefined ? { preferredLifetime: e.preferredLifetime } : {}),
      ...(e.validLifetime !== undefined ? { validLifetime: e.validLifetime } : {}),
      subject, reason: `${e.source} lease: put the address on the interface`,
    });
  }
  const onLinkAddress = link.addresses.find((a) => a.address.address.text === A.text);
  if (onLinkAddress && e.manageAddress && e.validLifetime !== undefined) {
    // A renewed lease (dhclient RENEW, RENEW6, a repeated BOUND): the address
    // is there, its lifetimes count down from the old lease. dhclient-script
    // refreshes them (`ip addr change … valid_lft`), so do we; the flags stay
    // as they are (IPv6 would re-add a prefix route without noprefixroute).
    b.pre.push({
      kind: 'change-address', ifname: e.ifname, address: e.address,
      ...(onLinkAddress.flags.includes('noprefixroute') ? { noprefixroute: true } : {}),
      ...(e.preferredLifetime !== undefined ? { preferredLifetime: e.preferredLifetime } : {}),
      validLifetime: e.validLifetime,
      subject, reason: `${e.source} lease renewed: refresh the address lifetimes`,
    });
  }
  if (e.mtu !== undefined && f === 4) b.pre.push({ kind: 'set-mtu', ifname: e.ifname, mtu: e.mtu, subject, reason: 'MTU from the lease' });

  // Entries of the same (interface, address) under another table are stale;
  // so are entries of interfaces that no longer exist (a missed udev remove).
  const removed = new Set<string>();
  const released: Plan['released'] = [];
  for (const entry of idx.entries.values()) {
    if (entry.family !== f || entry.table === table) continue;
    if (entry.ifname === e.ifname && entry.address?.text === A.text) {
      removeEntry(b, entry, `stale table ${entry.table} of the same address`);
      removed.add(tableKey(f, entry.table));
    } else if (entry.ifname !== undefined && !idx.links.has(entry.ifname)) {
      removeEntry(b, entry, `interface ${entry.ifname} is gone`);
      removed.add(tableKey(f, entry.table));
      if (entry.address) {
        released.push({ ifname: entry.ifname, address: { address: entry.address, prefix: entry.prefix ?? hostPrefix(entry.address) }, table: entry.table });
      }
    }
  }

  // Main table: what the kernel and the caller put there for this address.
  const desiredMain = fallback && !nm ? desiredRoutes(e, TABLE_MAIN, link.ifindex, config.protocol, true) : [];
  if (!nm) {
    const gateways = new Set(e.gateways.map((g) => g.text));
    for (const r of idx.mainByDev.get(`${f}:${e.ifname}`) ?? []) {
      if (r.type !== 1) continue;
      let reason: string | undefined;
      if (r.protocol === config.protocol) {
        if (r.prefsrc?.text === A.text && !desiredMain.some((s) => routeMatches(r, s))) {
          reason = fallback ? 'fallback route changed' : `leased table ${table} replaces the fallback in main`;
        }
      } else if (r.protocol === PROTO_KERNEL && r.dst.text === P.text && (f === 6 || r.prefsrc?.text === A.text)) {
        reason = fallback
          ? `fallback: prefix route with metric ${link.ifindex} (interface index) replaces the kernel's`
          : `prefix route moves to table ${table}`;
      } else if (r.dst.length === 0 && r.gateway && gateways.has(r.gateway.text)) {
        reason = fallback
          ? `fallback: default route with metric ${link.ifindex} (interface index) replaces ${e.source}'s`
          : `default route moves to table ${table}`;
      }
      if (reason) b.post.push({ kind: 'del-route', route: specOfRoute(r), subject, reason });
    }
  }

  if (fallback) {
    for (const s of desiredMain) {
      const present = (idx.mainByDev.get(`${f}:${e.ifname}`) ?? []).some((r) => routeMatches(r, s));
      if (!present) b.adds.push({ kind: 'add-route', route: s, subject, reason: 'no table lease: fallback to main with metric = interface index (degraded)' });
    }
  } else {
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
    const rank = rerank(b, config, idx, f, removed, { ifname: e.ifname, address: A, table })!;
    const wantRules = desiredRules(config, f, e.ifname, e.address, table, rank);
    const wantKeys = new Set(wantRules.map(ruleKey));
    const haveKeys = new Set<string>();
    for (const r of entry?.rules ?? []) {
      const k = ruleKey(r);
      if (wantKeys.has(k) && !haveKeys.has(k)) haveKeys.add(k);
      else b.dels.push({ kind: 'del-rule', rule: specOfRule(r), subject, reason: 'rule not part of this address any more' });
    }
    const why: Record<string, string> = {
      from: 'replies and sockets bound to the address leave through its interface',
      oif: 'sockets bound to the device use its table',
      to: 'on-link destinations',
      iif: `unbound traffic, interface priority ${rank + 1}`,
    };
    for (const s of wantRules) {
      if (haveKeys.has(ruleKey(s))) continue;
      const which = s.src ? 'from' : s.oif ? 'oif' : s.dst ? 'to' : 'iif';
      b.adds.push({ kind: 'add-rule', rule: s, subject, reason: why[which]! });
    }
  }
  if (fallback && removed.size) rerank(b, config, idx, f, removed);
  planSysctls(b, state, config, e.ifname, f, subject);
  return { changes: b.list(), table, degraded: fallback, released };
}

function planAddressDown(state: KernelState, idx: StateIndex, e: AddressDown, config: Config): Plan {
  const f = e.address.address.family;
  const A = e.address.address;
  const b = new Builder();
  const removed = new Set<string>();
  const removedMain = new Set<Route>();
  const released: Plan['released'] = [];
  let table = 0;
  for (const entry of idx.entries.values()) {
    if (entry.family !== f || entry.ifname !== e.ifname || entry.address?.text !== A.text) continue;
    removeEntry(b, entry, 'address went down');
    removed.add(tableKey(f, entry.table));
    released.push({ ifname: e.ifname, address: e.address, table: entry.table });
    table = entry.table;
  }
  const subject = subjectOf(e.ifname, e.address, table);
  for (const r of idx.mainByDev.get(`${f}:${e.ifname}`) ?? []) {
    if (r.protocol === config.protocol && r.prefsrc?.text === A.text) {
      b.dels.push({ kind: 'del-route', route: specOfRoute(r), subject, reason: 'address went down: remove its fallback route' });
      removedMain.add(r);
    }
  }
  const link = idx.links.get(e.ifname);
  const on = link?.addresses.find((a) => a.address.address.text === A.text);
  const stays = !!on;
  if (stays && e.source !== 'NetworkManager' && e.address.prefix.length < bits(f) && (removed.size || removedMain.size)) {
    // Give the kernel its prefix route back: the address stays, so must on-link reachability.
    const spec: RouteSpec = f === 4
      ? { family: 4, table: TABLE_MAIN, dst: e.address.prefix, dev: e.ifname, scope: SCOPE_LINK, prefsrc: A, metric: 0, protocol: PROTO_KERNEL }
      : { family: 6, table: TABLE_MAIN, dst: e.address.prefix, dev: e.ifname, metric: 256, protocol: PROTO_KERNEL };
    const present = (idx.mainByDev.get(`${f}:${e.ifname}`) ?? []).some((r) => r.protocol === PROTO_KERNEL && r.dst.text === spec.dst.text);
    if (!present) b.adds.push({ kind: 'add-route', route: spec, subject, reason: 'address stays: restore the kernel prefix route in main' });
  }
  // The interface's only lease ended: the stale ones of ours go with it.
  const stale = e.soleLease ? staleLeases(idx, config, e.ifname, f, A) : [];
  for (const s of stale) {
    const sTable = s.entries[0]?.table ?? 0;
    const sSubject = subjectOf(e.ifname, s.on.address, sTable);
    const reason = `stale ${e.source} lease: ${e.ifname}'s lease ended`;
    for (const entry of s.entries) {
      removeEntry(b, entry, reason);
      removed.add(tableKey(f, entry.table));
      released.push({ ifname: e.ifname, address: s.on.address, table: entry.table });
    }
    for (const r of s.main) {
      b.dels.push({ kind: 'del-route', route: specOfRoute(r), subject: sSubject, reason: `${reason}: remove its fallback route` });
      removedMain.add(r);
    }
  }
  // Secondaries first: deleting a primary deletes its secondaries (promote_secondaries off).
  const deletions: [LinkAddress, Change][] = [];
  if (on && e.manageAddress) deletions.push([on, { kind: 'del-address', ifname: e.ifname, address: e.address, subject, reason: `${e.source}: address given up` }]);
  for (const s of stale) deletions.push([s.on, delAddress(e.ifname, s.on, subjectOf(e.ifname, s.on.address, s.entries[0]?.table ?? 0), `stale ${e.source} lease: ${e.ifname}'s lease ended`)]);
  const secondary = (a: LinkAddress) => Number(a.flags.includes('secondary'));
  b.last.push(...deletions.sort(([x], [y]) => secondary(y) - secondary(x)).map(([, c]) => c));
  if (removed.size) rerank(b, config, idx, f, removed);
  if (!stillManaged(idx, config, e.ifname, removed, removedMain)) planRestore(b, state, e.ifname, !link);
  return { changes: b.list(), table, degraded: false, released };
}

function planInterfaceGone(state: KernelState, idx: StateIndex, e: InterfaceGone, config: Config): Plan {
  const b = new Builder();
  const removed = new Set<string>();
  const released: Plan['released'] = [];
  for (const entry of idx.entries.values()) {
    if (entry.ifname !== e.ifname) continue;
    removeEntry(b, entry, 'interface gone');
    removed.add(tableKey(entry.family, entry.table));
    const prefix: IpPrefix | undefined = entry.prefix;
    if (entry.address) {
      released.push({ ifname: e.ifname, address: { address: entry.address, prefix: prefix ?? hostPrefix(entry.address) }, table: entry.table });
    }
  }
  const removedMain = new Set<Route>();
  for (const f of [4, 6] as const) {
    for (const r of idx.mainByDev.get(`${f}:${e.ifname}`) ?? []) {
      if (r.protocol !== config.protocol) continue;
      b.dels.push({ kind: 'del-route', route: specOfRoute(r), subject: subjectOf(e.ifname, r.prefsrc, 0), reason: 'interface gone: remove its fallback route' });
      removedMain.add(r);
    }
  }
  for (const f of [4, 6] as const) if ([...removed].some((k) => k.startsWith(`${f}:`))) rerank(b, config, idx, f, removed);
  const link = idx.links.get(e.ifname);
  if (!stillManaged(idx, config, e.ifname, removed, removedMain)) planRestore(b, state, e.ifname, !link);
  return { changes: b.list(), table: 0, degraded: false, released };
}

/** Plans the changes one event needs. Pure: same input, same plan. */
export function planEvent(input: PlanInput): Plan {
  const idx = indexState(input.state, input.config);
  switch (input.event.kind) {
    case 'address-up':
      return planAddressUp(input.state, idx, input.event, input.config, input.table);
    case 'address-down':
      return planAddressDown(input.state, idx, input.event, input.config);
    case 'interface-gone':
      return planInterfaceGone(input.state, idx, input.event, input.config);
  }
}
