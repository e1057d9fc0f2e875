// What a managed address needs (the routing layout of docs/routing.md), as rule and
// route specs, and how a spec compares with what the kernel shows:
//     from A lookup T        pref rule_pref_from (10000)
//     oif I lookup T         pref rule_pref_oif  (15000)  sockets bound to I
//     to P lookup T          pref rule_pref_to   (20000)  (not for /32, /128, /0)
//     from all lookup T      pref rule_pref_default + rank (31000…)
// (and per family, while it has a table, `lookup main suppress_prefixlength 0`
// at rule_pref_main: ranking.ts). Table T: the on-link prefix route, one default route per gateway, the
// routes the address came with.

import type { Config } from '../config/schema.js';
import { hostPrefix, isLinkLocal, parsePrefix, prefixContains, type Family, type IpAddress, type IpInterfaceAddress, type IpPrefix } from '../net/address.js';
import { PROTO_KERNEL, SCOPE_LINK, TABLE_MAIN, type Route, type Rule } from '../state/types.js';
import type { RouteSpec, RuleSpec } from './change.js';
import type { AddressUp } from './event.js';
import type { StateIndex } from './index.js';
import { raGatewaysIn } from './ra.js';

/** Address length of a family: a prefix this long is a host address. */
export const bits = (f: Family) => (f === 4 ? 32 : 128);
/** The metric of a table's first default route, as ifupdown and the kernel give it. */
export const defaultMetric = (f: Family) => (f === 4 ? 0 : 1024);
const defaultPrefix = (f: Family) => parsePrefix(f === 4 ? '0.0.0.0/0' : '::/0', f);

/**
 * The address as it is routed. A prefix of length 0 (DHCP netmask 0.0.0.0,
 * IPv6 prefix length 0) covers every destination: as a `to` rule (before
 * main) or an on-link route it would send all traffic out of this one
 * uplink. dhclient-script only adds it to main, where longer prefixes still
 * win; here it counts as the host address (/32, /128): `from`, `oif` and
 * band rules and defaults via its gateways (onlink), nothing covering all.
 */
export function asRouted(a: IpInterfaceAddress): IpInterfaceAddress {
  return a.prefix.length === 0 ? { address: a.address, prefix: hostPrefix(a.address) } : a;
}

/** Why a /0 is routed as a host address, for the log ('' for any other prefix). */
export const wholePrefixNote = (a: IpInterfaceAddress) =>
  a.prefix.length === 0 ? ` (prefix /0 taken as /${bits(a.address.family)}: a /0 would send every destination out of this uplink)` : '';

/** True when the kernel route is exactly the spec (type unicast). */
export function routeMatches(r: Route, s: RouteSpec): boolean {
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

/** A rule's identity: its selectors and table. */
export const ruleKey = (r: Rule | RuleSpec) =>
  [r.priority, r.src?.text, r.dst?.text, r.iif, r.oif, r.fwmark && `${r.fwmark.value}/${r.fwmark.mask}`, r.action ?? r.table, r.suppressPrefixLength].join('|');

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

/** The spec that deletes exactly this rule. */
export function specOfRule(r: Rule): RuleSpec {
  return {
    family: r.family,
    priority: r.priority,
    ...(r.src ? { src: r.src } : {}),
    ...(r.dst ? { dst: r.dst } : {}),
    ...(r.iif !== undefined ? { iif: r.iif } : {}),
    ...(r.oif !== undefined ? { oif: r.oif } : {}),
    ...(r.fwmark ? { fwmark: r.fwmark } : {}),
    ...(r.action === 'unreachable' ? { action: 'unreachable' as const } : {}),
    table: r.table ?? 0,
    ...(r.suppressPrefixLength !== undefined ? { suppressPrefixLength: r.suppressPrefixLength } : {}),
    protocol: r.protocol,
  };
}

/** The routes that let address A leave through I, in table `table` with base metric. */
export function desiredRoutes(e: AddressUp, table: number, metric: number, protocol: number, fallback: boolean): RouteSpec[] {
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
export function withRaGateways(idx: StateIndex, e: AddressUp): AddressUp {
  if (e.address.address.family !== 6 || e.gateways.length) return e;
  const gateways = raGatewaysIn(idx.mainByDev.get(`6:${e.ifname}`) ?? []);
  return gateways.length ? { ...e, gateways } : e;
}

/**
 * The rule of a degraded address (no table): traffic from A looks main up
 * whole (its fallback routes), where the band would send it out of another
 * uplink with A as source.
 */
export const fallbackRule = (config: Config, A: IpAddress): RuleSpec =>
  ({ family: A.family, priority: config.prefFrom, src: hostPrefix(A), table: TABLE_MAIN, protocol: config.protocol });

/** The band rule of table `table` at `rank`: unbound local and forwarded traffic. */
export const bandRule = (config: Config, family: Family, table: number, rank: number): RuleSpec =>
  ({ family, priority: config.prefDefault + rank, table, protocol: config.protocol });

/** The four rules (three for a host address) of address `a` on `ifname`, with its rank in the band. */
export function desiredRules(config: Config, ifname: string, a: IpInterfaceAddress, table: number, rank: number): RuleSpec[] {
  const f = a.address.family;
  const base = { family: f, table, protocol: config.protocol };
  const rules: RuleSpec[] = [
    { ...base, priority: config.prefFrom, src: hostPrefix(a.address) },
    { ...base, priority: config.prefOif, oif: ifname },
  ];
  if (a.prefix.length < bits(f)) rules.push({ ...base, priority: config.prefTo, dst: a.prefix });
  rules.push(bandRule(config, f, table, rank));
  return rules;
}

/**
 * The kernel's prefix route for A/P on `dev`, to put back in main (`main`:
 * its unicast routes as they will be), or undefined for a host address or
 * when main already has a route to P through `dev`, whatever its protocol
 * (one put back by hand serves as well; adding another fails with "File
 * exists"). IPv4 refuses a second route to P with the same metric through
 * any device (two modems on one prefix): that one gets the next free metric.
 */
export function kernelPrefixRoute(main: readonly Route[], dev: string, A: IpAddress, P: IpPrefix): RouteSpec | undefined {
  const f = A.family;
  if (P.length >= bits(f) || main.some((r) => r.family === f && r.dst.text === P.text && r.dev === dev)) return undefined;
  if (f === 6) return { family: 6, table: TABLE_MAIN, dst: P, dev, metric: 256, protocol: PROTO_KERNEL };
  let metric = 0;
  while (main.some((r) => r.family === 4 && r.dst.text === P.text && r.metric === metric)) metric++;
  return { family: 4, table: TABLE_MAIN, dst: P, dev, scope: SCOPE_LINK, prefsrc: A, metric, protocol: PROTO_KERNEL };
}
