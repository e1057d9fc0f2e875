// Router advertisements as the kernel shows them: which addresses the kernel
// made itself from an RA's prefix (SLAAC), and which default routers the RAs
// announced on an interface (`default via fe80::… proto ra` in main). Pure:
// the watcher uses both to give a SLAAC address its table with the RA's
// default route mirrored into it. (A DHCPv6 address, /128 from dhclient, has
// no gateway of its own either: the same `raGateways` serves it.)

import type { IpAddress } from '../net/address.js';
import { PROTO_RA, TABLE_MAIN, type KernelState, type LinkAddress, type Route } from '../state/types.js';

/**
 * True for an address the kernel autoconfigured from an RA: IPv6, global,
 * dynamic (it has lifetimes), shorter than /128 (dhclient's DHCPv6 addresses
 * are /128), not a privacy (temporary) address, usable (not tentative, not
 * failed DAD). When iproute2 prints the address protocol, it must be kernel_ra.
 */
export function isSlaacAddress(a: LinkAddress): boolean {
  const A = a.address;
  if (A.address.family !== 6 || a.scope !== 0 || A.prefix.length >= 128) return false;
  if (a.protocol !== undefined && a.protocol !== 'kernel_ra' && a.protocol !== '2') return false;
  if (!a.flags.includes('dynamic')) return false;
  return !a.flags.some((f) => f === 'temporary' || f === 'tentative' || f === 'dadfailed');
}

/**
 * Seconds until the next RA default route on one of `ifnames` expires (the
 * kernel sends no event for that: the route only goes at its next gc), or
 * undefined when none will.
 */
export function nextRaExpiry(state: KernelState, ifnames: ReadonlySet<string>): number | undefined {
  let next: number | undefined;
  for (const r of state.routes) {
    if (r.family !== 6 || r.table !== TABLE_MAIN || r.protocol !== PROTO_RA || r.dst.length !== 0 || !r.dev || !ifnames.has(r.dev)) continue;
    if (r.expires !== undefined && r.expires > 0) next = Math.min(next ?? Infinity, r.expires);
  }
  return next;
}

/**
 * The default routers announced by RAs among `routes` (main-table routes of
 * one device) and not yet expired, best first (lowest metric, then address
 * text for a stable order), each once.
 */
export function raGatewaysIn(routes: readonly Route[]): IpAddress[] {
  const ra = routes
    .filter((r) => r.family === 6 && r.table === TABLE_MAIN && r.dst.length === 0 && r.protocol === PROTO_RA && r.gateway && r.type === 1 && (r.expires === undefined || r.expires > 0))
    .sort((a, b) => a.metric - b.metric || a.gateway!.text.localeCompare(b.gateway!.text));
  const seen = new Set<string>();
  return ra.flatMap((r) => (seen.has(r.gateway!.text) ? [] : (seen.add(r.gateway!.text), [r.gateway!])));
}

/** The RA default routers on `ifname` (see raGatewaysIn). */
export const raGateways = (state: KernelState, ifname: string): IpAddress[] =>
  raGatewaysIn(state.routes.filter((r) => r.dev === ifname));
