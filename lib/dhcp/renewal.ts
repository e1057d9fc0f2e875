// A renewal that changes nothing. RENEW and REBIND come every half
// lease: when the lease is the one already configured in a table of ours,
// the hook has nothing to do that dhclient-script's own RENEW branch does
// not do (refresh the address lifetime: one `ip addr change`/`replace`), so
// the executable answers `outcome=pass` without reading the kernel or
// asking the daemon. The daemon's watcher renews the table lease and
// repairs rules or routes that went missing (watch_kernel = yes is a
// condition of this path; without it the hook does the full work).
// unchangedRenewal is pure; leftToScript also looks at the daemon's socket
// and the records of run_dir (a stat and a few small reads, no process).

import { existsSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import type { AddressUp } from '../plan/event.js';
import { isRecorded } from '../state/records.js';
import type { DhclientHook } from './parse.js';
import type { Env } from './fields.js';

const RENEWALS = new Set(['RENEW', 'REBIND', 'RENEW6', 'REBIND6']);

/**
 * Lease options whose change the hook acts on (routing, MTU, the dnsmasq
 * servers-file). Lifetimes are not here: dhclient-script refreshes them.
 */
const WATCHED: Record<4 | 6, readonly string[]> = {
  4: ['ip_address', 'subnet_mask', 'broadcast_address', 'routers', 'rfc3442_classless_static_routes', 'interface_mtu', 'domain_name_servers'],
  6: ['ip6_address', 'ip6_prefixlen', 'dhcp6_name_servers'],
};

/** The renewal's single address-up, when the reason is a renewal and nothing it acts on changed; else undefined. */
export function unchangedRenewal(hook: DhclientHook, env: Env): AddressUp | undefined {
  if (!hook.handled || !RENEWALS.has(hook.reason) || hook.events.length !== 1) return undefined;
  const [up] = hook.events;
  if (up?.kind !== 'address-up') return undefined;
  for (const key of WATCHED[hook.family]) {
    if ((env[`new_${key}`] ?? '') !== (env[`old_${key}`] ?? '')) return undefined;
  }
  return up;
}

/**
 * True when the hook has nothing to do for this renewal: nothing it acts on
 * changed, the lease is recorded in a table of ours with the same routing,
 * and a daemon watches the kernel (watch_kernel, its socket present).
 */
export function leftToScript(hook: DhclientHook, env: Env, config: Pick<Config, 'watchKernel' | 'socketPath' | 'runDir'>): boolean {
  const renewal = unchangedRenewal(hook, env);
  return !!renewal && config.watchKernel && existsSync(config.socketPath) && isRecorded(config.runDir, renewal);
}
