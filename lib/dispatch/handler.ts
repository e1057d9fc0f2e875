// The one handler of a hook's job: its events through handleEvent, then its
// name servers into the dnsmasq servers-file (when per-uplink DNS is on,
// lib/dns/mode.ts), every decision logged. The
// daemon calls it warm (its queue, ip processes and in-process allocator in
// `deps`, lib/dispatch/service.ts); a hook with no daemon calls it cold
// (lib/dispatch/dispatch.ts).

import { handleEvent, type HandleDeps, type HandleResult } from '../apply/handle.js';
import type { TableAllocator } from '../apply/allocator.js';
import type { Config } from '../config/schema.js';
import { applyDnsChange } from '../dns/update.js';
import { syncForwardingAfterRouting } from '../forward/sync.js';
import type { IpChannel } from '../exec/ip-channel.js';
import type { Logger } from '../log/log.js';
import type { RoutingEvent } from '../plan/event.js';
import type { HookName, Job, Outcome } from './job.js';

export interface JobDeps {
  config: Config;
  log: Logger;
  /** Where a dry run prints its plan. */
  out: (text: string) => void;
  allocator?: TableAllocator;
  /** The daemon's ip channel; without one, each event opens its own. */
  ip?: IpChannel;
  /** The daemon's health probes: uplinks whose upstream is down. */
  down?: () => ReadonlySet<string>;
  /** Tests: what applies one event. */
  handle?: (event: RoutingEvent, deps: HandleDeps) => Promise<HandleResult>;
  /** What updates the reply marks after routing changed; by default the real one, unless `handle` is a test's. */
  forward?: (config: Config, log: Logger, ip?: IpChannel) => Promise<void>;
}

/** What a hook's failed event says it did not do. */
const NOT_DONE: Record<HookName, string> = {
  ifupdown: 'routing not configured',
  'dhclient-hook': 'routing not configured',
  'udev-remove': 'routing of the removed interface not cleaned up',
};

export async function runJob(job: Job, deps: JobDeps): Promise<Outcome> {
  const { config, log } = deps;
  const handle = deps.handle ?? handleEvent;
  const extra = { ...(deps.allocator ? { allocator: deps.allocator } : {}), ...(deps.ip ? { ip: deps.ip } : {}), ...(deps.down ? { down: deps.down } : {}) };
  let failed: string | undefined;
  let changed = false;
  for (const event of job.events) {
    try {
      const result = await handle(event, { config, log, dryRun: job.dryRun, out: deps.out, ...extra });
      changed ||= result.changes > 0;
    } catch (err) {
      failed = (err as Error).message;
      log.error(`${NOT_DONE[job.hook]}: ${failed}`, { iface: event.ifname });
      break;
    }
  }
  // The uplinks changed: their reply marks follow (docs/forwarding.md).
  const forward = deps.forward ?? (deps.handle ? undefined : syncForwardingAfterRouting);
  if (changed && !job.dryRun) await forward?.(config, log, deps.ip);
  if (job.dns) {
    try {
      const dns = await applyDnsChange(job.dns, {
        mode: config.dnsmasqMode, serversFile: config.dnsmasqServersFile, pidFile: config.dnsmasqPidFile, runDir: config.runDir, log, dryRun: job.dryRun,
      });
      // Routing stands; this uplink answers no DNS until renamed (status shows it).
      if (dns.notConfigured) log.error(`DNS not configured: ${dns.notConfigured}`, { iface: job.dns.ifname });
    } catch (err) {
      log.error(`dnsmasq servers not updated: ${(err as Error).message}`, { iface: job.dns.ifname });
    }
  }
  return failed === undefined ? {} : { failed };
}
