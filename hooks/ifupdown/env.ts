// ifupdown's hook environment (and NetworkManager's, as Debian's
// /etc/NetworkManager/dispatcher.d/01-ifupdown fakes it) → routing events.
// Pure: takes the environment, returns events or why there are none.
//
// ifupdown (if-up.d, if-post-down.d): IFACE, ADDRFAM (inet|inet6), METHOD,
// MODE (start|stop), PHASE (post-up|post-down), IF_ADDRESS (a.b.c.d, A/len),
// IF_NETMASK (dotted, or a length; the length for inet6), IF_GATEWAY. One run
// per `iface` stanza, so several stanzas of one interface are several runs.
//
// NetworkManager (METHOD=NetworkManager, one run per family): IP4_NUM_ADDRESSES,
// IP4_ADDRESS_N ("A/len gateway"), IP4_GATEWAY, IP4_NUM_ROUTES, IP4_ROUTE_N
// ("dst/len next-hop metric"), IP6_* the same. `down` carries no addresses:
// everything we hold for the interface goes.

import {
  netmaskToLength,
  parseInterfaceAddress,
  parseIp,
  parsePrefix,
  parsePrefixLength,
  type Family,
  type IpAddress,
  type IpInterfaceAddress,
} from '../../lib/net/address.js';
import { ifnameProblem } from '../../lib/net/ifname.js';
import type { ExtraRoute, RoutingEvent } from '../../lib/plan/event.js';

export type ParsedEnv =
  | { kind: 'events'; events: RoutingEvent[] }
  /** Not ours (loopback, dhcp, manual, pre-up…): exit 0 quietly. */
  | { kind: 'ignore'; why: string }
  /** Malformed or hostile input: log it, change nothing, exit 0. */
  | { kind: 'invalid'; why: string };

/**
 * Interface names the hooks act on. The kernel allows almost any byte; a
 * name with shell or batch metacharacters ($, `, ;, quotes, #, \) is far
 * more likely an attack than an uplink, so the hooks refuse it (log, exit 0).
 */
export function hookIfnameProblem(name: string | undefined): string | undefined {
  const kernel = ifnameProblem(name);
  if (kernel) return kernel;
  if (!/^[A-Za-z0-9_.@+-]+$/.test(name!)) return 'only letters, digits and _ . @ + - are accepted in hook interface names';
  return undefined;
}

const q = (v: string | undefined) => JSON.stringify(v ?? '');

function familyOfAddrfam(addrfam: string | undefined): Family | undefined {
  return addrfam === 'inet' ? 4 : addrfam === 'inet6' ? 6 : undefined;
}

/** IF_ADDRESS + IF_NETMASK → A/len (throws AddressError with what was received). */
export function parseStaticAddress(address: string, netmask: string | undefined, family: Family): IpInterfaceAddress {
  if (address.includes('/')) return parseInterfaceAddress(address, family);
  if (netmask === undefined || netmask === '') {
    // ifupdown's own defaults: /32 would be surprising; inet6 defaults to /64 in ifupdown.
    if (family === 6) return parseInterfaceAddress(`${address}/64`, 6);
    throw new Error(`expected IF_NETMASK with IF_ADDRESS ${q(address)} (or A/len), received none`);
  }
  const length = family === 4 && netmask.includes('.') ? netmaskToLength(netmask) : parsePrefixLength(netmask, family);
  return parseInterfaceAddress(`${address}/${length}`, family);
}

function ifupdownStatic(env: NodeJS.ProcessEnv, ifname: string, family: Family, up: boolean): ParsedEnv {
  const raw = env.IF_ADDRESS;
  if (!raw) return { kind: 'invalid', why: `METHOD=static without IF_ADDRESS on ${ifname}` };
  let address: IpInterfaceAddress;
  let gateways: IpAddress[] = [];
  try {
    address = parseStaticAddress(raw, env.IF_NETMASK, family);
    if (env.IF_GATEWAY) gateways = [parseIp(env.IF_GATEWAY, family)];
  } catch (err) {
    return { kind: 'invalid', why: `${ifname}: ${(err as Error).message}` };
  }
  const event: RoutingEvent = up
    ? { kind: 'address-up', source: 'ifupdown', ifname, address, gateways, routes: [], manageAddress: false }
    : { kind: 'address-down', source: 'ifupdown', ifname, address, manageAddress: false };
  return { kind: 'events', events: [event] };
}

