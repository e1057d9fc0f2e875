// What `status` shows: per managed address, its interface, family,
// address/prefix, table, our rules and routes in place, and whether it runs
// degraded (fallback routes in main, no table); then whether per-uplink DNS
// is on. Pure: built from kernel state and the DNS records passed in.

import type { Config } from '../config/schema.js';
import type { DnsDecision } from '../dns/mode.js';
import type { Family } from '../net/address.js';
import { indexState } from '../plan/index.js';
import { isBandRule, isLegacyBandRule } from '../state/rules.js';
import { SCOPE_LINK, TABLE_MAIN, type KernelState, type Route, type Rule } from '../state/types.js';

export interface AddressStatus {
  ifname: string;
  family: Family;
  /** `A/len` (len from the `to` rule or the on-link route; the host length when unknown). */
  address: string;
  /** 0 when degraded (main table). */
  table: number;
  degraded: boolean;
  /** The interface has no carrier: its routes are not used (ignore_routes_with_linkdown). */
  linkdown: boolean;
  rules: string[];
  routes: string[];
  /** What looks incomplete (a rule or route missing). */
  problems: string[];
}

export function describeRule(r: Rule): string {
  const parts = [`${r.priority}:`];
  if (r.src) parts.push('from', r.src.text);
  else if (!r.dst && !r.iif && !r.oif) parts.push('from all');
  if (r.dst) parts.push('to', r.dst.text);
  if (r.iif) parts.push('iif', r.iif);
  if (r.oif) parts.push('oif', r.oif + (r.detached ? ' [detached]' : ''));
  if (r.fwmark) parts.push('fwmark', `0x${r.fwmark.value.toString(16)}/0x${r.fwmark.mask.toString(16)}`);
  parts.push(...(r.action ? [r.action] : ['lookup', r.table === TABLE_MAIN ? 'main' : String(r.table)]));
  if (r.suppressPrefixLength !== undefined) parts.push('suppress_prefixlength', String(r.suppressPrefixLength));
  return parts.join(' ');
}

export function describeRoute(r: Route): string {
  const parts = [r.dst.length === 0 ? 'default' : r.dst.text];
  if (r.gateway) parts.push('via', r.gateway.text);
  if (r.dev) parts.push('dev', r.dev);
  if (r.scope === SCOPE_LINK) parts.push('scope link');
  if (r.prefsrc) parts.push('src', r.prefsrc.text);
  if (r.metric) parts.push('metric', String(r.metric));
  parts.push(...r.flags.filter((f) => f === 'linkdown' || f === 'dead'));
  return parts.join(' ');
}

/**
 * Builds the status of every managed address, sorted by interface, family,
 * table. `dnsUnconfigured`: interfaces whose DNS could not be configured
 * (lib/dns/unconfigured.ts), shown as a problem of each of their addresses.
 */
export function buildStatus(state: KernelState, config: Config, dnsUnconfigured: ReadonlyMap<string, string> = new Map()): AddressStatus[] {
  const idx = indexState(state, config);
  const out: AddressStatus[] = [];
  for (const e of idx.entries.values()) {
    const link = e.ifname ? idx.links.get(e.ifname) : undefined;
    const onLink = e.routes.find((r) => !r.gateway && r.dst.length > 0 && r.prefsrc?.text === e.address?.text);
    const length = e.prefix?.length ?? onLink?.dst.length ?? (e.family === 4 ? 32 : 128);
    const problems: string[] = [];
    const has = (pred: (r: Rule) => boolean, what: string) => { if (!e.rules.some(pred)) problems.push(`no ${what} rule`); };
    has((r) => !!r.src, 'from');
    has((r) => r.oif !== undefined, 'oif');
    has(isBandRule, 'band');
    if (e.rules.some(isLegacyBandRule)) problems.push('band rule of an older version (iif lo): the next event or the daemon moves it');
    if (!idx.suppress.some((r) => r.family === e.family)) problems.push('no main suppress rule');
    if (!e.routes.length) problems.push('no routes in the table');
    if (!link) problems.push('interface does not exist');
    const noDns = e.ifname === undefined ? undefined : dnsUnconfigured.get(e.ifname);
    if (noDns) problems.push(`DNS not configured: ${noDns}`);
    out.push({
      ifname: e.ifname ?? '?',
      family: e.family,
      address: e.address ? `${e.address.text}/${length}` : '?',
      table: e.table,
      degraded: false,
      linkdown: !!link && !link.carrier,
      rules: [...e.rules].sort((a, b) => a.priority - b.priority).map(describeRule),
      routes: e.routes.map(describeRoute),
      problems,
    });
  }
  // Degraded: our routes in main, grouped by (device, source address).
  const degraded = new Map<string, Route[]>();
  for (const [key, routes] of idx.mainByDev) {
    for (const r of routes) {
      if (r.protocol !== config.protocol || r.table !== TABLE_MAIN) continue;
      const k = `${key}|${r.prefsrc?.text ?? '?'}`;
      degraded.set(k, [...(degraded.get(k) ?? []), r]);
    }
  }
  for (const routes of degraded.values()) {
    const first = routes[0]!;
    const onLink = routes.find((r) => !r.gateway && r.dst.length > 0);
    const link = idx.links.get(first.dev ?? '');
    out.push({
      ifname: first.dev ?? '?',
      family: first.family,
      address: first.prefsrc ? `${first.prefsrc.text}/${onLink?.dst.length ?? (first.family === 4 ? 32 : 128)}` : '?',
      table: 0,
      degraded: true,
      linkdown: !!link && !link.carrier,
      rules: [],
      routes: routes.map(describeRoute),
      problems: ['no table lease: routes in main with metric = interface index'],
    });
  }
  return out.sort((a, b) => a.ifname.localeCompare(b.ifname) || a.family - b.family || a.table - b.table);
}

/** The DNS line of `status`: per-uplink DNS on, or off and how to turn it on. */
export function formatDns(decision: DnsDecision, turnOn: readonly string[]): string {
  if (decision.on) return `dns: per-uplink through dnsmasq (${decision.why})\n`;
  return `dns: per-uplink DNS off (${decision.why}); dhclient-script writes resolv.conf\n${turnOn.map((t) => `  to turn it on: ${t}\n`).join('')}`;
}

/** The human form of `status`. */
export function formatStatus(list: readonly AddressStatus[]): string {
  if (!list.length) return 'no managed addresses\n';
  return list
    .map((s) => {
      const head = `${s.ifname} ${s.family === 4 ? 'inet' : 'inet6'} ${s.address} ${s.degraded ? 'DEGRADED (main table, no lease)' : `table ${s.table}`}${s.linkdown ? ' linkdown' : ''}`;
      const lines = [head, ...s.rules.map((r) => `  rule  ${r}`), ...s.routes.map((r) => `  route ${r}`), ...s.problems.map((p) => `  ! ${p}`)];
      return lines.join('\n');
    })
    .join('\n\n') + '\n';
}
