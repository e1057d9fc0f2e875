// What a hook calls for each event: the daemon applies it when it runs
// (client.ts); otherwise, or when it does not answer in time, the hook does
// the work itself through handleEvent, as before the daemon took over (its
// allocator retries and its fallback to the main table included). The
// in-process modules are imported only then (bundled: esbuild turns the
// import into a lazy initialisation), so the fast path loads neither
// node:child_process nor the planner.

import type { HandleResult } from '../apply/handle.js';
import { writeStderr } from '../log/fd.js';
import type { Config } from '../config/schema.js';
import type { DnsUpdateRequest } from '../dns/update.js';
import type { Logger } from '../log/log.js';
import type { RoutingEvent } from '../plan/event.js';
import { trace } from '../trace/trace.js';
import type { HookName } from './wire.js';

/** handleEvent failed in the daemon; the daemon logged it (the lines were printed). */
export class DelegatedFailure extends Error {
  override name = 'DelegatedFailure';
  constructor(
    message: string,
    /** The daemon wrote the servers-file all the same. */
    readonly dnsDone = false,
  ) {
    super(message);
  }
}

/** What the event did; `dnsDone`: the daemon also applied the request's `dns`. */
export type RouteResult = HandleResult & { dnsDone?: boolean };

export interface RouteOptions {
  config: Config;
  configPath: string;
  hook: HookName;
  log: Logger;
  dryRun: boolean;
  verbose: boolean;
  /** Where a dry run's plan goes (stdout for ifupdown, stderr for dhclient). */
  out: (text: string) => void;
  /** Where the daemon's log lines for this event go (stderr by default). */
  write?: (text: string) => void;
  timeoutMs?: number;
  /** The interface's name servers after the event: the daemon writes them after the event (RouteResult.dnsDone). */
  dns?: DnsUpdateRequest;
}

/** Applies (or, dry, plans) one event through the daemon or in this process. */
export async function routeEvent(event: RoutingEvent, o: RouteOptions): Promise<RouteResult> {
  // node:net with it: a hook that ends before routing (a renewal that changes nothing) does not load it.
  const { delegateEvent } = await import('./client.js');
  const d = await delegateEvent({
    socketPath: o.config.socketPath,
    configPath: o.configPath,
    hook: o.hook,
    event,
    dryRun: o.dryRun,
    verbose: o.verbose,
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    ...(o.dns ? { dns: o.dns } : {}),
  });
  if (d.ok) {
    trace('delegated');
    const r = d.reply;
    if (r.lines?.length) (o.write ?? writeStderr)(r.lines.map((l) => `${l}\n`).join(''));
    if (r.out) o.out(r.out);
    if (r.failed !== undefined) throw new DelegatedFailure(r.failed, r.dns_done === true);
    return { table: r.table ?? 0, degraded: r.degraded ?? false, changes: r.changes ?? 0, dnsDone: r.dns_done === true };
  }
  trace('working alone');
  if (d.quiet) o.log.debug(`working alone: ${d.why}`, { iface: event.ifname });
  else o.log.warn(`working alone: ${d.why}`, { iface: event.ifname });
  const { handleEvent } = await import('../apply/handle.js');
  return handleEvent(event, { config: o.config, log: o.log, dryRun: o.dryRun, out: o.out });
}