function count(env: NodeJS.ProcessEnv, name: string): number {
  const v = env[name];
  if (v === undefined || v === '') return 0;
  if (!/^\d{1,3}$/.test(v)) throw new Error(`expected ${name} to be a count, received ${q(v)}`);
  return Number(v);
}

function networkManager(env: NodeJS.ProcessEnv, ifname: string, family: Family, up: boolean): ParsedEnv {
  if (!up) return { kind: 'events', events: [{ kind: 'interface-gone', source: 'NetworkManager', ifname }] };
  const p = family === 4 ? 'IP4' : 'IP6';
  try {
    const unspecified = family === 4 ? '0.0.0.0' : '::';
    const routes: ExtraRoute[] = [];
    for (let i = 0; i < count(env, `${p}_NUM_ROUTES`); i++) {
      const text = env[`${p}_ROUTE_${i}`] ?? '';
      const [dst, hop, metric, ...rest] = text.trim().split(/\s+/);
      if (!dst || rest.length || (metric !== undefined && !/^\d{1,10}$/.test(metric))) {
        throw new Error(`expected ${p}_ROUTE_${i} as "dst/len next-hop metric", received ${q(text)}`);
      }
      const route: ExtraRoute = { destination: parsePrefix(dst, family, true) };
      if (hop && hop !== unspecified) route.gateway = parseIp(hop, family);
      if (metric !== undefined) route.metric = Number(metric);
      routes.push(route);
    }
    const common = env[`${p}_GATEWAY`] ? parseIp(env[`${p}_GATEWAY`]!, family) : undefined;
    const events: RoutingEvent[] = [];
    for (let i = 0; i < count(env, `${p}_NUM_ADDRESSES`); i++) {
      const text = env[`${p}_ADDRESS_${i}`] ?? '';
      const [addr, gw, ...rest] = text.trim().split(/\s+/);
      if (!addr || !addr.includes('/') || rest.length) throw new Error(`expected ${p}_ADDRESS_${i} as "address/prefix gateway", received ${q(text)}`);
      const address = parseInterfaceAddress(addr, family);
      const own = gw && gw !== unspecified ? parseIp(gw, family) : undefined;
      const gateway = common ?? own;
      events.push({
        kind: 'address-up', source: 'NetworkManager', ifname, address,
        gateways: gateway ? [gateway] : [], routes, manageAddress: false,
      });
    }
    return events.length ? { kind: 'events', events } : { kind: 'ignore', why: `NetworkManager gave no ${p} address for ${ifname}` };
  } catch (err) {
    return { kind: 'invalid', why: `${ifname}: ${(err as Error).message}` };
  }
}

/** Which run this is (method, family, up or down), or why it is not ours. */
function runOf(env: NodeJS.ProcessEnv): { method: 'static' | 'NetworkManager'; family: Family; up: boolean } | { ignore: string } {
  const method = env.METHOD;
  if (method !== 'static' && method !== 'NetworkManager') return { ignore: `METHOD=${method ?? ''} is not ours` };
  const family = familyOfAddrfam(env.ADDRFAM);
  if (!family) return { ignore: `ADDRFAM=${env.ADDRFAM ?? ''} is not inet or inet6` };
  const phase = env.PHASE;
  const mode = env.MODE;
  const up = mode === 'start' && (phase === 'post-up' || phase === undefined);
  const down = mode === 'stop' && (phase === 'post-down' || phase === undefined);
  if (!up && !down) return { ignore: `MODE=${mode ?? ''} PHASE=${phase ?? ''} is not post-up or post-down` };
  return { method, family, up };
}

/** Turns one ifupdown hook run's environment into routing events. */
export function parseIfupdownEnv(env: NodeJS.ProcessEnv): ParsedEnv {
  const run = runOf(env);
  if ('ignore' in run) return { kind: 'ignore', why: run.ignore };
  const ifname = env.IFACE;
  const problem = hookIfnameProblem(ifname);
  if (problem) return { kind: 'invalid', why: `IFACE=${q(ifname)} refused: ${problem}` };
  return run.method === 'static' ? ifupdownStatic(env, ifname!, run.family, run.up) : networkManager(env, ifname!, run.family, run.up);
}
