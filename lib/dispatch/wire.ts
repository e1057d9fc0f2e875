// The hooks' events on the daemon's socket (`cmd: "event"`): a hook sends
// everything its run applies, its events and its name servers, and gets
// back the outcome and the log lines of whoever applied them
// (lib/dispatch/dispatch.ts). Addresses travel as canonical text and are
// parsed again on the daemon's side with the same lib/net parsers: nothing
// a peer sends reaches the planner unchecked. Pure functions only (the
// hook's path loads this).

import { parseInterfaceAddress, parseIp, parsePrefix, type Family, type IpAddress } from '../net/address.js';
import { ifnameProblem } from '../net/ifname.js';
import type { DnsChange } from '../dns/update.js';
import { fail, isObject, isU32, parseReplyMessage, unexpectedKey, type Parsed } from '../ipc/message.js';
import type { EventSource, ExtraRoute, RoutingEvent } from '../plan/event.js';
import { HOOKS, type HookName, type Job, type Outcome } from './job.js';

/** Longest event line the daemon accepts (bytes, newline excluded). */
export const MAX_EVENT_BYTES = 64 * 1024;
export const MAX_EVENTS = 16;
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
      manage_address: boolean;
      broadcast?: string;
      mtu?: number;
      preferred_lifetime?: number;
      valid_lifetime?: number;
      sole_lease?: boolean;
    }
  | { kind: 'address-down'; source: EventSource; ifname: string; address: string; manage_address: boolean; sole_lease?: boolean }
  | { kind: 'interface-gone'; source: EventSource | 'udev'; ifname: string };

/** One family's servers of an interface, or (remove_all) all of the interface's. */
export type WireDns = { ifname: string; family: Family; servers: string[] } | { ifname: string; remove_all: true };

/** The request line: a hook's job, applied or (dry_run) only planned. */
export interface EventRequest {
  version: 1;
  cmd: 'event';
  events: WireEvent[];
  dns?: WireDns;
  dry_run: boolean;
  /** Debug lines wanted in the reply (the hook's --verbose). */
  verbose: boolean;
  /** The config file the hook loaded: the daemon refuses a job planned for another config. */
  config_path: string;
  /** Which command sent it: its lines are logged under that name. */
  hook: HookName;
  /**
   * Unix time (ms) after which the hook no longer waits and works alone: a
   * job not started by then is dropped (a daemon that was stopped must not
   * apply it later, over what the hook did meanwhile).
   */
  expires_at: number;
}

export interface EventReply {
  version: 1;
  cmd: 'response';
  /** The job's log lines, formatted as the hook writes them on stderr. */
  lines?: string[];
  /** A dry run's plan (what the hook prints on its `out`). */
  out?: string;
  /** An event failed (logged, in `lines`); the events after it were not applied. */
  failed?: string;
  /** The job was not taken (malformed, another config): the hook works alone. */
  error?: string;
}

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
    manage_address: e.manageAddress,
  };
  if (e.broadcast) w.broadcast = e.broadcast.text;
  if (e.mtu !== undefined) w.mtu = e.mtu;
  if (e.preferredLifetime !== undefined) w.preferred_lifetime = e.preferredLifetime;
  if (e.validLifetime !== undefined) w.valid_lifetime = e.validLifetime;
  if (e.soleLease) w.sole_lease = true;
  return w;
}

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
  'address-up': ['kind', 'source', 'ifname', 'address', 'gateways', 'routes', 'manage_address', 'broadcast', 'mtu', 'preferred_lifetime', 'valid_lifetime', 'sole_lease'],
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
    const unknown = unexpectedKey(r, KEYS[kind]);
    need(unknown === undefined, 'event: unexpected field', unknown);
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
    const routes: ExtraRoute[] = list(r.routes, 'event.routes', MAX_ROUTES).map((x, i) => {
      const f = `event.routes[${i}]`;
      need(isObject(x), `${f}: expected an object`, x);
      const w = x as Record<string, unknown>;
      const extra = unexpectedKey(w, ['destination', 'gateway', 'metric']);
      need(extra === undefined, `${f}: unexpected field`, extra);
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
        need(isU32(w.metric), `${f}.metric: expected a whole number 0-4294967295`, w.metric);
        route.metric = w.metric as number;
      }
      return route;
    });
    const up: RoutingEvent = { kind, source, ifname, address, gateways, routes, manageAddress, ...sole };
    if (r.broadcast !== undefined) up.broadcast = ip(r.broadcast, 'event.broadcast', 4);
    if (r.mtu !== undefined) {
      need(Number.isSafeInteger(r.mtu) && (r.mtu as number) >= 68 && (r.mtu as number) <= 65535, 'event.mtu: expected 68-65535', r.mtu);
      up.mtu = r.mtu as number;
    }
    for (const [wire, key] of [['preferred_lifetime', 'preferredLifetime'], ['valid_lifetime', 'validLifetime']] as const) {
      if (r[wire] === undefined) continue;
      need(isU32(r[wire]), `event.${wire}: expected a whole number of seconds`, r[wire]);
      up[key] = r[wire] as number;
    }
    return { ok: true, value: up };
  } catch (err) {
    if (err instanceof WireError) return fail(err.message);
    throw err;
  }
}

