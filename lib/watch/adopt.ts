// Adoption (pure): an address that no hook reported — NetworkManager's
// dhcp4-change (Debian's 01-ifupdown ignores it), systemd-networkd,
// `ip addr add` by hand, links already up when the daemon starts — gets its
// table like any other, as an address-up from source `kernel` (main is left
// as it is) with the default routes the kernel has in main for its interface
// as gateways (any protocol but ours; for IPv6 that includes the RA's
// routers). An address a hook left on the main-table fallback (degraded: no
// table lease) keeps the gateways and routes of that fallback, which are the
// hook's own: they go when the table replaces the fallback, so following
// main would take them away.
//
// A new address waits `adopt_grace_ms` first: a hook may be about to report
// it (ifup runs its post-up hooks after adding the address; NetworkManager's
// dispatcher after NetworkManager did). Addresses present in the daemon's
// first pass are taken over at once (installation on a running host). An
// address whose entry went while it stayed (a hook's down event) is left
// alone until it goes: someone decided it should not be routed.
//
// Not adopted: link-local and host-scope addresses, tentative, failed-DAD,
// deprecated and privacy (temporary) addresses, SLAAC addresses (the SLAAC
// path in reconcile.ts, manage_slaac), addresses of ignored interfaces, of
// interfaces down or without carrier, and of interfaces whose name a hook
// would refuse; a host address (/32, /128) without a default router (a
// point-to-point link's: nothing would be in its table).

import type { Config } from '../config/schema.js';
import { isLinkLocal, type Family, type IpAddress } from '../net/address.js';
import type { AddressUp, ExtraRoute } from '../plan/event.js';
import type { Entry } from '../plan/index.js';
import type { Snapshot } from '../state/records.js';
import { isIgnored } from '../plan/ignore.js';
import { isSlaacAddress } from '../plan/ra.js';
import { TABLE_MAIN, type KernelState, type Link, type LinkAddress, type Route } from '../state/types.js';

export interface AdoptMemory {
  /** Lease key → when the address was first seen without an entry (ms). */
  since: Map<string, number>;
  /** Keys whose entry went while the address stayed: not adopted while present. */
  declined: Set<string>;
}

export interface AdoptInput {
  state: KernelState;
  config: Pick<Config, 'ignoreInterfaces' | 'adoptGraceMs' | 'protocol'>;
  /** Entries of ours by key (family|ifname|address), and keys an earlier step already acts on. */
  entries: ReadonlyMap<string, Entry>;
  handled: ReadonlySet<string>;
  /** Keys that had a complete entry in the previous pass. */
  hadEntry: ReadonlySet<string>;
  memory: AdoptMemory;
  /** The address records (lib/state/records.ts): which entries were adopted. */
  records?: readonly Snapshot[];
  nowMs: number;
  /** The daemon's first pass: what is present is taken over without waiting. */
  takeOver: boolean;
  key: (family: Family, ifname: string, address: string) => string;
}

export interface Adoption {
  event: AddressUp;
  why: string;
  /** An adopted entry brought up to date (its address has a complete entry already). */
  refresh?: boolean;
}

export interface AdoptResult {
  adoptions: Adoption[];
  memory: AdoptMemory;
  /** Milliseconds until the next waiting address is due. */
  dueInMs?: number;
}

const SKIPPED_FLAGS = new Set(['tentative', 'dadfailed', 'deprecated', 'temporary']);
/** What the hooks accept as an interface name (hooks/ifupdown/env.ts): the same names get routing. */
const HOOK_IFNAME = /^[A-Za-z0-9_.@+-]{1,15}$/;

/** True for an address the watcher may adopt (its interface checked apart). */
export function isAdoptable(a: LinkAddress): boolean {
  const A = a.address.address;
  if (a.scope !== 0 || a.flags.some((f) => SKIPPED_FLAGS.has(f))) return false;
  if (isLinkLocal(A)) return false;
  if (A.family === 6) return !isSlaacAddress(a);
  const first = Number(A.value >> 24n);
  return first !== 127 && first < 224; // 127/8 on another interface, multicast and class E: never a source to route
}

/** True for an interface whose addresses may be adopted. */
export function linkAdoptable(link: Link, config: Pick<Config, 'ignoreInterfaces'>): boolean {
  return link.up && link.carrier && HOOK_IFNAME.test(link.ifname) && !isIgnored(config as Config, link.ifname);
}

/** Default routes' routers, best first (metric, then address), each once. */
function routersOf(defaults: readonly Route[]): IpAddress[] {
  const seen = new Set<string>();
  return [...defaults]
    .sort((a, b) => a.metric - b.metric || a.gateway!.text.localeCompare(b.gateway!.text))
    .flatMap((r) => (seen.has(r.gateway!.text) ? [] : (seen.add(r.gateway!.text), [r.gateway!])));
}

const isDefaultVia = (r: Route) => r.type === 1 && r.dst.length === 0 && !!r.gateway;

/**
 * The default routers of `ifname` in main (any protocol but ours, which are
 * fallbacks of degraded addresses; unexpired), best first.
 */
export function kernelGateways(state: KernelState, ifname: string, family: Family, protocol: number): IpAddress[] {
  return routersOf(state.routes.filter((r) =>
    r.family === family && r.table === TABLE_MAIN && r.dev === ifname && r.protocol !== protocol && isDefaultVia(r) && (r.expires === undefined || r.expires > 0)));
}

