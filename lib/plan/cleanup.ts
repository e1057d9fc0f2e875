// The plan of `multihomed-routing cleanup` (pure): everything of ours goes,
// and the host is left as it would be without the toolkit.
//
// - Every entry (a table our rules or routes name): its rules and our routes,
//   exactly like an interface-gone event, for every interface at once.
// - Our routes in main (the degraded fallback).
// - For each managed address still on its interface, what we had moved out of
//   main comes back, so the host keeps its connectivity after an uninstall:
//   the kernel's prefix route (`proto kernel`, metric 0; IPv6 256) unless main
//   already has a route to the prefix through the interface, and the table's
//   first default route (`proto boot`, as ifupdown and dhclient-script add it)
//   unless main already has a default through the interface (NetworkManager's,
//   the kernel's RA route). The defaults get metric = the interface's rank in
//   the band (IPv6: 1024 + rank), so their order is the order unbound
//   traffic had, and two uplinks never collide.
// - Our `lookup main suppress_prefixlength 0` rules (main decides alone
//   again) and `from A lookup main` rules of degraded addresses. Two interfaces with the same
//   IPv4 prefix: the second prefix route gets the next free metric (ip route
//   add would refuse a duplicate).
// - Saved sysctls of every interface (run_dir/sysctl) are restored and
//   forgotten (planRestore, like an interface that is no longer managed).
//
// - Our pinning and fwmark rules (lib/plan/pins.ts, fwmarks.ts), main's
//   suppress rules and the fallback rules of degraded addresses.
//
// Other rules with our protocol that the index does not own (foreign
// selectors such as `not`, other lookups of main/local) are not ours to
// delete by a partial match: they are reported, not removed.

import type { Config } from '../config/schema.js';
import { isLinkLocal, type Family } from '../net/address.js';
import { isBandRule } from '../state/rules.js';
import { PROTO_BOOT, TABLE_MAIN, type KernelState } from '../state/types.js';
import { Builder, subjectOf } from './builder.js';
import type { Change, RouteSpec, Subject } from './change.js';
import { isForwardingRule } from './forwarding-rules.js';
import { indexState, type Entry } from './index.js';
import { kernelPrefixRoute, specOfRoute, specOfRule } from './specs.js';
import { planRestore } from './sysctls.js';

/** What cleanup plans from. */
export interface CleanupInput {
  state: KernelState;
  config: Config;
  /** Interfaces with saved sysctls (run_dir/sysctl); their values are in state.sysctls. */
  savedSysctlInterfaces: readonly string[];
}

/** What cleanup does, and what it leaves alone. */
export interface CleanupPlan {
  changes: Change[];
  /** Entries removed, for releasing leases and records. */
  entries: { family: Family; table: number; ifname?: string; address?: string }[];
  /** Rules with our protocol left alone, as `ip rule` would print them (roughly). */
  untouched: string[];
}

const subjectOfEntry = (e: Entry): Subject => subjectOf(e.ifname ?? '?', e.address, e.table);

