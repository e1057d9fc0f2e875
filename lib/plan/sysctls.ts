// Sysctls of a managed interface: ignore_routes_with_linkdown=1 per managed
// family; rp_filter=2 on the interface when loose_rp_filter and the effective
// value max(all, I) is strict (1). `all` is never touched (host-wide). Old
// values are saved and restored when the interface holds no managed address
// any more.

import type { Config } from '../config/schema.js';
import type { Family } from '../net/address.js';
import { managedSysctlKeys, RP_FILTER_ALL } from '../state/sysctl.js';
import type { KernelState } from '../state/types.js';
import type { Builder } from './builder.js';
import type { Subject } from './change.js';
import { tableKey, type StateIndex } from './index.js';

/** Sets ignore_routes_with_linkdown and (when strict) rp_filter on a managed interface. */
export function planSysctls(b: Builder, state: KernelState, config: Config, ifname: string, family: Family, subject: Subject) {
  const sys = state.sysctls[ifname];
  if (!sys) return;
  for (const key of managedSysctlKeys(ifname, [family], config.looseRpFilter)) {
    const current = sys.current[key] ?? '';
    if (current === '') continue; // not there (IPv6 disabled, interface gone)
    let want = '1';
    let reason = 'routes through a link without carrier are not used (failover)';
    if (key.endsWith('/rp_filter')) {
      const all = Number(sys.current[RP_FILTER_ALL] ?? '0');
      // The kernel uses max(all, interface): only strict (1) needs loosening.
      if (Math.max(all, Number(current)) !== 1) continue;
      want = '2';
      reason = 'strict rp_filter drops replies when two interfaces share an address: loose (2)';
    }
    if (current === want) continue;
    b.post.push({ kind: 'set-sysctl', key, ifname, value: want, previous: current, save: !(key in sys.saved), subject, reason });
  }
}

/** Restores saved sysctls of an interface that holds no managed address any more. */
export function planRestore(b: Builder, state: KernelState, ifname: string, gone: boolean) {
  const sys = state.sysctls[ifname];
  if (!sys || Object.keys(sys.saved).length === 0) return;
  const subject: Subject = { ifname, table: 0 };
  if (!gone) {
    for (const [key, value] of Object.entries(sys.saved)) {
      const current = sys.current[key] ?? '';
      if (current === '' || current === value) continue;
      b.last.push({ kind: 'set-sysctl', key, ifname, value, previous: current, save: false, subject, reason: 'interface no longer managed: restore the value it had' });
    }
  }
  b.last.push({ kind: 'forget-sysctls', ifname, subject, reason: gone ? 'interface gone' : 'interface no longer managed' });
}

/** Restores the interface's sysctls when, after what `b` removes, nothing of ours is left on it. */
export function restoreIfUnmanaged(b: Builder, state: KernelState, idx: StateIndex, config: Config, ifname: string) {
  for (const e of idx.entries.values()) {
    if (e.ifname === ifname && !b.removed.has(tableKey(e.family, e.table))) return;
  }
  for (const f of [4, 6] as const) {
    for (const r of idx.mainByDev.get(`${f}:${ifname}`) ?? []) {
      if (r.protocol === config.protocol && !b.removedMain.has(r)) return;
    }
  }
  planRestore(b, state, ifname, !idx.links.has(ifname));
}