/** A DNS change → wire form. */
export const encodeDns = (d: DnsChange): WireDns =>
  'removeAll' in d ? { ifname: d.ifname, remove_all: true } : { ifname: d.ifname, family: d.family, servers: d.servers.map((s) => s.text) };

/** Wire form → a DNS change, checked as the hook's input is. Never throws. */
export function decodeDns(o: unknown): Parsed<DnsChange> {
  try {
    need(isObject(o), 'dns: expected an object', o);
    const r = o as Record<string, unknown>;
    const ifProblem = ifnameProblem(r.ifname);
    need(!ifProblem, `dns.ifname: expected a Linux interface name (${ifProblem})`, r.ifname);
    const ifname = r.ifname as string;
    if (r.remove_all !== undefined) {
      const unknown = unexpectedKey(r, ['ifname', 'remove_all']);
      need(unknown === undefined, 'dns: unexpected field', unknown);
      need(r.remove_all === true, 'dns.remove_all: expected true', r.remove_all);
      return { ok: true, value: { ifname, removeAll: true } };
    }
    const unknown = unexpectedKey(r, ['ifname', 'family', 'servers']);
    need(unknown === undefined, 'dns: unexpected field', unknown);
    need(r.family === 4 || r.family === 6, 'dns.family: expected 4 or 6', r.family);
    const family = r.family as Family;
    const servers = list(r.servers, 'dns.servers', MAX_DNS_SERVERS).map((s, i) => ip(s, `dns.servers[${i}]`, family));
    return { ok: true, value: { ifname, family, servers } };
  } catch (err) {
    if (err instanceof WireError) return fail(err.message);
    throw err;
  }
}

/** A job → its request line's object. */
export function encodeJob(job: Job, configPath: string, expiresAt: number): EventRequest {
  const line: EventRequest = {
    version: 1, cmd: 'event', events: job.events.map(encodeEvent), dry_run: job.dryRun, verbose: job.verbose, config_path: configPath, hook: job.hook, expires_at: expiresAt,
  };
  if (job.dns) line.dns = encodeDns(job.dns);
  return line;
}

/** Checks an `event` request (a message of the protocol's version, lib/ipc/message.ts). Never throws. */
export function parseEventRequest(o: Record<string, unknown>): Parsed<{ job: Job; configPath: string; expiresAt: number }> {
  const extra = unexpectedKey(o, ['version', 'cmd', 'events', 'dns', 'dry_run', 'verbose', 'config_path', 'hook', 'expires_at']);
  if (extra !== undefined) return fail(`unexpected field ${JSON.stringify(extra)}`);
  if (typeof o.dry_run !== 'boolean') return fail(`dry_run: expected true or false, received ${JSON.stringify(o.dry_run)}`);
  if (typeof o.verbose !== 'boolean') return fail(`verbose: expected true or false, received ${JSON.stringify(o.verbose)}`);
  if (typeof o.config_path !== 'string' || o.config_path.length > 4096 || o.config_path.includes('\0')) return fail('config_path: expected a path');
  if (!Number.isSafeInteger(o.expires_at) || (o.expires_at as number) < 0) return fail(`expires_at: expected a time in ms, received ${JSON.stringify(o.expires_at)}`);
  if (!(HOOKS as readonly unknown[]).includes(o.hook)) return fail(`hook: expected one of ${HOOKS.join(', ')}, received ${JSON.stringify(o.hook)}`);
  if (!Array.isArray(o.events) || o.events.length > MAX_EVENTS) return fail(`events: expected a list of at most ${MAX_EVENTS}`);
  const events: RoutingEvent[] = [];
  for (const e of o.events) {
    const decoded = decodeEvent(e);
    if (!decoded.ok) return decoded;
    events.push(decoded.value);
  }
  const dns = o.dns === undefined ? undefined : decodeDns(o.dns);
  if (dns && !dns.ok) return dns;
  const job: Job = { hook: o.hook as HookName, events, dryRun: o.dry_run, verbose: o.verbose, ...(dns ? { dns: dns.value } : {}) };
  return { ok: true, value: { job, configPath: o.config_path, expiresAt: o.expires_at as number } };
}

/** An outcome → the reply's fields. */
export const encodeOutcome = (outcome: Outcome, lines: string[], out: string | undefined): EventReply => ({
  version: 1, cmd: 'response', lines, ...(out !== undefined ? { out } : {}), ...(outcome.failed !== undefined ? { failed: outcome.failed } : {}),
});

/** Checks the daemon's reply. Never throws. */
export function parseEventReply(line: string): Parsed<EventReply> {
  const message = parseReplyMessage(line, 'the daemon');
  if (!message.ok) return message;
  const o = message.value;
  if (o.error !== undefined) return { ok: true, value: { version: 1, cmd: 'response', error: o.error as string } };
  const lines = o.lines ?? [];
  if (!Array.isArray(lines) || !lines.every((l) => typeof l === 'string')) return fail('the daemon sent malformed log lines');
  if (o.out !== undefined && typeof o.out !== 'string') return fail('the daemon sent a non-string plan');
  if (o.failed !== undefined && typeof o.failed !== 'string') return fail('the daemon sent a non-string failure');
  return {
    ok: true,
    value: {
      version: 1, cmd: 'response', lines: lines as string[],
      ...(o.out !== undefined ? { out: o.out as string } : {}),
      ...(o.failed !== undefined ? { failed: o.failed as string } : {}),
    },
  };
}