/** Plans the removal of everything of ours, restoring main and the saved sysctls. */
export function planCleanup(input: CleanupInput): CleanupPlan {
  const { state, config } = input;
  const idx = indexState(state, config);
  const b = new Builder();
  const entries: CleanupPlan['entries'] = [];

  for (const e of idx.entries.values()) {
    const subject = subjectOfEntry(e);
    for (const r of e.rules) b.dels.push({ kind: 'del-rule', rule: specOfRule(r), subject, reason: 'cleanup: remove every rule of ours' });
    for (const r of e.routes) b.dels.push({ kind: 'del-route', route: specOfRoute(r), subject, reason: 'cleanup: remove every route of ours' });
    entries.push({ family: e.family, table: e.table, ...(e.ifname ? { ifname: e.ifname } : {}), ...(e.address ? { address: e.address.text } : {}) });
  }
  for (const r of state.rules) {
    if (r.protocol !== config.protocol || !isForwardingRule(config, r)) continue;
    b.dels.push({ kind: 'del-rule', rule: specOfRule(r), subject: subjectOf(r.iif ?? '?', undefined, r.table ?? 0), reason: 'cleanup: remove our pinning and mark rules' });
  }
  for (const r of idx.fallbackRules) {
    b.dels.push({ kind: 'del-rule', rule: specOfRule(r), subject: subjectOf('all', r.src?.network, TABLE_MAIN), reason: 'cleanup: remove the fallback rule of a degraded address' });
  }
  for (const r of idx.suppress) {
    b.dels.push({ kind: 'del-rule', rule: specOfRule(r), subject: subjectOf('all', undefined, TABLE_MAIN), reason: 'cleanup: main decides alone again' });
  }
  for (const routes of idx.mainByDev.values()) {
    for (const r of routes) {
      if (r.protocol !== config.protocol) continue;
      b.removeMainRoute(r, subjectOf(r.dev ?? '?', r.prefsrc, 0), 'cleanup: remove our fallback route from main');
    }
  }

  // What main will hold after the deletions, to avoid duplicates when restoring.
  const main = state.routes.filter((r) => r.table === TABLE_MAIN && r.type === 1 && !b.removedMain.has(r));
  const taken = (f: Family, dst: string, metric: number) => main.some((r) => r.family === f && r.dst.text === dst && r.metric === metric);
  const add = (spec: RouteSpec, subject: Subject, reason: string) => {
    main.push({ family: spec.family, table: TABLE_MAIN, type: 1, dst: spec.dst, dev: spec.dev, protocol: spec.protocol, scope: spec.scope ?? 0, metric: spec.metric, flags: [], ...(spec.gateway ? { gateway: spec.gateway } : {}) });
    b.adds.push({ kind: 'add-route', route: spec, subject, reason });
  };

  // Ranks as the band has them (lower pref first), per family.
  const byPref = [...idx.entries.values()]
    .map((e) => ({ e, pref: Math.min(...e.rules.filter(isBandRule).map((r) => r.priority), Number.MAX_SAFE_INTEGER) }))
    .sort((x, y) => x.pref - y.pref || x.e.table - y.e.table);
  const rankOf = new Map<Entry, number>();
  for (const f of [4, 6] as const) byPref.filter((x) => x.e.family === f).forEach((x, i) => rankOf.set(x.e, i));

  for (const { e } of byPref) {
    if (!e.ifname || !e.address || isLinkLocal(e.address)) continue;
    const link = idx.links.get(e.ifname);
    const onLink = link?.addresses.find((a) => a.address.address.text === e.address!.text);
    if (!link || !onLink) continue;
    const f = e.family;
    const subject = subjectOfEntry(e);
    const P = e.prefix ?? onLink.address.prefix;
    const prefixRoute = kernelPrefixRoute(main, e.ifname, e.address, P);
    if (prefixRoute) add(prefixRoute, subject, 'cleanup: the address stays, so does its on-link prefix route in main');
    const gw = e.routes.filter((r) => r.dst.length === 0 && r.gateway).sort((x, y) => x.metric - y.metric)[0];
    if (gw?.gateway && !main.some((r) => r.family === f && r.dst.length === 0 && r.dev === e.ifname)) {
      const rank = rankOf.get(e) ?? 0;
      let metric = (f === 4 ? 0 : 1024) + rank;
      while (taken(f, gw.dst.text, metric)) metric++;
      add(
        { family: f, table: TABLE_MAIN, dst: gw.dst, gateway: gw.gateway, dev: e.ifname, metric, protocol: PROTO_BOOT, ...(gw.flags.includes('onlink') ? { onlink: true } : {}) },
        subject,
        `cleanup: the default route through ${e.ifname} goes back to main (metric ${metric}: its place in interface priority)`,
      );
    }
  }

  const sysctlIfnames = new Set([...input.savedSysctlInterfaces]);
  for (const ifname of [...sysctlIfnames].sort()) planRestore(b, state, ifname, !idx.links.has(ifname));

  const untouched = state.rules
    .filter((r) => r.protocol === config.protocol && !isForwardingRule(config, r) && !idx.suppress.includes(r) && !idx.fallbackRules.includes(r) && (r.table === undefined || r.foreignSelectors || r.table === TABLE_MAIN || r.table === 255))
    .map((r) => `-${r.family} pref ${r.priority}${r.src ? ` from ${r.src.text}` : ''}${r.table !== undefined ? ` lookup ${r.table}` : ''}`);
  return { changes: b.list(), entries, untouched };
}
