// Pure parsers of `ip -N -json` output (the reader always passes -N, so
// tables, protocols, scopes and types are numbers; the names iproute2 prints
// without -N are accepted too). Malformed entries are skipped, not fatal:
// one odd rule from another tool must not stop a hook.

import {
  parseInterfaceAddress,
  parseIp,
  parsePrefix,
  type Family,
  type IpPrefix,
} from '../net/address.js';
import { PROTO_BOOT, TABLE_MAIN, type Link, type LinkAddress, type Route, type Rule } from './types.js';

type Json = Record<string, unknown>;

const TABLE_NAMES: Record<string, number> = { unspec: 0, default: 253, main: 254, local: 255 };
const PROTO_NAMES: Record<string, number> = {
  unspec: 0, redirect: 1, kernel: 2, boot: 3, static: 4, gated: 8, ra: 9, mrt: 10, zebra: 11,
  bird: 12, dnrouted: 13, xorp: 14, ntk: 15, dhcp: 16, keepalived: 18, babel: 42, openr: 99,
  bgp: 186, isis: 187, ospf: 188, rip: 189, eigrp: 192,
};
const SCOPE_NAMES: Record<string, number> = { global: 0, universe: 0, site: 200, link: 253, host: 254, nowhere: 255 };
const TYPE_NAMES: Record<string, number> = {
  unspec: 0, unicast: 1, local: 2, broadcast: 3, anycast: 4, multicast: 5, blackhole: 6,
  unreachable: 7, prohibit: 8, throw: 9, nat: 10, xresolve: 11,
};

/** A number printed as a number, a numeric string, or a known name; else undefined. */
function numberOf(value: unknown, names: Record<string, number>): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value !== 'string') return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  return names[value];
}

function parseArray(text: string, what: string): Json[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const value: unknown = JSON.parse(trimmed);
  if (!Array.isArray(value)) throw new Error(`expected a JSON array from ${what}, received ${typeof value}`);
  return value.filter((v): v is Json => typeof v === 'object' && v !== null);
}

const familyOf = (name: unknown): Family | undefined =>
  name === 'inet' ? 4 : name === 'inet6' ? 6 : undefined;

/** Parses `ip -json -d addr show` (links with their addresses). */
export function parseAddrJson(text: string): Link[] {
  const links: Link[] = [];
  for (const l of parseArray(text, 'ip addr')) {
    if (typeof l.ifindex !== 'number' || typeof l.ifname !== 'string') continue;
    const flags = Array.isArray(l.flags) ? (l.flags as unknown[]).map(String) : [];
    const addresses: LinkAddress[] = [];
    for (const a of Array.isArray(l.addr_info) ? (l.addr_info as Json[]) : []) {
      const family = familyOf(a.family);
      if (!family || typeof a.local !== 'string' || typeof a.prefixlen !== 'number') continue;
      try {
        addresses.push({
          address: parseInterfaceAddress(`${a.local}/${a.prefixlen}`, family),
          scope: numberOf(a.scope, SCOPE_NAMES) ?? 0,
          flags: ['dynamic', 'deprecated', 'tentative', 'dadfailed', 'noprefixroute', 'secondary', 'temporary', 'mngtmpaddr']
            .filter((f) => a[f] === true),
          ...(typeof a.valid_life_time === 'number' && a.valid_life_time < 0xffffffff ? { validLifetime: a.valid_life_time } : {}),
          ...(typeof a.protocol === 'string' || typeof a.protocol === 'number' ? { protocol: String(a.protocol) } : {}),
        });
      } catch {
        // an address we cannot represent is not one we manage
      }
    }
    const linkinfo = l.linkinfo as Json | undefined;
    links.push({
      ifindex: l.ifindex,
      ifname: l.ifname,
      up: flags.includes('UP'),
      carrier: flags.includes('LOWER_UP'),
      ...(typeof linkinfo?.info_kind === 'string' ? { kind: linkinfo.info_kind } : {}),
      addresses,
    });
  }
  return links;
}

function prefixFrom(dst: unknown, family: Family): IpPrefix | undefined {
  if (dst === 'default') return parsePrefix(family === 4 ? '0.0.0.0/0' : '::/0', family);
  if (typeof dst !== 'string') return undefined;
  return parsePrefix(dst, family, true);
}

