// Carrier losses of managed uplinks between two watcher passes (pure): the
// failover moment at which forwarded flows masqueraded out of the uplink are
// flushed from conntrack (lib/conntrack/flush.ts). The first pass only
// records: a daemon starting beside a link that is already down has no
// failover to react to.

import type { Config } from '../config/schema.js';
import type { Family, IpAddress } from '../net/address.js';
import { indexState } from '../plan/index.js';
import type { KernelState } from '../state/types.js';

/** Carrier per interface name, as the previous pass saw it. */
export type CarrierMemory = ReadonlyMap<string, boolean>;

export interface CarrierLoss {
  ifname: string;
  family: Family;
  /** A managed address of the interface: flows masqueraded to it are dead. */
  address: IpAddress;
}

/** The managed addresses of interfaces whose carrier went away since `before`, and the memory for the next pass. */
export function carrierLosses(before: CarrierMemory | undefined, state: KernelState, config: Pick<Config, 'protocol' | 'prefFrom' | 'prefOif' | 'prefFwmark' | 'prefPin'>): { losses: CarrierLoss[]; memory: CarrierMemory } {
  const memory = new Map(state.links.map((l) => [l.ifname, l.carrier]));
  const losses: CarrierLoss[] = [];
  if (before) {
    for (const e of indexState(state, config).entries.values()) {
      if (e.ifname === undefined || !e.address) continue;
      if (before.get(e.ifname) === true && memory.get(e.ifname) === false) losses.push({ ifname: e.ifname, family: e.family, address: e.address });
    }
  }
  return { losses, memory };
}
