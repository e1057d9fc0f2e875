// Leases nobody uses (pure): a lease whose address is not on its interface
// and that no other decision of the pass acts on is released once it has
// been seen so for `lease_reclaim_grace` seconds. reconcile.ts releases at
// once the leases it saw held in this daemon's life; this covers the rest:
// leases of events that failed before they could return them, leases a
// store kept from before a crash, `lease request`s nobody released. A
// request for the lease (its expiry moved) starts the wait again: a hook
// asks for its table before it adds its address, and must find it there.

import type { WireLease } from '../allocator/protocol.js';
import type { KernelState } from '../state/types.js';
import { leaseKey, type Action } from './reconcile.js';

/** When a lease was first seen unused, and its expiry then (a change means it was requested since). */
export interface Absence {
  since: number;
  expires: number;
}

export interface ReclaimInput {
  state: KernelState;
  leases: readonly WireLease[];
  /** The previous pass's absences (not changed). */
  absent: ReadonlyMap<string, Absence>;
  /** This pass's other actions: leases they release or renew are theirs. */
  actions: readonly Action[];
  /** Unix seconds. */
  now: number;
  graceS: number;
}

export interface ReclaimResult {
  releases: Extract<Action, { kind: 'release' }>[];
  absent: Map<string, Absence>;
  /** Seconds until the next lease's grace ends: pass again then. */
  recheckInS?: number;
}

/** The lease keys (and interfaces) the pass's other actions already decide. */
function actedOn(actions: readonly Action[]): { keys: Set<string>; ifnames: Set<string> } {
  const keys = new Set<string>();
  const ifnames = new Set<string>();
  for (const a of actions) {
    if (a.kind === 'release' || a.kind === 'renew') keys.add(leaseKey(a.lease.addr_family, a.lease.ifname, a.lease.address));
    else if (a.kind === 'claim') keys.add(leaseKey(a.family, a.ifname, a.address));
    else if (a.event.kind === 'interface-gone') ifnames.add(a.event.ifname);
    else keys.add(leaseKey(a.event.address.address.family, a.event.ifname, a.event.address.address.text));
  }
  return { keys, ifnames };
}

export function reclaimUnused(input: ReclaimInput): ReclaimResult {
  const { now, graceS } = input;
  const present = new Set<string>();
  for (const l of input.state.links) for (const a of l.addresses) present.add(leaseKey(a.address.address.family, l.ifname, a.address.address.text));
  const { keys, ifnames } = actedOn(input.actions);
  const absent = new Map<string, Absence>();
  const releases: ReclaimResult['releases'] = [];
  let recheckInS: number | undefined;
  for (const lease of input.leases) {
    const key = leaseKey(lease.addr_family, lease.ifname, lease.address);
    if (present.has(key) || keys.has(key) || ifnames.has(lease.ifname)) continue;
    const before = input.absent.get(key);
    const since = before && before.expires === lease.lease_expires ? before.since : now;
    const left = since + graceS - now;
    if (left <= 0) {
      releases.push({ kind: 'release', lease, why: `address ${lease.address} has not been on ${lease.ifname} for ${now - since} s (lease_reclaim_grace ${graceS} s)` });
      continue;
    }
    absent.set(key, { since, expires: lease.lease_expires });
    recheckInS = Math.min(recheckInS ?? left, left);
  }
  return { releases, absent, ...(recheckInS !== undefined ? { recheckInS } : {}) };
}
