// Reads kernel state: the `ip -N -json` commands run concurrently through
// the one runner, their output goes to the pure parsers. Only the families
// and interfaces an event concerns are read (a hook's latency is mostly
// these processes).

import { run as defaultRun, type Runner } from '../exec/run.js';
import type { Family } from '../net/address.js';
import { parseAddrJson, parseRouteJson, parseRuleJson } from './parse.js';
import { allSysctlKeys, readSavedSysctls, readSysctl } from './sysctl.js';
import type { InterfaceSysctls, KernelState } from './types.js';

export interface ReadOptions {
  families: readonly Family[];
  /** Interfaces whose managed sysctls (and saved values) to read. */
  sysctlInterfaces?: readonly string[];
  runDir: string;
  run?: Runner;
  /** Root of the sysctl tree (tests). */
  procSys?: string;
}

const ip = (run: Runner, args: string[]) => run(['ip', '-N', '-json', ...args]).then((r) => r.stdout);

/** Reads links, addresses, routes of all tables, rules and managed sysctls. */
export async function readState(options: ReadOptions): Promise<KernelState> {
  const run = options.run ?? defaultRun;
  const families = [...new Set(options.families)].sort();
  const [addr, perFamily, sysctlList] = await Promise.all([
    ip(run, ['-d', 'addr', 'show']),
    Promise.all(
      families.map(async (f) => {
        const [routes, rules] = await Promise.all([
          ip(run, [`-${f}`, 'route', 'show', 'table', 'all']),
          ip(run, [`-${f}`, 'rule', 'show']),
        ]);
        return { routes: parseRouteJson(routes, f), rules: parseRuleJson(rules, f) };
      }),
    ),
    Promise.all(
      (options.sysctlInterfaces ?? []).map(async (ifname): Promise<[string, InterfaceSysctls]> => {
        const keys = allSysctlKeys(ifname);
        const values = await Promise.all(keys.map((k) => readSysctl(k, options.procSys)));
        const current = Object.fromEntries(keys.map((k, i) => [k, values[i]!]));
        return [ifname, { current, saved: await readSavedSysctls(options.runDir, ifname) }];
      }),
    ),
  ]);
  return {
    links: parseAddrJson(addr),
    routes: perFamily.flatMap((p) => p.routes),
    rules: perFamily.flatMap((p) => p.rules),
    sysctls: Object.fromEntries(sysctlList),
  };
}
