// Stuck flows after a failover: connections the host masqueraded (source
// NAT) out of an uplink keep their conntrack entry, and with it the dead
// uplink's address, until they time out (TCP: days). Deleting the entries of
// that address makes the next packet of each flow a new connection, which
// takes the uplink the band now names (mwan3's flush_conntrack). Only
// source-NATed entries go: the host's own connections bound to the address
// (and the health probes) keep theirs.
//
// Through the conntrack tool (conntrack-tools), an optional dependency:
// without it nothing is flushed, said once in the log; such flows recover
// when their applications reconnect.

import { run, type Runner } from '../exec/run.js';
import type { Logger } from '../log/log.js';
import type { Family } from '../net/address.js';

export interface FlushResult {
  /** Entries deleted; undefined when conntrack could not run. */
  deleted?: number;
  error?: string;
}

/** The argv that deletes the source-NATed entries whose replies go to `address`. */
export const flushArgv = (family: Family, address: string): string[] => ['conntrack', '-D', '-f', family === 4 ? 'ipv4' : 'ipv6', '--src-nat', '--reply-dst', address];

/** Parses conntrack's summary line (`… N flow entries have been deleted.`). */
export function parseDeleted(stderr: string): number | undefined {
  const m = /(\d+) flow entries have been deleted/.exec(stderr);
  return m ? Number(m[1]) : undefined;
}

let missingSaid = false;

/** Deletes the masqueraded flows of `address`; never throws. */
export async function flushMasqueraded(family: Family, address: string, log: Logger, runner: Runner = run): Promise<FlushResult> {
  try {
    const r = await runner(flushArgv(family, address), { reject: false, timeoutMs: 10_000 });
    const deleted = parseDeleted(r.stderr);
    // Exit 1 with "0 flow entries" is conntrack's way of saying none matched.
    if (deleted !== undefined) return { deleted };
    return { error: r.stderr.trim() || `exit code ${r.exitCode}` };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT' || /ENOENT/.test(e.message)) {
      if (!missingSaid) log.warn('conntrack (conntrack-tools) is not installed: flows masqueraded out of a failed uplink are not flushed and recover only when their applications reconnect');
      missingSaid = true;
      return { error: 'conntrack not installed' };
    }
    return { error: e.message };
  }
}
