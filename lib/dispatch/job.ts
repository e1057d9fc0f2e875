// What a hook hands over for one run: its routing events and its name
// servers, applied by whoever takes the job (lib/dispatch/handler.ts, in the
// daemon or in the hook). Types only: the hook's path loads this.

import type { DnsChange } from '../dns/update.js';
import type { RoutingEvent } from '../plan/event.js';

/** The commands that dispatch jobs, as their log lines name them (`multihomed-routing ifupdown: …`). */
export const HOOKS = ['ifupdown', 'dhclient-hook', 'udev-remove'] as const;
export type HookName = (typeof HOOKS)[number];

export interface Job {
  hook: HookName;
  /** Applied in order; the first that fails ends the job (the next ones depend on it: dhclient's old address goes before its new one). */
  events: RoutingEvent[];
  /** Written after the events, also when one failed (the servers are bound to the interface: they work with what dhclient-script then configures). */
  dns?: DnsChange;
  dryRun: boolean;
  /** Debug lines wanted. */
  verbose: boolean;
}

export interface Outcome {
  /** Why an event failed (already logged); undefined when every event was applied. */
  failed?: string;
}
