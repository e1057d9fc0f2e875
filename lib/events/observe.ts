// Address and band events from what the kernel shows, not from who changed
// it: the watcher hands every state it reads here (after the daemon's own
// changes, a hook's that worked alone, a hand `ip addr add`), and the
// difference from the last one is the events. Pure: snapshot, then diff.
//
// The uplink carrying unbound traffic of a family is the first rule of the
// band whose link is up with carrier (a dead link's routes are ignored by
// the kernel, ignore_routes_with_linkdown, so traffic falls through).

import type { Config } from '../config/schema.js';
import type { Family } from '../net/address.js';
import { indexState } from '../plan/index.js';
import { isBandRule } from '../state/rules.js';
import type { KernelState } from '../state/types.js';
import type { MhrEvent } from './event.js';

export interface Managed {
  family: Family;
  ifname: string;
  address: string;
  table: number;
  rank?: number;
  /** Its link is up with carrier (not compared: a carrier change is the band's event). */
  up?: boolean;
}

export interface Snapshot {
  /** family|ifname|address → the address with its table. */
  managed: Map<string, Managed>;
  /** family|address of degraded addresses (a `from A lookup main` rule of ours) → ifname holding it, if any. */
  degraded: Map<string, string | undefined>;
  /** family → the uplink unbound traffic takes (managed key), absent when none. */
  top: Map<Family, string>;
}

type Prefs = Pick<Config, 'protocol' | 'prefFrom' | 'prefOif' | 'prefDefault' | 'tableMin' | 'tableMax'>;
export const managedKey = (family: Family, ifname: string, address: string) => `${family}|${ifname}|${address}`;

export function snapshot(state: KernelState, config: Prefs): Snapshot {
  const index = indexState(state, config);
  const bandEnd = config.prefDefault + (config.tableMax - config.tableMin) + 1;
  const managed = new Map<string, Managed>();
  for (const e of index.entries.values()) {
    if (!e.ifname || !e.address) continue;
    const band = e.rules.find((r) => isBandRule(r) && r.priority >= config.prefDefault && r.priority < bandEnd);
    const link = index.links.get(e.ifname);
    const m: Managed = { family: e.family, ifname: e.ifname, address: e.address.text, table: e.table, ...(band ? { rank: band.priority - config.prefDefault } : {}), up: !!link?.up && !!link.carrier };
    managed.set(managedKey(m.family, m.ifname, m.address), m);
  }
  const holder = new Map<string, string>();
  for (const l of state.links) for (const a of l.addresses) holder.set(`${a.address.address.family}|${a.address.address.text}`, l.ifname);
  const degraded = new Map<string, string | undefined>();
  for (const r of index.fallbackRules) if (r.src) degraded.set(`${r.family}|${r.src.network.text}`, holder.get(`${r.family}|${r.src.network.text}`));
  const top = new Map<Family, string>();
  for (const family of [4, 6] as const) {
    let best: [string, number] | undefined;
    for (const [key, m] of managed) {
      if (m.family !== family || m.rank === undefined || !m.up) continue;
      if (!best || m.rank < best[1]) best = [key, m.rank];
    }
    if (best) top.set(family, best[0]);
  }
  return { managed, degraded, top };
}

type Partial = Omit<MhrEvent, 'time'>;
const fields = (m: Managed): Omit<Partial, 'type' | 'reason'> => ({ iface: m.ifname, family: m.family, address: m.address, table: m.table, ...(m.rank !== undefined ? { rank: m.rank } : {}) });

/**
 * The events between two snapshots. `adopted` holds the managed keys the
 * watcher adopted since `before` (their configured event says so).
 */
export function diff(before: Snapshot, after: Snapshot, adopted: ReadonlySet<string> = new Set()): Partial[] {
  const out: Partial[] = [];
  for (const [key, m] of before.managed) {
    const now = after.managed.get(key);
    if (!now) out.push({ type: 'address-removed', ...fields(m), reason: `table ${m.table} and its rules removed` });
    else if (now.table !== m.table) out.push({ type: 'address-configured', ...fields(now), reason: `moved from table ${m.table} to table ${now.table}` });
  }
  for (const [key, m] of after.managed) {
    if (before.managed.has(key)) continue;
    out.push(adopted.has(key)
      ? { type: 'address-adopted', ...fields(m), reason: 'no hook reported the address: the daemon adopted it' }
      : { type: 'address-configured', ...fields(m), reason: `routed through table ${m.table}` });
  }
  for (const [key, ifname] of after.degraded) {
    if (before.degraded.has(key)) continue;
    const [family, address] = key.split('|') as [string, string];
    out.push({ type: 'address-degraded', ...(ifname ? { iface: ifname } : {}), family: Number(family) as Family, address, reason: 'no table lease: the address uses main\'s routes until one is free' });
  }
  for (const family of [4, 6] as const) {
    const was = before.top.get(family);
    const is = after.top.get(family);
    if (was === is) continue;
    const from = was ? (before.managed.get(was) ?? after.managed.get(was))?.ifname : undefined;
    const m = is ? after.managed.get(is) : undefined;
    out.push(m
      ? { type: 'uplink-changed', ...fields(m), reason: `unbound IPv${family} traffic now via ${m.ifname}${from ? ` (was ${from})` : ''}` }
      : { type: 'uplink-changed', family, reason: `no uplink carries unbound IPv${family} traffic${from ? ` (was ${from})` : ''}` });
  }
  return out;
}
