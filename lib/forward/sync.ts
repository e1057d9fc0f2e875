// Brings the connection marks (replies of inbound connections, forwarded
// connections kept on their uplink) in line with what is managed, after the
// routing changes of a job (lib/dispatch/handler.ts) and in `cleanup`: reads our rules
// (`ip rule`, both families), plans the `fwmark M/MASK lookup T` rules
// (lib/plan/fwmarks.ts, pure), applies them, then replaces our nftables table
// as a whole (lib/forward/ruleset.ts). Nothing else of nftables is read or
// written. Only a forwarding host is marked (ip_forward, IPv6 forwarding).
// Without nft the marks cannot be set: it says so once per process and
// leaves the fwmark rules out; routing is unaffected.

import { readFileSync } from 'node:fs';
import { takeLock } from '../apply/lock.js';
import type { Config } from '../config/schema.js';
import type { IpChannel } from '../exec/ip-channel.js';
import { run, type Runner } from '../exec/run.js';
import type { Logger } from '../log/log.js';
import { Builder } from '../plan/builder.js';
import { planFwmarks } from '../plan/fwmarks.js';
import { indexState, tableKey } from '../plan/index.js';
import { keptUplinks } from '../plan/pins.js';
import { describeChange, ipArgs } from '../plan/render.js';
import { parseRuleJson } from '../state/parse.js';
import type { KernelState } from '../state/types.js';
import { renderTable, replaceScript, TABLE, type Mark } from './ruleset.js';

let nftMissingSaid = false;

async function nftPresent(runner: Runner, log: Logger): Promise<boolean> {
  const r = await runner(['nft', '--version'], { reject: false }).catch((err: Error) => ({ exitCode: -1, stderr: err.message }));
  if (r.exitCode === 0) return true;
  if (!nftMissingSaid) log.warn('nft not found: replies of inbound connections to published ports follow the band, not the uplink they came in on, and forwarded connections follow it at failback instead of staying on their uplink (install nftables)');
  nftMissingSaid = true;
  return false;
}

/** Our rules, both families: through the daemon's ip processes when there are some (no fork: this runs after every routing change). */
async function readRules(runner: Runner, ip: IpChannel | undefined): Promise<KernelState> {
  const rules = [];
  for (const f of [4, 6] as const) {
    const json = ip ? (await ip.read(f, ['rules'])).rules : (await runner(['ip', '-json', `-${f}`, 'rule', 'show'])).stdout;
    rules.push(...parseRuleJson(json, f));
  }
  return { links: [], routes: [], rules, sysctls: {} };
}

/** The marks the kernel's fwmark rules give (after the plan ran), with each table's interface and address. */
export function marksOf(state: KernelState, config: Config): Mark[] {
  const idx = indexState(state, config);
  const marks: Mark[] = [];
  for (const r of state.rules) {
    if (r.protocol !== config.protocol || !r.fwmark || r.priority !== config.prefFwmark || r.table === undefined) continue;
    const e = idx.entries.get(tableKey(r.family, r.table));
    if (e?.ifname === undefined) continue;
    marks.push({ family: r.family, mark: r.fwmark.value, ifname: e.ifname, ...(e.address ? { address: e.address } : {}) });
  }
  return marks.sort((a, b) => a.family - b.family || a.mark - b.mark);
}

export interface SyncOptions {
  config: Config;
  log: Logger;
  runner?: Runner;
  /** The daemon's ip processes (lib/exec/ip-channel.ts); without them each read forks an ip. */
  ip?: IpChannel;
}

/** Replaces our table with `definition`, or removes it (undefined). */
async function replaceTable(runner: Runner, log: Logger, definition: string | undefined): Promise<void> {
  const r = await runner(['nft', '-f', '-'], { input: replaceScript(definition), reject: false }).catch((err: Error) => ({ exitCode: -1, stderr: err.message }));
  if (r.exitCode !== 0) log.error(`nftables table inet ${TABLE} not ${definition ? 'replaced' : 'removed'}: ${r.stderr.trim()}`);
}

/** cleanup: our nftables table goes (the fwmark rules go with the cleanup plan). */
export async function removeForwardingTable(o: SyncOptions & { dryRun?: boolean; out?: (text: string) => void }): Promise<void> {
  const runner = o.runner ?? run;
  if (o.dryRun) o.out?.(`nft delete table inet ${TABLE}  # cleanup: remove our reply marks (when the table exists)\n`);
  else if (await nftPresent(runner, o.log)) await replaceTable(runner, o.log, undefined);
}

/** syncForwarding under the routing lock, never throwing: after a job's or a watcher pass's routing changes. */
export async function syncForwardingAfterRouting(config: Config, log: Logger, ip?: IpChannel): Promise<void> {
  const release = await takeLock(config.runDir).catch(() => undefined);
  try {
    await syncForwarding({ config, log, ...(ip ? { ip } : {}) });
  } catch (err) {
    log.error(`reply marks not updated: ${(err as Error).message}`);
  } finally {
    await release?.();
  }
}

const sysctlOn = (path: string) => {
  try {
    return readFileSync(path, 'utf8').trim() === '1';
  } catch {
    return false;
  }
};

/** The host forwards (IPv4 or IPv6): only then can an inbound connection be DNATed to a container, VM or LAN host behind it. */
export const forwardingEnabled = (): boolean => sysctlOn('/proc/sys/net/ipv4/ip_forward') || sysctlOn('/proc/sys/net/ipv6/conf/all/forwarding');

let lastForwarding: boolean | undefined;

/** Forwarding was switched on or off since this process last synced (Docker turns it on when it starts), or it never did: time to sync. */
export const forwardingChanged = (): boolean => lastForwarding === undefined || forwardingEnabled() !== lastForwarding;

/**
 * Plans and applies the fwmark rules, then our nftables table. On a host
 * that does not forward there is nothing to mark: rules and table are removed
 * if there were any, and otherwise nothing runs.
 */
export async function syncForwarding(o: SyncOptions): Promise<void> {
  const runner = o.runner ?? run;
  const forwarding = forwardingEnabled();
  lastForwarding = forwarding;
  let state = await readRules(runner, o.ip);
  const marked = state.rules.some((r) => r.protocol === o.config.protocol && r.fwmark && r.priority === o.config.prefFwmark);
  if (!forwarding && !marked) return;
  const nft = await nftPresent(runner, o.log);
  const mark = forwarding && nft;
  if (!mark && !marked) return;
  let changed = false;
  for (const f of [4, 6] as const) {
    const b = new Builder();
    const idx = indexState(state, o.config);
    // Nothing to mark: as if no uplink were managed, every mark rule goes.
    if (!mark) for (const e of idx.entries.values()) b.removed.add(tableKey(e.family, e.table));
    planFwmarks(b, state, o.config, f, keptUplinks(b, o.config, idx, f));
    const changes = b.list();
    if (!changes.length) continue;
    changed = true;
    await runner(['ip', `-${f}`, '-force', '-batch', '-'], { input: changes.map((c) => `${ipArgs(c)!.join(' ')}\n`).join('') });
    for (const c of changes) o.log.info(c.reason, { iface: c.subject.ifname, table: c.subject.table, do: describeChange(c).replace(/ {2}#.*$/, '') });
  }
  if (!nft) return;
  if (changed) state = await readRules(runner, o.ip);
  await replaceTable(runner, o.log, mark ? renderTable(marksOf(state, o.config), o.config.fwmarkMask) : undefined);
}
