// A leased address still on its interface, but no rule or route of ours for
// its table: the hook's work is gone.

import { indexState } from '../../plan/index.js';
import { degradedAddresses } from '../candidates.js';
import { rerunHook, type Check } from '../check.js';
import type { Finding } from '../findings.js';

export const missingTable: Check = {
  id: 'missing-table',
  findings: ['missing-table'],
  run(snap, config) {
    const idx = indexState(snap.kernel, config);
    const degraded = degradedAddresses(snap.kernel, config);
    const out: Finding[] = [];
    for (const l of snap.daemon.leases ?? []) {
      const held = idx.links.get(l.ifname)?.addresses.find((a) => a.address.address.text === l.address);
      if (!held || idx.entries.has(`${l.family}:${l.table}`)) continue;
      // Brought up on the fallback while the daemon was down, with a lease from before: `degraded` says so and how to fix it.
      if (degraded.has(`${l.ifname} ${l.address}`)) continue;
      out.push({
        id: 'missing-table',
        severity: 'error',
        subject: `${l.ifname} ${l.address}`,
        what: `${l.address} on ${l.ifname} has table ${l.table} leased, but no rule or route of ours uses that table.`,
        why: 'The address is managed (the daemon keeps its lease) but its rules and routes are gone: deleted by hand, by a tool that flushed rules, or a hook that failed half-way. Its traffic follows main.',
        fix: rerunHook(l.ifname, held.flags.includes('dynamic'), l.family),
      });
    }
    return out;
  },
};
