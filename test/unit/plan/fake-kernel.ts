// A model of the kernel's tables for planner tests: builds KernelState from
// short descriptions and applies a plan's changes to it, so a test can check
// that planning the same event again yields nothing.

import { parseInterfaceAddress, parseIp, parsePrefix, type Family } from '../../../lib/net/address.js';
import type { Change } from '../../../lib/plan/change.js';
import type { KernelState, Link, Route, Rule } from '../../../lib/state/types.js';

/**
 * `link(2, 'eth0', '10.0.0.2/24', '192.0.2.7/24 valid 90 secondary')`: an
 * address with `valid N` has a lease lifetime (`dynamic`), else it is permanent.
 */
export function link(ifindex: number, ifname: string, ...addresses: string[]): Link {
  return {
    ifindex, ifname, up: true, carrier: true,
    addresses: addresses.map((text) => {
      const [a, ...w] = text.split(/\s+/);
      const valid = w.includes('valid') ? Number(w[w.indexOf('valid') + 1]) : undefined;
      return {
        address: parseInterfaceAddress(a!), scope: 0,
        flags: [...(valid !== undefined ? ['dynamic'] : []), ...(w.includes('secondary') ? ['secondary'] : [])],
        ...(valid !== undefined ? { validLifetime: valid } : {}),
      };
    }),
  };
}

/** `route('192.0.2.0/24 dev eth0 table 254 proto 2 scope 253 src 192.0.2.10 metric 0')`. */
export function route(text: string): Route {
  const w = text.split(/\s+/);
  const dst = w[0] === 'default' ? undefined : w[0]!;
  const opt = (k: string) => { const i = w.indexOf(k); return i < 0 ? undefined : w[i + 1]; };
  const family: Family = (dst ?? opt('via') ?? opt('src') ?? '').includes(':') ? 6 : 4;
  const r: Route = {
    family,
    table: Number(opt('table') ?? 254),
    type: 1,
    dst: parsePrefix(dst ?? (family === 4 ? '0.0.0.0/0' : '::/0'), family),
    protocol: Number(opt('proto') ?? 3),
    scope: Number(opt('scope') ?? 0),
    metric: Number(opt('metric') ?? (family === 6 ? 1024 : 0)),
    flags: w.includes('onlink') ? ['onlink'] : [],
  };
  if (opt('dev')) r.dev = opt('dev')!;
  if (opt('via')) r.gateway = parseIp(opt('via')!);
  if (opt('src')) r.prefsrc = parseIp(opt('src')!);
  return r;
}

/** `rule('10000 from 198.51.100.10 lookup 10000 proto 201')`, `rule('30000 lookup main suppress_prefixlength 0 proto 201')`, `rule('-6 …')`. */
export function rule(text: string): Rule {
  let w = text.split(/\s+/);
  let family: Family = 4;
  if (w[0] === '-6') { family = 6; w = w.slice(1); }
  const opt = (k: string) => { const i = w.indexOf(k); return i < 0 ? undefined : w[i + 1]; };
  const r: Rule = {
    family, priority: Number(w[0]), detached: w.includes('detached'),
    protocol: Number(opt('proto') ?? 0), foreignSelectors: w.includes('fwmark'),
  };
  if (opt('from')) r.src = parsePrefix(opt('from')!, family, true);
  if (opt('to')) r.dst = parsePrefix(opt('to')!, family, true);
  if (opt('iif')) r.iif = opt('iif')!;
  if (opt('oif')) r.oif = opt('oif')!;
  if (opt('lookup')) r.table = opt('lookup') === 'main' ? 254 : Number(opt('lookup'));
  if (opt('suppress_prefixlength')) r.suppressPrefixLength = Number(opt('suppress_prefixlength'));
  return r;
}

/** An interface's sysctls on a strict host, as a hook first finds them (nothing saved). */
export const strictSysctls = (ifname: string): KernelState['sysctls'] => ({
  [ifname]: {
    current: {
      [`net/ipv4/conf/${ifname}/ignore_routes_with_linkdown`]: '0',
      [`net/ipv4/conf/${ifname}/rp_filter`]: '1',
      [`net/ipv6/conf/${ifname}/ignore_routes_with_linkdown`]: '0',
      'net/ipv4/conf/all/rp_filter': '1',
    },
    saved: {},
  },
});

export function state(parts: { links?: Link[]; routes?: string[]; rules?: string[]; sysctls?: KernelState['sysctls'] }): KernelState {
  return {
    links: parts.links ?? [],
    routes: (parts.routes ?? []).map(route),
    rules: [
      rule('0 lookup 255'), rule('32766 lookup 254'), rule('32767 lookup 253'),
      rule('-6 0 lookup 255'), rule('-6 32766 lookup 254'),
      ...(parts.rules ?? []).map(rule),
    ],
    sysctls: parts.sysctls ?? {},
  };
}

