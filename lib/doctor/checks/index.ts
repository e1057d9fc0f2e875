// Every doctor check, in the order their findings are listed (errors first,
// then by check), and `diagnose`, which runs them all.

import type { Check, DoctorConfig } from '../check.js';
import type { Finding } from '../findings.js';
import type { HostSnapshot } from '../snapshot.js';
import { daemonDown } from './daemon-down.js';
import { dnsmasq } from './dnsmasq.js';
import { forwarding } from './forwarding.js';
import { hooks } from './hooks.js';
import { mainDefault } from './main-default.js';
import { managed } from './managed.js';
import { missingTable } from './missing-table.js';
import { networkdManaged } from './networkd-managed.js';
import { replyPath } from './reply-path.js';
import { rpFilterStrict } from './rp-filter-strict.js';
import { storeUnwritable } from './store-unwritable.js';
import { upstreamDown } from './upstream-down.js';

export const CHECKS: readonly Check[] = [replyPath, rpFilterStrict, mainDefault, managed, missingTable, daemonDown, storeUnwritable, upstreamDown, dnsmasq, hooks, networkdManaged, forwarding];

/** Runs every check; findings in a stable order (errors first, then by check). */
export function diagnose(snap: HostSnapshot, config: DoctorConfig): Finding[] {
  const findings = CHECKS.flatMap((c) => c.run(snap, config));
  const rank = { error: 0, warning: 1, info: 2 };
  return findings.map((f, i) => ({ f, i })).sort((a, b) => rank[a.f.severity] - rank[b.f.severity] || a.i - b.i).map((x) => x.f);
}
