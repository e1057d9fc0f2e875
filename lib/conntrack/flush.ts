// Forwarded flows masqueraded out of an uplink that lost its carrier are
// deleted from conntrack at the failover, so their next packet starts a new
// entry, routed and masqueraded through the uplink that is live now
// (docs/forwarding.md). The kernel deletes masquerade entries itself when the
// device goes down or loses the address, and kills one whose output interface
// changed when its next packet comes (dropping that packet); on carrier loss
// neither has happened yet. `--src-nat` keeps the host's own connections of
// that address (not translated) out of it.

import type { Family, IpAddress } from '../net/address.js';
import { run, type Runner } from '../exec/run.js';

export interface FlushResult {
  /** Entries deleted (0 when none matched). */
  deleted: number;
  /** Why nothing could be flushed (conntrack missing, an error), when so. */
  error?: string;
}

/** Deletes the conntrack entries source-NATed to `address` (the dead uplink's). */
export async function flushMasqueraded(family: Family, address: IpAddress, runner: Runner = run): Promise<FlushResult> {
  const argv = ['conntrack', '-D', '-f', family === 4 ? 'ipv4' : 'ipv6', '--src-nat', '--reply-dst', address.text];
  const r = await runner(argv, { reject: false }).catch((err: Error) => ({ exitCode: -1, stderr: err.message, stdout: '' }));
  // conntrack prints the count on stderr and exits 1 when it deleted none.
  const m = /(\d+) flow entries have been deleted/.exec(r.stderr);
  if (m) return { deleted: Number(m[1]) };
  return { deleted: 0, error: r.stderr.trim() || `conntrack exit ${r.exitCode}` };
}
