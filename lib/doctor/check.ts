// What every doctor check shares: its shape, the config it reads, and the
// advice most of them give (run the hooks again for an interface).

import type { Config } from '../config/schema.js';
import type { Family } from '../net/address.js';
import type { Finding } from './findings.js';
import type { HostSnapshot } from './snapshot.js';

/** The config in use, and the file it came from (named in the advice). */
export type DoctorConfig = Config & { configPath?: string };

/** A diagnosis: a pure function from a snapshot to findings. No I/O: unit tests feed hand-made snapshots. */
export interface Check {
  /** Names the check and its file, lib/doctor/checks/ID.ts. */
  id: string;
  /** Every finding id it reports (keys of DIAGNOSES). */
  findings: readonly string[];
  run(snap: HostSnapshot, config: DoctorConfig): Finding[];
}

/** How to make the hooks run again for an interface: dhclient for leased addresses, ifupdown otherwise. */
export function rerunHook(ifname: string, dynamic: boolean, family: Family = 4): string[] {
  const six = family === 6 ? ' -6' : '';
  return dynamic
    ? [`dhclient${six} -r ${ifname} && dhclient${six} ${ifname}   # DHCP: renew through the hooks`, `ifdown ${ifname} && ifup ${ifname}   # or, for an ifupdown stanza`]
    : [`ifdown ${ifname} && ifup ${ifname}   # ifupdown runs the hooks again`];
}
