// Which uplinks the health service probes, and with what: every managed
// address the kernel shows (a table of ours with its `from` rule), with the
// settings of its interface (health_override) and the targets of its
// family, plus the name servers the interface learned when they lie beyond
// its own prefix (an on-link server is usually the CPE router itself, which
// answers while its WAN is dead). Pure.

import { settingsFor, type HealthConfig, type HealthSettings } from '../config/health.js';
import type { Config } from '../config/schema.js';
import { prefixContains, tryParseIp, type Family } from '../net/address.js';
import { isIgnored } from '../plan/ignore.js';
import { indexState } from '../plan/index.js';
import { healthKey } from '../plan/ranking.js';
import type { KernelState } from '../state/types.js';

export interface Uplink {
  /** ranking.ts healthKey: family, interface, address. */
  key: string;
  family: Family;
  ifname: string;
  address: string;
  table: number;
  settings: HealthSettings;
  /** Targets of the uplink's family; empty: nothing to probe (health off). */
  targets: string[];
  /** Another managed interface holds the same address (USB modems): probes bind to the device, ICMP only. */
  shared: boolean;
}

/** The uplinks in the kernel state; `servers`: name servers per interface (the dnsmasq servers-file). */
export function uplinksOf(state: KernelState, config: Config, health: HealthConfig, servers: ReadonlyMap<string, readonly string[]> = new Map()): Uplink[] {
  const idx = indexState(state, config);
  const out: Uplink[] = [];
  for (const e of idx.entries.values()) {
    if (!e.address || e.ifname === undefined || e.table <= 0 || !idx.links.has(e.ifname) || isIgnored(config, e.ifname)) continue;
    if (!e.rules.some((r) => r.src?.network.text === e.address!.text)) continue;
    const settings = settingsFor(health, e.ifname);
    const targets = settings.targets.filter((t) => tryParseIp(t)?.family === e.family);
    for (const s of servers.get(e.ifname) ?? []) {
      const ip = tryParseIp(s, e.family);
      if (ip && !targets.includes(ip.text) && !(e.prefix && prefixContains(e.prefix, ip))) targets.push(ip.text);
    }
    out.push({ key: healthKey(e.family, e.ifname, e.address.text), family: e.family, ifname: e.ifname, address: e.address.text, table: e.table, settings, targets, shared: false });
  }
  for (const u of out) u.shared = out.some((o) => o !== u && o.family === u.family && o.address === u.address);
  return out;
}
