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
import type { Logger } from '../log/log.js';
import type { RoutingEvent } from '../plan/event.js';
import { trace } from '../trace/trace.js';
import type { HookName } from './wire.js';

/** handleEvent failed in the daemon; the daemon logged it (the lines were printed). */
export class DelegatedFailure extends Error {
  override name = 'DelegatedFailure';
}

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
}

/** Applies (or, dry, plans) one event through the daemon or in this process. */
export async function routeEvent(event: RoutingEvent, o: RouteOptions): Promise<HandleResult> {
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
  });
  if (d.ok) {
    trace('delegated');
    const r = d.reply;
    if (r.lines?.length) (o.write ?? writeStderr)(r.lines.map((l) => `${l}\n`).join(''));
    if (r.out) o.out(r.out);
    if (r.failed !== undefined) throw new DelegatedFailure(r.failed);
    return { table: r.table ?? 0, degraded: r.degraded ?? false, changes: r.changes ?? 0 };
  }
  trace('working alone');
  if (d.quiet) o.log.debug(`working alone: ${d.why}`, { iface: event.ifname });
  else o.log.warn(`working alone: ${d.why}`, { iface: event.ifname });
  const { handleEvent } = await import('../apply/handle.js');
  return handleEvent(event, { config: o.config, log: o.log, dryRun: o.dryRun, out: o.out });
}
