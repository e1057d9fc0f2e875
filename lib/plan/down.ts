// The planners of what goes away. An address: everything of ours for it goes;
// when it stays on the interface, the kernel's prefix route comes back to
// main; with `soleLease` the interface's stale leases go with it. An
// interface (udev remove, link deleted): every table and fallback route of
// ours for it, in both families, and its saved sysctls are forgotten.

import type { Config } from '../config/schema.js';
import { TABLE_MAIN, type KernelState } from '../state/types.js';
import { Builder, leaseOf, subjectOf } from './builder.js';
import type { Plan } from './change.js';
import type { AddressDown, InterfaceGone } from './event.js';
import type { StateIndex } from './index.js';
import { planForwarding } from './pins.js';
import { rerank } from './ranking.js';
import { asRouted, kernelPrefixRoute, specOfRule } from './specs.js';
import { isSecondary, removeStaleLeases, staleLeases } from './stale.js';
import { restoreIfUnmanaged } from './sysctls.js';

/** Plans an address going down (ifdown, dhclient EXPIRE/RELEASE, a vanished address). */
export function planAddressDown(state: KernelState, idx: StateIndex, event: AddressDown, config: Config): Plan {
  const e = { ...event, address: asRouted(event.address) };
  const f = e.address.address.family;
  const A = e.address.address;
  const b = new Builder();
  let table = 0;
  for (const entry of idx.entries.values()) {
    if (entry.family !== f || entry.ifname !== e.ifname || entry.address?.text !== A.text) continue;
    b.removeEntry(entry, 'address went down', { ifname: e.ifname, address: e.address });
    table = entry.table;
  }
  const subject = subjectOf(e.ifname, e.address, table);
  for (const r of idx.mainByDev.get(`${f}:${e.ifname}`) ?? []) {
    if (r.protocol === config.protocol && r.prefsrc?.text === A.text) b.removeMainRoute(r, subject, 'address went down: remove its fallback route');
  }
  for (const r of idx.fallbackRules) {
    if (r.src?.network.text === A.text) b.dels.push({ kind: 'del-rule', rule: specOfRule(r), subject, reason: 'address went down: remove its fallback rule' });
  }
  const hadOurs = b.removed.size > 0 || b.removedMain.size > 0;
  // The interface's only lease ended: the stale ones of ours go with it.
  const stale = e.soleLease ? staleLeases(idx, config, e.ifname, f, A) : [];
  const deletions = removeStaleLeases(b, e.ifname, stale, `stale ${e.source} lease: ${e.ifname}'s lease ended`);
  const on = idx.links.get(e.ifname)?.addresses.find((a) => a.address.address.text === A.text);
  if (on && e.source !== 'NetworkManager' && hadOurs) {
    // Give the kernel its prefix route back: the address stays, so must on-link reachability.
    const main = state.routes.filter((r) => r.table === TABLE_MAIN && r.type === 1 && !b.removedMain.has(r));
    const spec = kernelPrefixRoute(main, e.ifname, A, e.address.prefix);
    if (spec) b.adds.push({ kind: 'add-route', route: spec, subject, reason: 'address stays: restore the kernel prefix route in main' });
  }
  // The address as the kernel holds it: a /0 from elsewhere is deleted as /0.
  if (on && e.manageAddress) deletions.unshift([on, { kind: 'del-address', ifname: e.ifname, address: on.address, subject, reason: `${e.source}: address given up` }]);
  // Secondaries first: deleting a primary deletes its secondaries (promote_secondaries off).
  b.last.push(...deletions.sort(([x], [y]) => isSecondary(y) - isSecondary(x)).map(([, c]) => c));
  if (b.removed.size) rerank(b, config, idx, f);
  planForwarding(b, state, idx, config, f);
  restoreIfUnmanaged(b, state, idx, config, e.ifname);
  return { changes: b.list(), table, degraded: false, released: b.released };
}

/** Plans the removal of everything we had for a vanished interface. */
export function planInterfaceGone(state: KernelState, idx: StateIndex, e: InterfaceGone, config: Config): Plan {
  const b = new Builder();
  for (const entry of idx.entries.values()) {
    if (entry.ifname === e.ifname) b.removeEntry(entry, 'interface gone', leaseOf(entry));
  }
  for (const f of [4, 6] as const) {
    for (const r of idx.mainByDev.get(`${f}:${e.ifname}`) ?? []) {
      if (r.protocol === config.protocol) b.removeMainRoute(r, subjectOf(e.ifname, r.prefsrc, 0), 'interface gone: remove its fallback route');
    }
  }
  for (const f of [4, 6] as const) if ([...b.removed].some((k) => k.startsWith(`${f}:`))) rerank(b, config, idx, f);
  for (const f of [4, 6] as const) planForwarding(b, state, idx, config, f);
  restoreIfUnmanaged(b, state, idx, config, e.ifname);
  return { changes: b.list(), table: 0, degraded: false, released: b.released };
}
