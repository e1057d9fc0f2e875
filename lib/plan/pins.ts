// Forwarded traffic pinned to uplinks (config `pin`, docs/forwarding.md): for
// pin i, in the order of the list, `iif X lookup T` (each interface matching
// the source pattern) or `from P lookup T` (a prefix of the family), one rule
// per managed uplink table the pin's targets match, in band order, each at
// its own priority from rule_pref_pin on; `strict` adds `unreachable` after
// them. A table whose routes are dead (no carrier: ignore_routes_with_linkdown)
// answers nothing, so the lookup falls through to the next pinned uplink, then
// to the band, or with `strict` to unreachable. Like the band, the rules are
// re-converged from what is managed by every event, so they never depend on
// bring-up order. Source interface patterns match the interfaces that exist
// when the event is planned.

import type { Config } from '../config/schema.js';
import type { Pin } from '../config/pins.js';
import type { Family, IpAddress } from '../net/address.js';
import { ifnameMatches } from '../net/ifname.js';
import type { KernelState, Rule } from '../state/types.js';
import { subjectOf, type Builder } from './builder.js';
import type { RuleSpec } from './change.js';
import { isPinPref, PIN_SPAN } from './forwarding-rules.js';
import { tableKey, type StateIndex } from './index.js';
import { compareNatural, rankTables, type Rankable } from './ranking.js';
import { ruleKey, specOfRule } from './specs.js';

/** A managed uplink table the plan keeps, with its place in the band. */
export interface Uplink {
  ifname: string;
  table: number;
  address?: IpAddress;
  rank: number;
}

/** The address being brought up, which the index does not hold yet. */
export interface UpTarget {
  ifname: string;
  address: IpAddress;
  table: number;
}

/** The uplink tables of a family after this plan, in band order. */
export function keptUplinks(b: Builder, config: Config, idx: StateIndex, family: Family, target?: UpTarget): Uplink[] {
  const items: (Rankable & { ip?: IpAddress })[] = [];
  for (const e of idx.entries.values()) {
    if (e.family !== family || b.removed.has(tableKey(family, e.table)) || e.ifname === undefined) continue;
    if (target && e.table === target.table) continue;
    items.push({ ifname: e.ifname, address: e.address?.value ?? 0n, table: e.table, ...(e.address ? { ip: e.address } : {}) });
  }
  if (target) items.push({ ifname: target.ifname, address: target.address.value, table: target.table, ip: target.address });
  const ranks = rankTables(config.interfacePriority, items);
  return items
    .map((i) => ({ ifname: i.ifname, table: i.table, rank: ranks.get(i.table)!, ...(i.ip ? { address: i.ip } : {}) }))
    .sort((x, y) => x.rank - y.rank);
}

/** The selectors one pin's source gives in a family: `iif X` per matching interface, or `from P`. */
function sourceSelectors(pin: Pin, family: Family, idx: StateIndex): Pick<RuleSpec, 'iif' | 'src'>[] {
  if (pin.source.kind === 'prefix') return pin.source.prefix.network.family === family ? [{ src: pin.source.prefix }] : [];
  const pattern = pin.source.pattern;
  return [...idx.links.keys()].filter((n) => ifnameMatches(pattern, n)).sort(compareNatural).map((iif) => ({ iif }));
}

/** The pinning rules a family should have, with why, in priority order. */
export function desiredPinRules(config: Config, idx: StateIndex, family: Family, uplinks: readonly Uplink[]): { rule: RuleSpec; pin: Pin; uplink?: Uplink }[] {
  const out: { rule: RuleSpec; pin: Pin; uplink?: Uplink }[] = [];
  let pref = config.prefPin;
  for (const pin of config.pins) {
    const targets = uplinks.filter((u) => pin.targets.some((t) => ifnameMatches(t, u.ifname)));
    for (const sel of sourceSelectors(pin, family, idx)) {
      for (const u of targets) out.push({ rule: { family, priority: pref++, ...sel, table: u.table, protocol: config.protocol }, pin, uplink: u });
      if (pin.strict) out.push({ rule: { family, priority: pref++, ...sel, table: 0, action: 'unreachable', protocol: config.protocol }, pin });
    }
  }
  // Beyond the span the rules would reach the band's priorities.
  return out.filter((d) => d.rule.priority < config.prefPin + PIN_SPAN);
}

/** Our pinning rules in the kernel (a family's). */
export function pinRulesIn(state: KernelState, config: Config, family: Family): Rule[] {
  return state.rules.filter((r) => r.family === family && r.protocol === config.protocol && !r.fwmark && isPinPref(config, r.priority));
}

/** Re-converges the pins of one family over the uplinks this plan keeps. */
export function planForwarding(b: Builder, state: KernelState, idx: StateIndex, config: Config, family: Family, target?: UpTarget): void {
  const existing = pinRulesIn(state, config, family);
  // No pins wanted or held: nothing to rank (the common host, every event).
  if (!config.pins.length && !existing.length) return;
  const want = desiredPinRules(config, idx, family, keptUplinks(b, config, idx, family, target));
  const wantKeys = new Set(want.map((w) => ruleKey(w.rule)));
  const have = new Set<string>();
  for (const r of existing) {
    const k = ruleKey(r);
    if (wantKeys.has(k) && !have.has(k)) have.add(k);
    else b.dels.push({ kind: 'del-rule', rule: specOfRule(r), subject: subjectOf(r.iif ?? r.src?.text ?? '?', undefined, r.table ?? 0), reason: 'pin no longer wanted (uplink or source gone, config changed)' });
  }
  for (const w of want) {
    if (have.has(ruleKey(w.rule))) continue;
    const source = w.rule.iif ?? w.rule.src?.text ?? '?';
    const reason = w.uplink
      ? `pin ${w.pin.text}: traffic from ${source} leaves by ${w.uplink.ifname}${w.pin.strict ? '' : ', else falls through to the band'}`
      : `pin ${w.pin.text}: strict, traffic from ${source} stops when its uplinks are down`;
    b.adds.push({ kind: 'add-rule', rule: w.rule, subject: subjectOf(w.uplink?.ifname ?? source, undefined, w.rule.table), reason });
  }
}