const sameRoute = (a: Route, b: Route) =>
  a.table === b.table && a.family === b.family && a.dst.text === b.dst.text && a.metric === b.metric &&
  a.dev === b.dev && a.gateway?.text === b.gateway?.text && a.protocol === b.protocol;

const sameRule = (a: Rule, b: Rule) =>
  a.family === b.family && a.priority === b.priority && a.src?.text === b.src?.text && a.dst?.text === b.dst?.text &&
  a.iif === b.iif && a.oif === b.oif && a.table === b.table && a.protocol === b.protocol && a.suppressPrefixLength === b.suppressPrefixLength;

/** Applies changes like the kernel would; throws where the kernel would refuse (EEXIST, ESRCH). */
export function applyToState(s: KernelState, changes: readonly Change[]): KernelState {
  const next: KernelState = structuredClone(s);
  for (const c of changes) {
    if (c.kind === 'add-route' || c.kind === 'del-route') {
      const r: Route = {
        family: c.route.family, table: c.route.table, type: 1, dst: c.route.dst, dev: c.route.dev,
        protocol: c.route.protocol, scope: c.route.scope ?? 0, metric: c.route.metric, flags: c.route.onlink ? ['onlink'] : [],
        ...(c.route.gateway ? { gateway: c.route.gateway } : {}), ...(c.route.prefsrc ? { prefsrc: c.route.prefsrc } : {}),
      };
      const i = next.routes.findIndex((x) => sameRoute(x, r));
      if (c.kind === 'add-route') {
        // IPv4: one route per (table, destination, metric); IPv6: per nexthop too.
        const clash = next.routes.some((x) => x.family === r.family && x.table === r.table && x.dst.text === r.dst.text && x.metric === r.metric &&
          (r.family === 4 || (x.dev === r.dev && x.gateway?.text === r.gateway?.text)));
        if (clash) throw new Error(`EEXIST route ${r.dst.text} table ${r.table}`);
        next.routes.push(r);
      } else {
        if (i < 0) throw new Error(`ESRCH route ${r.dst.text} table ${r.table}`);
        next.routes.splice(i, 1);
      }
    } else if (c.kind === 'add-rule' || c.kind === 'del-rule') {
      const r: Rule = { ...c.rule, detached: false, foreignSelectors: false };
      const i = next.rules.findIndex((x) => sameRule(x, r));
      if (c.kind === 'add-rule') {
        if (i >= 0) throw new Error(`EEXIST rule ${r.priority}`);
        next.rules.push(r);
      } else {
        if (i < 0) throw new Error(`ESRCH rule ${r.priority} lookup ${r.table}`);
        next.rules.splice(i, 1);
      }
    } else if (c.kind === 'set-sysctl') {
      const sys = (next.sysctls[c.ifname] ??= { current: {}, saved: {} });
      if (c.save && !(c.key in sys.saved)) sys.saved[c.key] = c.previous;
      sys.current[c.key] = c.value;
    } else if (c.kind === 'forget-sysctls') {
      if (next.sysctls[c.ifname]) next.sysctls[c.ifname]!.saved = {};
    } else if (c.kind === 'add-address') {
      const l = next.links.find((x) => x.ifname === c.ifname)!;
      if (l.addresses.some((a) => a.address.address.text === c.address.address.text)) throw new Error(`EEXIST address ${c.address.address.text}`);
      const secondary = c.address.address.family === 4 && l.addresses.some((a) => a.address.prefix.text === c.address.prefix.text);
      l.addresses.push({
        address: c.address, scope: 0,
        flags: [...(c.noprefixroute ? ['noprefixroute'] : []), ...(secondary ? ['secondary'] : []), ...(c.validLifetime !== undefined ? ['dynamic'] : [])],
        ...(c.validLifetime !== undefined ? { validLifetime: c.validLifetime } : {}),
      });
    } else if (c.kind === 'del-address') {
      // As the kernel with promote_secondaries off (its default): a primary
      // takes its secondaries with it, and routes with a deleted source go.
      const l = next.links.find((x) => x.ifname === c.ifname)!;
      const gone = l.addresses.find((a) => a.address.address.text === c.address.address.text && a.address.prefix.length === c.address.prefix.length);
      if (!gone) throw new Error(`EADDRNOTAVAIL ${c.address.address.text}`);
      const taken = l.addresses.filter((a) => a === gone || (!gone.flags.includes('secondary') && a.flags.includes('secondary') && a.address.prefix.text === gone.address.prefix.text));
      l.addresses = l.addresses.filter((a) => !taken.includes(a));
      const sources = new Set(taken.map((a) => a.address.address.text));
      next.routes = next.routes.filter((r) => !(r.prefsrc && sources.has(r.prefsrc.text)));
    }
  }
  return next;
}