/** Parses `ip -json -4|-6 route show table all`. */
export function parseRouteJson(text: string, family: Family): Route[] {
  const routes: Route[] = [];
  for (const r of parseArray(text, 'ip route')) {
    try {
      const dst = prefixFrom(r.dst, family);
      if (!dst) continue;
      const flags = Array.isArray(r.flags) ? (r.flags as unknown[]).map(String) : [];
      const route: Route = {
        family,
        table: r.table === undefined ? TABLE_MAIN : (numberOf(r.table, TABLE_NAMES) ?? -1),
        type: r.type === undefined ? 1 : (numberOf(r.type, TYPE_NAMES) ?? -1),
        dst,
        // iproute2 leaves out `proto boot`, the default of `ip route add`.
        protocol: r.protocol === undefined ? PROTO_BOOT : (numberOf(r.protocol, PROTO_NAMES) ?? -1),
        scope: r.scope === undefined ? 0 : (numberOf(r.scope, SCOPE_NAMES) ?? -1),
        metric: typeof r.metric === 'number' ? r.metric : 0,
        flags,
        ...(typeof r.expires === 'number' ? { expires: r.expires } : {}),
      };
      if (typeof r.dev === 'string') route.dev = r.dev;
      // An IPv4-via-IPv6 gateway (`via inet6 …`) is not one we create; skip its address.
      if (typeof r.gateway === 'string') route.gateway = parseIp(r.gateway);
      if (typeof r.prefsrc === 'string') route.prefsrc = parseIp(r.prefsrc, family);
      routes.push(route);
    } catch {
      // skip what we cannot represent; it is never ours
    }
  }
  return routes;
}

const KNOWN_RULE_KEYS = new Set([
  'priority', 'src', 'srclen', 'dst', 'dstlen', 'iif', 'oif', 'iif_detached', 'oif_detached',
  'table', 'protocol', 'flags', 'fwmark', 'fwmask', 'action', 'suppress_prefixlen',
]);

const hexNumber = (v: unknown): number | undefined => (typeof v === 'string' && /^0x[0-9a-f]{1,8}$/i.test(v) ? Number.parseInt(v.slice(2), 16) : undefined);

/** Parses `ip -json -4|-6 rule show`. */
export function parseRuleJson(text: string, family: Family): Rule[] {
  const rules: Rule[] = [];
  for (const r of parseArray(text, 'ip rule')) {
    if (typeof r.priority !== 'number') continue;
    try {
      const selector = (addr: unknown, len: unknown): IpPrefix | undefined => {
        if (typeof addr !== 'string' || addr === 'all') return undefined;
        const length = typeof len === 'number' ? len : family === 4 ? 32 : 128;
        return parsePrefix(`${addr}/${length}`, family, true);
      };
      const rule: Rule = {
        family,
        priority: r.priority,
        detached: 'iif_detached' in r || 'oif_detached' in r,
        protocol: r.protocol === undefined ? 0 : (numberOf(r.protocol, PROTO_NAMES) ?? -1),
        foreignSelectors: Object.keys(r).some((k) => !KNOWN_RULE_KEYS.has(k)),
      };
      const src = selector(r.src, r.srclen);
      const dst = selector(r.dst, r.dstlen);
      if (src) rule.src = src;
      if (dst) rule.dst = dst;
      if (typeof r.iif === 'string') rule.iif = r.iif;
      if (typeof r.oif === 'string') rule.oif = r.oif;
      const fwmark = hexNumber(r.fwmark);
      if (fwmark !== undefined) rule.fwmark = { value: fwmark, mask: hexNumber(r.fwmask) ?? 0xffffffff };
      if (typeof r.action === 'string') rule.action = r.action;
      const table = numberOf(r.table, TABLE_NAMES);
      if (table !== undefined) rule.table = table;
      if (typeof r.suppress_prefixlen === 'number') rule.suppressPrefixLength = r.suppress_prefixlen;
      rules.push(rule);
    } catch {
      // skip
    }
  }
  return rules;
}
