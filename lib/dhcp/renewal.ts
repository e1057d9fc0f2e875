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
//
// The shim takes the next such renewal without asking anyone (no process at
// all; docs/dhcp.md): after a lease configured or a renewal left to the
// script, rememberRenewal leaves it the lease as judged, in
// run_dir/hook/renewal.IFACE.FAMILY, the options each as `BYTES:VALUE;`
// (what the shim builds with `${#v}:$v;`), then the dnsmasq pid file. The
// shim trusts it only while the records (run_dir/entries), the config file
// and that pid file are all older than it: any routing record written or
// removed, a config edit or a dnsmasq (re)start sends the renewal here again.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { handoverDir } from '../proc/hook-process.js';
import type { AddressUp } from '../plan/event.js';
import { isRecorded } from '../state/records.js';
import type { DhclientHook } from './parse.js';
import type { Env } from './fields.js';

const RENEWALS = new Set(['RENEW', 'REBIND', 'RENEW6', 'REBIND6']);

/**
 * Lease options whose change the hook acts on (routing, MTU, the dnsmasq
 * servers-file). Lifetimes are not here: dhclient-script refreshes them.
 */
export const WATCHED: Record<4 | 6, readonly string[]> = {
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

type RenewalConfig = Pick<Config, 'watchKernel' | 'socketPath' | 'runDir'>;

/** A renewal bringing `up` again would change nothing of ours: it is recorded in a table of ours, and a daemon watches the kernel. */
const settled = (up: AddressUp, config: RenewalConfig) => config.watchKernel && existsSync(config.socketPath) && isRecorded(config.runDir, up);

/**
 * True when the hook has nothing to do for this renewal: nothing it acts on
 * changed, the lease is recorded in a table of ours with the same routing,
 * and a daemon watches the kernel (watch_kernel, its socket present).
 */
export function leftToScript(hook: DhclientHook, env: Env, config: RenewalConfig): boolean {
  const renewal = unchangedRenewal(hook, env);
  return !!renewal && settled(renewal, config);
}

/** The watched options of `prefix` as the shim spells them: `BYTES:VALUE;` each, in WATCHED order. */
export function leaseLine(env: Env, family: 4 | 6, prefix: 'new_' | 'old_' = 'new_'): string {
  return WATCHED[family].map((key) => {
    const v = env[`${prefix}${key}`] ?? '';
    return `${Buffer.byteLength(v)}:${v};`;
  }).join('');
}

/**
 * After a renewal left to the script, or a lease configured (BOUND, RENEW…),
 * with per-uplink DNS off (the shim cannot know whether dnsmasq reads our
 * file): when the next renewal with this lease would be left to the script
 * too, the lease for the shim, in the daemon's hand-over directory.
 */
export function rememberRenewal(hook: DhclientHook, env: Env, config: RenewalConfig & Pick<Config, 'dnsmasqPidFile'>): void {
  const up = hook.events.at(-1);
  const dir = handoverDir(config.runDir);
  const line = leaseLine(env, hook.family);
  if (up?.kind !== 'address-up' || !existsSync(dir) || /[\r\n]/.test(line + config.dnsmasqPidFile) || !settled(up, config)) return;
  writeFileAtomic(join(dir, `renewal.${hook.ifname}.${hook.family}`), `${line}\n${config.dnsmasqPidFile}\n`, 0o600);
}
