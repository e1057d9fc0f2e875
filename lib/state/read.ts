// Reads kernel state. One `ip -N -json -batch -` per family prints links,
// addresses, routes of all tables and rules, one JSON array per line (one
// process instead of four: a hook's latency is mostly process start-up);
// the pure parsers turn them into typed values. Should a batch not give one
// array per command (an error mid-batch), the commands run one by one.

import { run as defaultRun, type Runner } from '../exec/run.js';
import type { Family } from '../net/address.js';
import { parseAddrJson, parseRouteJson, parseRuleJson } from './parse.js';
import { allSysctlKeys, readSavedSysctls, readSysctl } from './sysctl.js';
import type { InterfaceSysctls, KernelState, Link } from './types.js';

export interface ReadOptions {
  families: readonly Family[];
  /** Interfaces whose managed sysctls (and saved values) to read. */
  sysctlInterfaces?: readonly string[];
  runDir: string;
  run?: Runner;
  /** Root of the sysctl tree (tests). */
  procSys?: string;
}

const COMMANDS = ['addr show', 'route show table all', 'rule show'];

/** Runs the commands of one family; returns their outputs in order. */
async function readFamily(run: Runner, family: Family, withLinks: boolean): Promise<string[]> {
  const commands = withLinks ? ['link show', ...COMMANDS] : COMMANDS;
  const base = ['ip', '-N', '-json', `-${family}`];
  const batch = await run([...base, '-batch', '-'], { input: `${commands.join('\n')}\n`, reject: false });
  const lines = batch.stdout.split('\n').filter((l) => l.trim() !== '');
  if (batch.exitCode === 0 && lines.length === commands.length && lines.every((l) => l.startsWith('['))) return lines;
  return Promise.all(commands.map(async (c) => (await run([...base, ...c.split(' ')])).stdout));
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
  const run = options.run ?? defaultRun;
  const families = [...new Set(options.families)].sort();
  const [outputs, sysctlList] = await Promise.all([
    Promise.all(families.map((f, i) => readFamily(run, f, i === 0))),
    Promise.all(
      (options.sysctlInterfaces ?? []).map(async (ifname): Promise<[string, InterfaceSysctls]> => {
        const keys = allSysctlKeys(ifname);
        const values = await Promise.all(keys.map((k) => readSysctl(k, options.procSys)));
        const current = Object.fromEntries(keys.map((k, i) => [k, values[i]!]));
        return [ifname, { current, saved: await readSavedSysctls(options.runDir, ifname) }];
      }),
    ),
  ]);
  // Parsing takes a few ms: let I/O that is ready meanwhile run first (the
  // allocator's connect, whose callback sends the lease request), so the
  // daemon works while we parse instead of after.
  await new Promise((resolve) => setImmediate(resolve));
  const perFamily = outputs.map((o, i) => (i === 0 ? o.slice(1) : o));
  return {
    links: mergeLinks(outputs[0]?.[0] ?? '[]', perFamily.map((o) => o[0]!)),
    routes: perFamily.flatMap((o, i) => parseRouteJson(o[1]!, families[i]!)),
    rules: perFamily.flatMap((o, i) => parseRuleJson(o[2]!, families[i]!)),
    sysctls: Object.fromEntries(sysctlList),
  };
}
