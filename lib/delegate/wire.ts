// A RoutingEvent on the allocator socket (`cmd: "event"`): the hook parses
// its caller's environment as always, then hands the event to the daemon,
// which applies it with its warm planner, its in-process allocator and its
// long-lived ip sessions (lib/delegate/service.ts). Addresses travel as
// canonical text and are parsed again on the daemon's side with the same
// lib/net parsers: nothing a peer sends reaches the planner unchecked.
// Pure functions only (the hook's fast path loads this and node:net).

import { parseInterfaceAddress, parseIp, parsePrefix, type Family, type IpAddress } from '../net/address.js';
import { ifnameProblem } from '../net/ifname.js';
import type { DnsUpdateRequest } from '../dns/update.js';
import type { EventSource, ExtraRoute, RoutingEvent } from '../plan/event.js';

/** Longest event line the daemon accepts (bytes, newline excluded). */
export const MAX_EVENT_BYTES = 64 * 1024;
export const MAX_GATEWAYS = 16;
export const MAX_ROUTES = 256;
export const MAX_DNS_SERVERS = 32;
/** Longest reply a hook accepts (the log lines and a dry run's plan). */
export const MAX_EVENT_REPLY_BYTES = 1024 * 1024;

const SOURCES: readonly string[] = ['ifupdown', 'NetworkManager', 'dhclient', 'kernel'];

export interface WireRoute {
  destination: string;
  gateway?: string;
  metric?: number;
}

export type WireEvent =
  | {
      kind: 'address-up';
      source: EventSource;
      ifname: string;
      address: string;
      gateways: string[];
      routes: WireRoute[];
      dns_servers: string[];
      manage_address: boolean;
      broadcast?: string;
      mtu?: number;
      preferred_lifetime?: number;
      valid_lifetime?: number;
      sole_lease?: boolean;
    }
  | { kind: 'address-down'; source: EventSource; ifname: string; address: string; manage_address: boolean; sole_lease?: boolean }
  | { kind: 'interface-gone'; source: EventSource | 'udev'; ifname: string };

/** The request line: one event, applied or (dry_run) only planned. */
export interface EventRequest {
  version: 1;
  cmd: 'event';
  event: WireEvent;
  dry_run: boolean;
  /** Debug lines wanted in the reply (the hook's --verbose). */
  verbose: boolean;
  /** The config file the hook loaded: the daemon refuses an event planned for another config. */
  config_path: string;
  /** Which command sent it: the daemon logs its lines under that name. */
  hook: HookName;
  /**
   * Unix time (ms) after which the hook no longer waits and works alone: an
   * event not started by then is dropped (a daemon that was stopped must not
   * apply it later, over what the hook did meanwhile).
   */
  expires_at: number;
  /**
   * The interface's name servers after this event (dnsmasq mode): the daemon
   * writes the servers-file after applying the event, whatever its outcome,
   * and says so in `dns_done`; the hook then does not.
   */
  dns?: WireDns;
}

export interface WireDns {
  ifname: string;
  family: Family;
  servers: string[];
}

/** The commands that delegate, as their log lines name them (`multihomed-routing ifupdown: …`). */
export const HOOKS = ['ifupdown', 'dhclient-hook', 'udev-remove'] as const;
export type HookName = (typeof HOOKS)[number];

export interface EventReply {
  version: 1;
  cmd: 'response';
  table?: number;
  degraded?: boolean;
  changes?: number;
  /** The event's log lines, formatted as the hook would have written them on stderr. */
  lines?: string[];
  /** A dry run's plan (what the hook prints on its `out`). */
  out?: string;
  /** The event was taken but not applied (already logged, in `lines`): the hook's outcome is a failure. */
  failed?: string;
  /** The event was not taken (malformed, another config): the hook works alone. */
  error?: string;
  /** The request's `dns` was applied to the servers-file (its lines are in `lines`). */
  dns_done?: boolean;
}

/**
 * The line a hook sends as soon as it is connected, before its event
 * (`cmd: "prefetch"`, no reply): the interface and address families its
 * event will touch, from its caller's environment before it is parsed. An
 * idle daemon takes the routing lock and reads that state while the hook
 * parses (lib/delegate/prefetch.ts); the event uses the read only when it
 * turns out to touch the same interface and families.
 */
export interface PrefetchRequest {
  version: 1;
  cmd: 'prefetch';
  ifname: string;
  families: Family[];
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };
const fail = (error: string): { ok: false; error: string } => ({ ok: false, error });

