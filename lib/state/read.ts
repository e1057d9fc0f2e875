// Reads kernel state: per family, links, addresses, routes of all
// tables and rules as raw `ip -json` texts through an ip channel
// (lib/exec/ip-channel.ts); the pure parsers turn them into typed values.

import { openIpChannel, type IpChannel } from '../exec/ip-channel.js';
import type { Family } from '../net/address.js';
import { parseAddrJson, parseRouteJson, parseRuleJson } from './parse.js';
import { allSysctlKeys, readSavedSysctls, readSysctl } from './sysctl.js';
import type { InterfaceSysctls, KernelState, Link } from './types.js';

export interface ReadOptions {
  families: readonly Family[];
  /** Interfaces whose managed sysctls (and saved values) to read. */
  sysctlInterfaces?: readonly string[];
  runDir: string;
  /** The caller's ip channel; without one, the read opens (and closes) its own. */
  ip?: IpChannel;
  /** Root of the sysctl tree (tests). */
  procSys?: string;
}

/** Links (all of them) with the addresses of the families read. */
function mergeLinks(linkJson: string, addrJsons: string[]): Link[] {
  const links = parseAddrJson(linkJson);
  const byIndex = new Map(links.map((l) => [l.ifindex, l]));
  for (const text of addrJsons) {
    for (const withAddrs of parseAddrJson(text)) {
      const link = byIndex.get(withAddrs.ifindex);
      if (link) link.addresses.push(...withAddrs.addresses);
      else {
        links.push(withAddrs);
        byIndex.set(withAddrs.ifindex, withAddrs);
      }
    }
  }
  return links;
}

/** Reads links, addresses, routes of all tables, rules and managed sysctls. */
export async function readState(options: ReadOptions): Promise<KernelState> {
  const ip = options.ip ?? openIpChannel();
  const families = [...new Set(options.families)].sort();
  const [outputs, sysctlList] = await Promise.all([
    // Every read gets the links (the channel reads them anyway); the first family's are kept.
    Promise.all(families.map((f) => ip.read(f, ['links', 'addresses', 'routes', 'rules']))),
    Promise.all(
      (options.sysctlInterfaces ?? []).map(async (ifname): Promise<[string, InterfaceSysctls]> => {
        const keys = allSysctlKeys(ifname);
        const values = await Promise.all(keys.map((k) => readSysctl(k, options.procSys)));
        const current = Object.fromEntries(keys.map((k, i) => [k, values[i]!]));
        return [ifname, { current, saved: await readSavedSysctls(options.runDir, ifname) }];
      }),
    ),
  ]).finally(() => {
    if (!options.ip) ip.close();
  });
  // Parsing takes a few ms: let I/O that is ready meanwhile run first (the
  // allocator's connect, whose callback sends the lease request), so the
  // daemon works while we parse instead of after.
  await new Promise((resolve) => setImmediate(resolve));
  return {
    links: mergeLinks(outputs[0]?.links ?? '[]', outputs.map((o) => o.addresses)),
    routes: outputs.flatMap((o, i) => parseRouteJson(o.routes, families[i]!)),
    rules: outputs.flatMap((o, i) => parseRuleJson(o.rules, families[i]!)),
    sysctls: Object.fromEntries(sysctlList),
  };
}