/**
 * What a hook without a table lease put in main for address A (its
 * fallback: our protocol, source A; lib/plan/specs.ts desiredRoutes): its
 * gateway and its other routes (not the on-link prefix route; metrics are
 * the fallback's, so left to the table's default). Undefined: no fallback.
 */
function fallbackOf(state: KernelState, link: Link, a: LinkAddress, protocol: number): { gateways: IpAddress[]; routes: ExtraRoute[] } | undefined {
  const A = a.address.address;
  const ours = state.routes.filter((r) => r.family === A.family && r.table === TABLE_MAIN && r.dev === link.ifname && r.protocol === protocol && r.prefsrc?.text === A.text);
  if (!ours.length) return undefined;
  const onlinkPrefix = (r: Route) => !r.gateway && r.dst.length === a.address.prefix.length && r.dst.network.text === a.address.prefix.network.text;
  const routes = ours
    .filter((r) => r.type === 1 && r.dst.length > 0 && !onlinkPrefix(r))
    .map((r): ExtraRoute => ({ destination: r.dst, ...(r.gateway ? { gateway: r.gateway } : {}) }));
  return { gateways: routersOf(ours.filter(isDefaultVia)), routes };
}

/** One pass of adoption decisions. */
export function planAdoptions(input: AdoptInput): AdoptResult {
  const { state, config, nowMs } = input;
  const since = new Map<string, number>();
  const declined = new Set<string>();
  const adoptions: Adoption[] = [];
  let dueInMs: number | undefined;
  for (const link of state.links) {
    for (const a of link.addresses) {
      const A = a.address.address;
      const key = input.key(A.family, link.ifname, A.text);
      if (input.entries.has(key) || input.handled.has(key)) continue;
      // An entry that went while its address stayed: a hook took it down.
      if (input.memory.declined.has(key) || input.hadEntry.has(key)) {
        declined.add(key);
        continue;
      }
      if (!isAdoptable(a) || !linkAdoptable(link, config)) continue;
      const first = input.memory.since.get(key) ?? (input.takeOver ? -Infinity : nowMs);
      since.set(key, first);
      const waited = nowMs - first;
      if (waited < config.adoptGraceMs) {
        dueInMs = Math.min(dueInMs ?? Infinity, config.adoptGraceMs - waited);
        continue;
      }
      const why =
        first === -Infinity
          ? 'present when the daemon started, without a table: taken over'
          : `no hook reported it within ${config.adoptGraceMs} ms: adopted`;
      const fallback = fallbackOf(state, link, a, config.protocol);
      const gateways = fallback?.gateways ?? kernelGateways(state, link.ifname, A.family, config.protocol);
      // A host address without a router (ppp0's /32, `default dev tun0`): its table would hold no route.
      if (!gateways.length && isHost(a)) continue;
      const from = fallback ? "its hook's fallback in main" : 'main';
      adoptions.push({
        event: {
          kind: 'address-up', source: 'kernel', ifname: link.ifname, address: a.address, gateways, routes: fallback?.routes ?? [], manageAddress: false, adopted: why,
          ...(fallback ? { fromFallback: true } : {}),
        },
        why: `${why} (gateways from ${from}: ${gateways.map((g) => g.text).join(' ') || 'none'})`,
      });
    }
  }
  adoptions.push(...refreshes(input));
  return { adoptions, memory: { since, declined }, ...(dueInMs !== undefined ? { dueInMs } : {}) };
}

const isHost = (a: LinkAddress) => a.address.prefix.length >= (a.address.address.family === 4 ? 32 : 128);

/**
 * Adopted entries whose table's default routers are no longer main's for
 * their interface (NetworkManager or networkd changed the gateway): the
 * same address-up again, with main's routers (the kernel is the truth; a
 * hook's entries follow the hook's events instead, and so do those taken
 * over from a hook's fallback).
 */
function refreshes(input: AdoptInput): Adoption[] {
  const out: Adoption[] = [];
  for (const r of input.records ?? []) {
    const A = r.address.split('/')[0]!;
    const key = input.key(r.family, r.ifname, A);
    const e = input.entries.get(key);
    const link = input.state.links.find((l) => l.ifname === r.ifname);
    const a = link?.addresses.find((x) => x.address.address.text === A);
    if (!r.adopted || r.fromFallback || !e || e.table !== r.table || input.handled.has(key) || !link || !a || !linkAdoptable(link, input.config)) continue;
    const have = e.routes.filter((x) => x.dst.length === 0 && x.gateway).sort((x, y) => x.metric - y.metric).map((x) => x.gateway!.text);
    const gateways = kernelGateways(input.state, r.ifname, r.family, input.config.protocol);
    const want = gateways.map((g) => g.text);
    if ((isHost(a) && !want.length) || (have.length === want.length && have.every((g, i) => g === want[i]))) continue;
    out.push({
      event: { kind: 'address-up', source: 'kernel', ifname: r.ifname, address: a.address, gateways, routes: [], manageAddress: false, adopted: r.adopted },
      why: `main's default routers of ${r.ifname} changed (${want.join(' ') || 'none'})`,
      refresh: true,
    });
  }
  return out;
}