const addrText = (a: { address: IpAddress; prefix: { length: number } }) => `${a.address.text}/${a.prefix.length}`;

/** RoutingEvent → wire form (canonical text). */
export function encodeEvent(e: RoutingEvent): WireEvent {
  if (e.kind === 'interface-gone') return { kind: e.kind, source: e.source, ifname: e.ifname };
  if (e.kind === 'address-down') {
    const w: WireEvent = { kind: e.kind, source: e.source, ifname: e.ifname, address: addrText(e.address), manage_address: e.manageAddress };
    if (e.soleLease) w.sole_lease = true;
    return w;
  }
  const w: WireEvent = {
    kind: 'address-up',
    source: e.source,
    ifname: e.ifname,
    address: addrText(e.address),
    gateways: e.gateways.map((g) => g.text),
    routes: e.routes.map((r) => ({ destination: r.destination.text, ...(r.gateway ? { gateway: r.gateway.text } : {}), ...(r.metric !== undefined ? { metric: r.metric } : {}) })),
    dns_servers: e.dnsServers.map((d) => d.text),
    manage_address: e.manageAddress,
  };
  if (e.broadcast) w.broadcast = e.broadcast.text;
  if (e.mtu !== undefined) w.mtu = e.mtu;
  if (e.preferredLifetime !== undefined) w.preferred_lifetime = e.preferredLifetime;
  if (e.validLifetime !== undefined) w.valid_lifetime = e.validLifetime;
  if (e.soleLease) w.sole_lease = true;
  return w;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const u32 = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff;

class WireError extends Error {}
const need = (ok: boolean, what: string, got: unknown): void => {
  if (!ok) throw new WireError(`${what}, received ${JSON.stringify(got)?.slice(0, 80)}`);
};

function ip(v: unknown, field: string, family: Family): IpAddress {
  need(typeof v === 'string', `${field}: expected an IPv${family} address`, v);
  try {
    return parseIp(v as string, family);
  } catch (err) {
    throw new WireError(`${field}: ${(err as Error).message}`);
  }
}

function list(v: unknown, field: string, max: number): unknown[] {
  need(Array.isArray(v), `${field}: expected a list`, v);
  need((v as unknown[]).length <= max, `${field}: expected at most ${max} entries`, (v as unknown[]).length);
  return v as unknown[];
}

const KEYS: Record<WireEvent['kind'], readonly string[]> = {
  'address-up': ['kind', 'source', 'ifname', 'address', 'gateways', 'routes', 'dns_servers', 'manage_address', 'broadcast', 'mtu', 'preferred_lifetime', 'valid_lifetime', 'sole_lease'],
  'address-down': ['kind', 'source', 'ifname', 'address', 'manage_address', 'sole_lease'],
  'interface-gone': ['kind', 'source', 'ifname'],
};

/** Wire form → RoutingEvent, every field checked as a hook's input is. Never throws. */
export function decodeEvent(o: unknown): Parsed<RoutingEvent> {
  try {
    need(isObject(o), 'event: expected an object', o);
    const r = o as Record<string, unknown>;
    need(typeof r.kind === 'string' && r.kind in KEYS, 'event.kind: expected address-up, address-down or interface-gone', r.kind);
    const kind = r.kind as WireEvent['kind'];
    const unknown = Object.keys(r).filter((k) => !KEYS[kind].includes(k));
    need(unknown.length === 0, `event: unexpected field`, unknown[0]);
    const ifProblem = ifnameProblem(r.ifname);
    need(!ifProblem, `event.ifname: expected a Linux interface name (${ifProblem})`, r.ifname);
    const ifname = r.ifname as string;
    if (kind === 'interface-gone') {
      need(typeof r.source === 'string' && [...SOURCES, 'udev'].includes(r.source), 'event.source: expected a known source', r.source);
      return { ok: true, value: { kind, source: r.source as EventSource | 'udev', ifname } };
    }
    need(typeof r.source === 'string' && SOURCES.includes(r.source), 'event.source: expected ifupdown, NetworkManager, dhclient or kernel', r.source);
    const source = r.source as EventSource;
    need(typeof r.address === 'string' && (r.address as string).includes('/'), 'event.address: expected A/len', r.address);
    let address;
    try {
      address = parseInterfaceAddress(r.address as string);
    } catch (err) {
      throw new WireError(`event.address: ${(err as Error).message}`);
    }
    need(typeof r.manage_address === 'boolean', 'event.manage_address: expected true or false', r.manage_address);
    const manageAddress = r.manage_address as boolean;
    need(r.sole_lease === undefined || typeof r.sole_lease === 'boolean', 'event.sole_lease: expected true or false', r.sole_lease);
    const sole = r.sole_lease === true ? { soleLease: true } : {};
    if (kind === 'address-down') return { ok: true, value: { kind, source, ifname, address, manageAddress, ...sole } };

    const family = address.address.family;
    const gateways = list(r.gateways, 'event.gateways', MAX_GATEWAYS).map((g, i) => ip(g, `event.gateways[${i}]`, family));
    const dnsServers = list(r.dns_servers, 'event.dns_servers', MAX_DNS_SERVERS).map((d, i) => ip(d, `event.dns_servers[${i}]`, family));
    const routes: ExtraRoute[] = list(r.routes, 'event.routes', MAX_ROUTES).map((x, i) => {
      const f = `event.routes[${i}]`;
      need(isObject(x), `${f}: expected an object`, x);
      const w = x as Record<string, unknown>;
      const extra = Object.keys(w).filter((k) => !['destination', 'gateway', 'metric'].includes(k));
      need(extra.length === 0, `${f}: unexpected field`, extra[0]);
      need(typeof w.destination === 'string', `${f}.destination: expected a prefix`, w.destination);
      let destination;
      try {
        destination = parsePrefix(w.destination as string, family);
      } catch (err) {
        throw new WireError(`${f}.destination: ${(err as Error).message}`);
      }
      const route: ExtraRoute = { destination };
      if (w.gateway !== undefined) route.gateway = ip(w.gateway, `${f}.gateway`, family);
      if (w.metric !== undefined) {
        need(u32(w.metric), `${f}.metric: expected a whole number 0-4294967295`, w.metric);
        route.metric = w.metric as number;
      }
      return route;
    });
    const up: RoutingEvent = { kind, source, ifname, address, gateways, routes, dnsServers, manageAddress, ...sole };
    if (r.broadcast !== undefined) up.broadcast = ip(r.broadcast, 'event.broadcast', 4);
    if (r.mtu !== undefined) {
      need(Number.isSafeInteger(r.mtu) && (r.mtu as number) >= 68 && (r.mtu as number) <= 65535, 'event.mtu: expected 68-65535', r.mtu);
      up.mtu = r.mtu as number;
    }
    for (const [wire, key] of [['preferred_lifetime', 'preferredLifetime'], ['valid_lifetime', 'validLifetime']] as const) {
      if (r[wire] === undefined) continue;
      need(u32(r[wire]), `event.${wire}: expected a whole number of seconds`, r[wire]);
      up[key] = r[wire] as number;
    }
    return { ok: true, value: up };
  } catch (err) {
    if (err instanceof WireError) return fail(err.message);
    throw err;
  }
}

/** DnsUpdateRequest → wire form. */
export const encodeDns = (d: DnsUpdateRequest): WireDns => ({ ifname: d.ifname, family: d.family, servers: d.servers.map((s) => s.text) });

/** Wire form → DnsUpdateRequest, checked as the hook's input is. Never throws. */
export function decodeDns(o: unknown): Parsed<DnsUpdateRequest> {
  try {
    need(isObject(o), 'dns: expected an object', o);
    const r = o as Record<string, unknown>;
    const unknown = Object.keys(r).filter((k) => !['ifname', 'family', 'servers'].includes(k));
    need(unknown.length === 0, 'dns: unexpected field', unknown[0]);
    const ifProblem = ifnameProblem(r.ifname);
    need(!ifProblem, `dns.ifname: expected a Linux interface name (${ifProblem})`, r.ifname);
    need(r.family === 4 || r.family === 6, 'dns.family: expected 4 or 6', r.family);
    const family = r.family as Family;
    const servers = list(r.servers, 'dns.servers', MAX_DNS_SERVERS).map((s, i) => ip(s, `dns.servers[${i}]`, family));
    return { ok: true, value: { ifname: r.ifname as string, family, servers } };
  } catch (err) {
    if (err instanceof WireError) return fail(err.message);
    throw err;
  }
}

/** Checks an `event` request (already JSON-parsed, version checked by the caller or here). */
export function parseEventRequest(o: Record<string, unknown>): Parsed<EventRequest & { decoded: RoutingEvent; decodedDns?: DnsUpdateRequest }> {
  if (o.version !== 1) return fail(`version: expected 1, received ${JSON.stringify(o.version)}`);
  if (o.cmd !== 'event') return fail(`cmd: expected event, received ${JSON.stringify(o.cmd)}`);
  const extra = Object.keys(o).filter((k) => !['version', 'cmd', 'event', 'dry_run', 'verbose', 'config_path', 'hook', 'expires_at', 'dns'].includes(k));
  if (extra.length) return fail(`unexpected field ${JSON.stringify(extra[0])}`);
  if (typeof o.dry_run !== 'boolean') return fail(`dry_run: expected true or false, received ${JSON.stringify(o.dry_run)}`);
  if (typeof o.verbose !== 'boolean') return fail(`verbose: expected true or false, received ${JSON.stringify(o.verbose)}`);
  if (typeof o.config_path !== 'string' || o.config_path.length > 4096 || o.config_path.includes('\0')) return fail('config_path: expected a path');
  if (!Number.isSafeInteger(o.expires_at) || (o.expires_at as number) < 0) return fail(`expires_at: expected a time in ms, received ${JSON.stringify(o.expires_at)}`);
  if (!(HOOKS as readonly unknown[]).includes(o.hook)) return fail(`hook: expected one of ${HOOKS.join(', ')}, received ${JSON.stringify(o.hook)}`);
  const decoded = decodeEvent(o.event);
  if (!decoded.ok) return decoded;
  const dns = o.dns === undefined ? undefined : decodeDns(o.dns);
  if (dns && !dns.ok) return dns;
  return {
    ok: true,
    value: { version: 1, cmd: 'event', event: o.event as WireEvent, dry_run: o.dry_run, verbose: o.verbose, config_path: o.config_path, hook: o.hook as HookName, expires_at: o.expires_at as number, decoded: decoded.value,
      ...(dns ? { dns: o.dns as WireDns, decodedDns: dns.value } : {}) },
  };
}

/** Checks the daemon's reply to an event (the hook trusts the daemon, not its bytes). Never throws. */
export function parseEventReply(line: string): Parsed<EventReply> {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return fail('the daemon sent a reply that is not JSON');
  }
  if (!isObject(o) || o.version !== 1 || o.cmd !== 'response') return fail('the daemon sent a reply that is not a response');
  if (o.error !== undefined) return typeof o.error === 'string' ? { ok: true, value: { version: 1, cmd: 'response', error: o.error } } : fail('the daemon sent a non-string error');
  if (!u32(o.table) || typeof o.degraded !== 'boolean' || !u32(o.changes)) return fail('the daemon sent a reply without table, degraded and changes');
  const lines = o.lines ?? [];
  if (!Array.isArray(lines) || !lines.every((l) => typeof l === 'string')) {
    return fail('the daemon sent malformed log lines');
  }
  if (o.out !== undefined && typeof o.out !== 'string') return fail('the daemon sent a non-string plan');
  if (o.failed !== undefined && typeof o.failed !== 'string') return fail('the daemon sent a non-string failure');
  if (o.dns_done !== undefined && typeof o.dns_done !== 'boolean') return fail('the daemon sent a non-boolean dns_done');
  return {
    ok: true,
    value: {
      version: 1, cmd: 'response', table: o.table as number, degraded: o.degraded, changes: o.changes as number, lines: lines as string[],
      ...(o.out !== undefined ? { out: o.out as string } : {}),
      ...(o.failed !== undefined ? { failed: o.failed as string } : {}),
      ...(o.dns_done === true ? { dns_done: true } : {}),
    },
  };
}

/** Checks a `prefetch` line (already JSON-parsed): a valid interface name and one or both families, each once. */
export function parsePrefetchRequest(o: Record<string, unknown>): Parsed<PrefetchRequest> {
  if (o.version !== 1) return fail(`version: expected 1, received ${JSON.stringify(o.version)}`);
  if (o.cmd !== 'prefetch') return fail(`cmd: expected prefetch, received ${JSON.stringify(o.cmd)}`);
  const extra = Object.keys(o).filter((k) => !['version', 'cmd', 'ifname', 'families'].includes(k));
  if (extra.length) return fail(`unexpected field ${JSON.stringify(extra[0])}`);
  const problem = ifnameProblem(o.ifname);
  if (problem) return fail(`ifname: ${problem}`);
  const f = o.families;
  if (!Array.isArray(f) || f.length < 1 || f.length > 2 || !f.every((x) => x === 4 || x === 6) || new Set(f).size !== f.length) {
    return fail(`families: expected [4], [6] or [4, 6], received ${JSON.stringify(f)}`);
  }
  return { ok: true, value: { version: 1, cmd: 'prefetch', ifname: o.ifname as string, families: [...(f as Family[])].sort() } };
}
