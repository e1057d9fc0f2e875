// Indexes kernel state once per plan (maps by table, by device), so the
// planner's cost grows with what exists, not with its square: one more
// address on a host with 500 rules costs one pass over them.

import type { Config } from '../config/schema.js';
import type { Family, IpAddress, IpPrefix } from '../net/address.js';
import { isForwardingRule, type ForwardingPrefs } from './forwarding-rules.js';
import { isFallbackRule, isMainSuppressRule } from '../state/rules.js';
import { TABLE_LOCAL, TABLE_MAIN, type KernelState, type Link, type Route, type Rule } from '../state/types.js';

/** Everything we hold for one leased table, rebuilt from our rules and routes. */
export interface Entry {
  family: Family;
  table: number;
  /** From the `oif I` rule, else from the device of our routes. */
  ifname?: string;
  /** From the `from A` rule, else from the preferred source of our routes. */
  address?: IpAddress;
  /** From the `to P` rule. */
  prefix?: IpPrefix;
  rules: Rule[];
  routes: Route[];
}

export interface StateIndex {
  links: Map<string, Link>;
  /** family:table → our entry (tables other than main/local referenced by our rules or routes). */
  entries: Map<string, Entry>;
  /** family:table → every route in that table. */
  routesByTable: Map<string, Route[]>;
  /** family:dev → routes in main through that device. */
  mainByDev: Map<string, Route[]>;
  /** Uplinks whose upstream is down (ranking.ts healthKey), from the daemon's health probes. */
  down?: ReadonlySet<string>;
  /** Our `lookup main suppress_prefixlength 0` rules, both families. */
  suppress: Rule[];
  /** Our `from A lookup main` rules (degraded addresses), both families. */
  fallbackRules: Rule[];
}

export const tableKey = (family: Family, table: number) => `${family}:${table}`;

/** Builds the index; `protocol` decides what is ours. */
export function indexState(state: KernelState, config: Pick<Config, 'protocol' | 'prefFrom' | 'prefOif'> & Partial<ForwardingPrefs>): StateIndex {
  const links = new Map(state.links.map((l) => [l.ifname, l]));
  const entries = new Map<string, Entry>();
  const routesByTable = new Map<string, Route[]>();
  const mainByDev = new Map<string, Route[]>();
  const suppress = state.rules.filter((r) => isMainSuppressRule(r, config.protocol));
  const fallbackRules = state.rules.filter((r) => isFallbackRule(r, config.protocol));
  const entryOf = (family: Family, table: number): Entry => {
    const key = tableKey(family, table);
    let e = entries.get(key);
    if (!e) entries.set(key, (e = { family, table, rules: [], routes: [] }));
    return e;
  };
  const push = <T>(map: Map<string, T[]>, key: string, value: T) => {
    const list = map.get(key);
    if (list) list.push(value);
    else map.set(key, [value]);
  };
  for (const r of state.routes) {
    push(routesByTable, tableKey(r.family, r.table), r);
    if (r.table === TABLE_MAIN && r.dev !== undefined) push(mainByDev, `${r.family}:${r.dev}`, r);
    if (r.protocol === config.protocol && r.table !== TABLE_MAIN && r.table !== TABLE_LOCAL) {
      const e = entryOf(r.family, r.table);
      e.routes.push(r);
      if (e.ifname === undefined && r.dev !== undefined) e.ifname = r.dev;
      if (e.address === undefined && r.prefsrc) e.address = r.prefsrc;
    }
  }
  for (const rule of state.rules) {
    if (rule.protocol !== config.protocol || rule.table === undefined || rule.foreignSelectors) continue;
    // Pins and fwmark rules name uplink tables but belong to no address (lib/plan/pins.ts).
    if (isForwardingRule(config, rule)) continue;
    if (rule.table === TABLE_MAIN || rule.table === TABLE_LOCAL) continue;
    const e = entryOf(rule.family, rule.table);
    e.rules.push(rule);
    // Rules describe the entry better than routes (routes vanish with the device).
    if (rule.oif !== undefined && !rule.src && !rule.dst && !rule.iif) e.ifname = rule.oif;
    if (rule.src && !rule.dst && !rule.iif && !rule.oif) e.address = rule.src.network;
    if (rule.dst && !rule.src && !rule.iif && !rule.oif) e.prefix = rule.dst;
  }
  return { links, entries, routesByTable, mainByDev, suppress, fallbackRules };
}
