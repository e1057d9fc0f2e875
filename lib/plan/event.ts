// What happened, as the hooks and the watcher tell it to the planner. Hooks
// turn their caller's environment (ifupdown's IF_*, NetworkManager's IP4_*,
// dhclient's new_*/old_*, udev's INTERFACE) into one of these; everything in
// them is already parsed and validated.

import type { Family, IpAddress, IpInterfaceAddress, IpPrefix } from '../net/address.js';

/** Who configured the address: decides what we may move out of main. */
export type EventSource = 'ifupdown' | 'NetworkManager' | 'dhclient' | 'kernel';

/** A route the address came with (DHCP classless static route, IP4_ROUTE_N). */
export interface ExtraRoute {
  destination: IpPrefix;
  /** Absent for on-link routes. */
  gateway?: IpAddress;
  metric?: number;
}

export interface AddressUp {
  kind: 'address-up';
  source: EventSource;
  ifname: string;
  address: IpInterfaceAddress;
  /** Default routers in order of preference (DHCP may give several). */
  gateways: IpAddress[];
  routes: ExtraRoute[];
  /**
   * True when we put the address on the interface ourselves (dhclient: the
   * shim unsets `reason`, so dhclient-script does not); false when the caller
   * already did (ifupdown, NetworkManager, kernel/SLAAC).
   */
  manageAddress: boolean;
  /** IPv4 broadcast address and MTU, when manageAddress is set. */
  broadcast?: IpAddress;
  mtu?: number;
  /**
   * Address lifetimes in seconds, when manageAddress is set (DHCPv6; DHCPv4:
   * the lease time, as dhclient-script sets it). An address already on the
   * interface gets them refreshed (`ip addr change`).
   */
  preferredLifetime?: number;
  validLifetime?: number;
  /**
   * The interface holds at most one address of this kind and family (a
   * DHCPv4 client has one lease per interface): every OTHER address of ours
   * on the interface of this family that carries a lease lifetime is a stale
   * lease (a refused renewal, a lease file reporting an older address) and is
   * removed with everything of it. See staleLeases in stale.ts for the exact
   * criterion.
   */
  soleLease?: boolean;
  /**
   * Set by the watcher when it adopts an address no hook reported: why, as
   * `status` shows it (kept in the address's record, lib/state/records.ts).
   */
  adopted?: string;
  /**
   * With `adopted`: the gateways and routes are those of the address's own
   * main-table fallback (a hook had no table lease), not main's routers, so
   * the entry does not follow main's (lib/watch/adopt.ts).
   */
  fromFallback?: boolean;
}

export interface AddressDown {
  kind: 'address-down';
  source: EventSource;
  ifname: string;
  address: IpInterfaceAddress;
  /** Also remove the address from the interface (dhclient EXPIRE/RELEASE/…). */
  manageAddress: boolean;
  /**
   * The interface's only lease of this family ends (dhclient EXPIRE, FAIL,
   * RELEASE, STOP): every other address of ours on the interface of this
   * family that carries a lease lifetime is a stale lease and goes too, as
   * dhclient-script flushes the interface's addresses (staleLeases in stale.ts).
   */
  soleLease?: boolean;
}

/** The interface is gone (udev remove, link deleted): drop all we had for it. */
export interface InterfaceGone {
  kind: 'interface-gone';
  source: EventSource | 'udev';
  ifname: string;
}

export type RoutingEvent = AddressUp | AddressDown | InterfaceGone;

/** The daemon's health probes: an uplink's health changed, re-converge one family's band. */
export interface Rerank {
  kind: 'rerank';
  source: 'health';
  family: Family;
  /** The uplink whose health changed (for the log). */
  ifname: string;
}

/** What the planner takes: a hook's or the watcher's event, or the daemon's own re-ranking. */
export type PlanEvent = RoutingEvent | Rerank;
