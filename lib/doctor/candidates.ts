// The addresses doctor checks, and what several checks ask about them: is
// the host multihomed, has an address a `from` rule, is it on the fallback.

import type { Config } from '../config/schema.js';
import { prefixContains, tryParseIp, type Family } from '../net/address.js';
import { ifnameMatches } from '../net/ifname.js';
import { TABLE_LOCAL, TABLE_MAIN, type KernelState } from '../state/types.js';
import { buildStatus } from '../status/status.js';
import type { DoctorConfig } from './check.js';

/** An address the toolkit would manage: global scope, usable, on an interface not ignored. */
export interface Candidate {
  ifname: string;
  family: Family;
  address: string;
  /** Learned from DHCP or SLAAC (the kernel's `dynamic` flag). */
  dynamic: boolean;
}

export const ignored = (config: Pick<Config, 'ignoreInterfaces'>, ifname: string) =>
  ifname === 'lo' || config.ignoreInterfaces.some((p) => ifnameMatches(p, ifname));

/** The addresses doctor checks (the reader probes `ip route get … from A` for each). */
export function candidateAddresses(kernel: KernelState, config: Pick<Config, 'ignoreInterfaces'>): Candidate[] {
  const out: Candidate[] = [];
  for (const link of kernel.links) {
    if (ignored(config, link.ifname)) continue;
    for (const a of link.addresses) {
      if (a.scope !== 0 || a.flags.includes('tentative') || a.flags.includes('dadfailed')) continue;
      out.push({ ifname: link.ifname, family: a.address.address.family, address: a.address.address.text, dynamic: a.flags.includes('dynamic') });
    }
  }
  return out;
}

export function multihomed(candidates: readonly Candidate[], family: Family): boolean {
  return new Set(candidates.filter((c) => c.family === family).map((c) => c.ifname)).size >= 2;
}

/** A rule `from P lookup T` (P containing the address, T not main/local/default) exists. */
export function hasSourceRule(kernel: KernelState, family: Family, address: string): boolean {
  const a = tryParseIp(address, family);
  if (!a) return false;
  return kernel.rules.some(
    (r) => r.family === family && r.src !== undefined && r.src.length > 0 && prefixContains(r.src, a) &&
      r.table !== undefined && r.table !== TABLE_MAIN && r.table !== TABLE_LOCAL && r.table !== 253,
  );
}

/** `ifname address` (no prefix length) of every address on the fallback: `degraded` speaks for them. */
export function degradedAddresses(kernel: KernelState, config: DoctorConfig): Set<string> {
  return new Set(buildStatus(kernel, config).filter((s) => s.degraded).map((s) => `${s.ifname} ${s.address.replace(/\/\d+$/, '')}`));
}
