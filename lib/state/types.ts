// Kernel state as typed values: what `ip -json` reports about links,
// addresses, routes and rules, plus the few sysctls we manage. Built by the
// pure parsers in parse.ts, read by read.ts, consumed by the planner.

import type { Family, IpAddress, IpInterfaceAddress, IpPrefix } from '../net/address.js';

/** Well-known table numbers (rt_tables). */
export const TABLE_MAIN = 254;
export const TABLE_LOCAL = 255;
/** Well-known route protocols (rt_protos). */
export const PROTO_KERNEL = 2;
export const PROTO_BOOT = 3;
/** Routes the kernel learned from router advertisements. */
export const PROTO_RA = 9;
/** The link route scope (rt_scopes). */
export const SCOPE_LINK = 253;

export interface LinkAddress {
  address: IpInterfaceAddress;
  /** 0 global, 253 link, 254 host. */
  scope: number;
  /** Deprecated or tentative IPv6 addresses are still listed; flags kept for status. */
  flags: string[];
  /** Seconds the address stays valid; absent when forever. */
  validLifetime?: number;
  /** Who added it (IFA_PROTO: `kernel_ra` for SLAAC), when iproute2 prints it. */
  protocol?: string;
}

export interface Link {
  ifindex: number;
  ifname: string;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** Has carrier (IFF_LOWER_UP). */
  carrier: boolean;
  /** linkinfo kind (veth, vlan, bridge…), when read with `-d` (status, fixtures; hooks skip it for speed). */
  kind?: string;
  addresses: LinkAddress[];
}

export interface Route {
  family: Family;
  table: number;
  /** 1 unicast, 2 local, 3 broadcast, 5 multicast, 6 blackhole, 7 unreachable… */
  type: number;
  dst: IpPrefix;
  gateway?: IpAddress;
  dev?: string;
  protocol: number;
  scope: number;
  prefsrc?: IpAddress;
  /** The kernel's priority; IPv4 routes without one have 0. */
  metric: number;
  /** `linkdown`, `dead`, `onlink`, … */
  flags: string[];
  /**
   * Seconds left (RA routes). An expired IPv6 route is no longer used but
   * stays listed, with 0 or a negative value, until the kernel's route gc.
   */
  expires?: number;
}

export interface Rule {
  family: Family;
  priority: number;
  src?: IpPrefix;
  dst?: IpPrefix;
  iif?: string;
  oif?: string;
  /** Set when the rule's interface no longer exists. */
  detached: boolean;
  /** Target of `lookup`; undefined for other actions (goto, blackhole, nop…). */
  table?: number;
  /** `fwmark VALUE/MASK` (our replies of inbound connections, Tailscale's, an operator's). */
  fwmark?: { value: number; mask: number };
  /** The action when it is not `lookup` (`unreachable`, `blackhole`, `goto`…). */
  action?: string;
  /** `suppress_prefixlength N`: routes of the table with a prefix this short or shorter are not used. */
  suppressPrefixLength?: number;
  protocol: number;
  /** The rule has selectors we never create (not, uidrange, sport…). */
  foreignSelectors: boolean;
}

/** Sysctl values of one interface we may change, and what we saved before. */
export interface InterfaceSysctls {
  /** Keys like `net/ipv4/conf/eth0/rp_filter` → current value ('' when unreadable). */
  current: Record<string, string>;
  /** Values saved before we changed them, to restore when unmanaged. */
  saved: Record<string, string>;
}

export interface KernelState {
  links: Link[];
  routes: Route[];
  rules: Rule[];
  /** Per interface name, only for the interfaces the reader was asked about. */
  sysctls: Record<string, InterfaceSysctls>;
}
