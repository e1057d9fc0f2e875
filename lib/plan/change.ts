// The changes a plan is made of. Each says what to do, to which interface,
// address and table, and why; the applier turns them into `ip` commands and
// sysctl writes, `--dry-run` prints them.

import type { Family, IpAddress, IpInterfaceAddress, IpPrefix } from '../net/address.js';
import type { Rule } from '../state/types.js';

/** A route as we add or delete it. */
export interface RouteSpec {
  family: Family;
  table: number;
  dst: IpPrefix;
  dev: string;
  gateway?: IpAddress;
  prefsrc?: IpAddress;
  /** 253 (link) for on-link IPv4 routes; undefined leaves it to the kernel. */
  scope?: number;
  metric: number;
  protocol: number;
  /** The gateway is reachable on the link though outside the prefix. */
  onlink?: boolean;
}

/** A rule as we add or delete it: the kernel's rule selectors, a `lookup` table, our protocol. */
export type RuleSpec = Pick<Rule, 'family' | 'priority' | 'src' | 'dst' | 'iif' | 'oif' | 'protocol' | 'fwmark' | 'suppressPrefixLength'> & {
  table: number;
  /** Instead of `lookup table` (a strict pin's last rule); table is then 0. */
  action?: 'unreachable';
};

/** Which managed address a change is for (for the one log line per decision). */
export interface Subject {
  ifname: string;
  /** `A/len`, when the change concerns one address. */
  address?: string;
  /** 0 in fallback (main table, degraded). */
  table: number;
}

interface Base {
  subject: Subject;
  reason: string;
}

export type Change =
  | (Base & { kind: 'add-route' | 'del-route'; route: RouteSpec })
  | (Base & { kind: 'add-rule' | 'del-rule'; rule: RuleSpec })
  | (Base & {
      /** change-address: the address is there; only its lifetimes are refreshed (a renewed lease). */
      kind: 'add-address' | 'del-address' | 'change-address';
      ifname: string;
      address: IpInterfaceAddress;
      broadcast?: IpAddress;
      noprefixroute?: boolean;
      preferredLifetime?: number;
      validLifetime?: number;
    })
  | (Base & { kind: 'set-mtu'; ifname: string; mtu: number })
  | (Base & {
      kind: 'set-sysctl';
      /** Path below /proc/sys, e.g. net/ipv4/conf/eth0/rp_filter. */
      key: string;
      ifname: string;
      value: string;
      previous: string;
      /** Keep `previous` under run_dir, to restore when the interface is no longer managed. */
      save: boolean;
    })
  | (Base & { kind: 'forget-sysctls'; ifname: string });

/** What an event leads to. */
export interface Plan {
  changes: Change[];
  /** Table in use for the event's address (0: main, degraded, or nothing managed). */
  table: number;
  degraded: boolean;
  /** Why nothing is managed (ignored interface, link-local address…), when so. */
  skipped?: string;
  /** (ifname, address) whose tables this plan gives up (down events, vanished interfaces): release their leases. */
  released: { ifname: string; address: IpInterfaceAddress; table: number }[];
}
