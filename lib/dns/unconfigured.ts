// Uplinks whose name servers could not be given to dnsmasq (an interface name
// the kernel accepts but a servers-file line cannot hold: `;`, `#`, quotes):
// routing works, DNS through that uplink does not, and `status` must say so.
// One JSON object in run_dir, interface name → why, kept by the servers-file
// writer (lib/dns/update.ts) under its own lock; an entry goes when that
// interface's servers are next written or removed.

import { join } from 'node:path';
import { readFileIfExists, writeFileAtomic } from '../fs/atomic.js';
import { withLockFile } from '../fs/lock.js';

export const unconfiguredPath = (runDir: string): string => join(runDir, 'dns-not-configured.json');

/** Interface name → why its DNS is not configured. A missing or unreadable file is an empty record. */
export function readDnsUnconfigured(runDir: string): Map<string, string> {
  let text: string | undefined;
  try {
    text = readFileIfExists(unconfiguredPath(runDir));
  } catch {
    return new Map();
  }
  try {
    const o = JSON.parse(text ?? '{}') as unknown;
    if (!o || typeof o !== 'object' || Array.isArray(o)) return new Map();
    return new Map(Object.entries(o).filter((e): e is [string, string] => typeof e[1] === 'string'));
  } catch {
    return new Map();
  }
}

/** Records (why given) or clears (why undefined) `ifname`'s entry; writes only when the record changes. */
export function noteDnsUnconfigured(runDir: string, ifname: string, why: string | undefined): Promise<void> {
  const path = unconfiguredPath(runDir);
  // The common case, nothing recorded and nothing to record: no lock, no write.
  if (why === undefined && !readDnsUnconfigured(runDir).has(ifname)) return Promise.resolve();
  return withLockFile(path, () => {
    const record = readDnsUnconfigured(runDir);
    if (record.get(ifname) === why || (why === undefined && !record.has(ifname))) return;
    if (why === undefined) record.delete(ifname);
    else record.set(ifname, why);
    writeFileAtomic(path, `${JSON.stringify(Object.fromEntries(record), null, 2)}\n`);
  });
}
