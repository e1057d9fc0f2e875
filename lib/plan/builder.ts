// Collects one plan: its changes in the order they must run, and what it
// takes away (tables, fallback routes in main, leases), which the band
// re-ranking and the sysctl restore then look at.

import { hostPrefix, type IpAddress, type IpInterfaceAddress } from '../net/address.js';
import type { Route } from '../state/types.js';
import type { Change, Plan, Subject } from './change.js';
import { tableKey, type Entry } from './index.js';
import { specOfRoute, specOfRule } from './specs.js';

/** A plan being built; deletions and additions are kept apart so deletions run first. */
export class Builder {
  /** Addresses, lifetimes, MTU: before the routes that name the address. */
  readonly pre: Change[] = [];
  readonly dels: Change[] = [];
  readonly adds: Change[] = [];
  /** Moving routes out of main and sysctls: once the table is in place. */
  readonly post: Change[] = [];
  /** Address deletions and sysctl restores. */
  readonly last: Change[] = [];
  /** tableKey of every entry this plan removes. */
  readonly removed = new Set<string>();
  /** Our fallback routes in main this plan removes. */
  readonly removedMain = new Set<Route>();
  /** Leases this plan gives up. */
  readonly released: Plan['released'] = [];

  /** The changes in the order they run. */
  list(): Change[] {
    return [...this.pre, ...this.dels, ...this.adds, ...this.post, ...this.last];
  }

  /** Removes everything of one entry (its rules, our routes in its table); `release`: give its lease up for that address. */
  removeEntry(entry: Entry, reason: string, release?: { ifname: string; address: IpInterfaceAddress }) {
    const subject = subjectOf(entry.ifname ?? '?', entry.address, entry.table);
    for (const r of entry.rules) this.dels.push({ kind: 'del-rule', rule: specOfRule(r), subject, reason });
    for (const r of entry.routes) this.dels.push({ kind: 'del-route', route: specOfRoute(r), subject, reason });
    this.removed.add(tableKey(entry.family, entry.table));
    if (release) this.released.push({ ...release, table: entry.table });
  }

  /** Removes a fallback route of ours from main. */
  removeMainRoute(r: Route, subject: Subject, reason: string) {
    this.dels.push({ kind: 'del-route', route: specOfRoute(r), subject, reason });
    this.removedMain.add(r);
  }
}

/** The address an entry's lease is held for (its `to` prefix, else the host), when the entry names one. */
export function leaseOf(entry: Entry): { ifname: string; address: IpInterfaceAddress } | undefined {
  if (!entry.address || entry.ifname === undefined) return undefined;
  return { ifname: entry.ifname, address: { address: entry.address, prefix: entry.prefix ?? hostPrefix(entry.address) } };
}

/** Which address a change is for, for its log line. */
export function subjectOf(ifname: string, address: IpInterfaceAddress | IpAddress | undefined, table: number): Subject {
  const text = address === undefined ? undefined : 'prefix' in address ? `${address.address.text}/${address.prefix.length}` : address.text;
  return { ifname, ...(text ? { address: text } : {}), table };
}
