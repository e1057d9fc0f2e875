// One vocabulary for what the daemon tells applications and operators:
// the event scripts (scripts.ts), the `events` stream of its socket and
// the metrics all speak it (docs/events.md).

import type { Family } from '../net/address.js';

export const EVENT_TYPES = [
  'address-configured', 'address-adopted', 'address-removed', 'address-degraded',
  'health-up', 'health-down', 'uplink-changed', 'lease-refused', 'daemon-started', 'daemon-stopping',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface MhrEvent {
  type: EventType;
  /** Milliseconds since the epoch. */
  time: number;
  iface?: string;
  family?: Family;
  /** The address without its prefix length. */
  address?: string;
  table?: number;
  /** Place in the family's unbound band (0 first). */
  rank?: number;
  /** In words, for people. */
  reason: string;
}

/** What an event script sees (MHR_*); absent fields are empty strings, so a script can test them with [ -n ]. */
export function eventEnv(e: MhrEvent): Record<string, string> {
  const s = (v: string | number | undefined) => (v === undefined ? '' : String(v));
  return {
    MHR_EVENT: e.type, MHR_TIME: new Date(e.time).toISOString(), MHR_IFACE: s(e.iface), MHR_FAMILY: s(e.family),
    MHR_ADDRESS: s(e.address), MHR_TABLE: s(e.table), MHR_RANK: s(e.rank), MHR_REASON: e.reason,
  };
}

/** The readable line of `multihomed-routing events`. */
export function formatEvent(e: MhrEvent): string {
  const where = [e.iface, e.family ? `IPv${e.family}` : undefined, e.address, e.table !== undefined ? `table ${e.table}` : undefined, e.rank !== undefined ? `rank ${e.rank}` : undefined];
  return `${new Date(e.time).toISOString()} ${e.type} ${where.filter(Boolean).join(' ')}${where.some(Boolean) ? ': ' : ''}${e.reason}`;
}
