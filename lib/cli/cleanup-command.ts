// `multihomed-routing cleanup`: removes everything the toolkit put on the
// host and restores what it changed, for an uninstall (install.sh
// --uninstall, the Debian package's prerm) or an operator starting over.
// Plan in lib/plan/cleanup.ts; applied through the one applier, under the
// routing lock, and printed instead with --dry-run.
//
// Order: leases are released first (if the allocator answers), then rules
// and routes go and what we moved out of main comes back, saved sysctls are
// restored, the watcher's records are dropped, and the dnsmasq servers-file
// loses our lines (dnsmasq of the pid file gets SIGHUP). Run it with the
// daemon stopped and the hooks removed: a running watcher or a dhclient
// renew would put things back (it says so when the allocator answers).

import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { applyChanges, type ApplyOptions } from '../apply/apply.js';
import { openIpChannel } from '../exec/ip-channel.js';
import { takeLock } from '../apply/lock.js';
import { clearServers } from '../dns/update.js';
import { removeForwardingTable } from '../forward/sync.js';
import { planCleanup, type CleanupPlan } from '../plan/cleanup.js';
import { describeChange } from '../plan/render.js';
import { readState } from '../state/read.js';
import { parseFlags, UsageError, type Command, type CommandContext } from './context.js';

/** Interfaces with saved sysctl values under run_dir/sysctl. */
function savedSysctlInterfaces(runDir: string): string[] {
  try {
    return readdirSync(join(runDir, 'sysctl'))
      .filter((n) => n.endsWith('.json'))
      .map((n) => decodeURIComponent(n.slice(0, -'.json'.length)));
  } catch {
    return [];
  }
}

async function releaseLeases(ctx: CommandContext): Promise<{ answered: boolean; released: number }> {
  const config = ctx.config();
  const { listLeases, releaseTable } = await import('../allocator/client.js');
  let leases;
  try {
    leases = await listLeases(config, { timeoutMs: 1500 });
  } catch (err) {
    ctx.log.debug('allocator not answering: leases are not released (they expire, or go with the lease store)', { error: (err as Error).message });
    return { answered: false, released: 0 };
  }
  ctx.log.warn('the daemon is running: its watcher may rebuild what cleanup removes; stop it first (install.sh --uninstall and the package do)');
  let released = 0;
  for (const lease of leases) {
    if (ctx.options.dryRun) {
      ctx.out(`would release lease: table ${lease.table} ${lease.ifname} ${lease.address.text}\n`);
      continue;
    }
    try {
      await releaseTable(config, lease, { timeoutMs: 1500 });
      released++;
      ctx.log.info('lease released', { iface: lease.ifname, address: lease.address.text, table: lease.table });
    } catch (err) {
      ctx.log.warn('could not release a lease', { iface: lease.ifname, address: lease.address.text, error: (err as Error).message });
    }
  }
  return { answered: true, released };
}

/** Empties our servers-file (ours alone: written only by us) and tells dnsmasq. */
async function clearDnsServers(ctx: CommandContext): Promise<string> {
  const config = ctx.config();
  const { changed, reload } = await clearServers({
    serversFile: config.dnsmasqServersFile,
    pidFile: config.dnsmasqPidFile,
    log: ctx.log,
    dryRun: ctx.options.dryRun,
  });
  if (!changed) return 'no servers to remove';
  if (ctx.options.dryRun) {
    ctx.out(`would empty ${config.dnsmasqServersFile} and SIGHUP the dnsmasq of ${config.dnsmasqPidFile}\n`);
    return 'would remove the servers';
  }
  return `servers removed, dnsmasq ${reload?.kind ?? 'not signalled'}`;
}

export async function runCleanup(ctx: CommandContext): Promise<number> {
  const config = ctx.config();
  const dryRun = ctx.options.dryRun;
  const leases = await releaseLeases(ctx);

  const ip = openIpChannel();
  const options: ApplyOptions = {
    ip,
    runDir: config.runDir,
    dryRun,
    out: (t) => ctx.out(t),
    warn: (m, f) => ctx.log.warn(m, f),
  };
  const release = dryRun ? undefined : await takeLock(config.runDir);
  let plan: CleanupPlan | undefined;
  let error: Error | undefined;
  try {
    // A concurrent hook may change state between read and apply: plan once more from fresh state.
    for (let attempt = 1; attempt <= 2; attempt++) {
      const saved = savedSysctlInterfaces(config.runDir);
      const state = await readState({ families: [4, 6], sysctlInterfaces: saved, runDir: config.runDir, ip });
      plan = planCleanup({ state, config, savedSysctlInterfaces: saved });
      const result = await applyChanges(plan.changes, options);
      if (!dryRun) for (const c of result.applied) ctx.log.info(c.reason, { iface: c.subject.ifname, address: c.subject.address, table: c.subject.table, do: describeChange(c).replace(/ {2}#.*$/, '') });
      error = result.error;
      if (!error) break;
      ctx.log.warn('cleanup step failed; reading state again', { attempt, failed: result.failed ? describeChange(result.failed) : undefined, error: error.message });
    }
  } finally {
    ip.close();
    await release?.();
  }
  if (!dryRun) rmSync(join(config.runDir, 'entries'), { recursive: true, force: true });
  await removeForwardingTable({ config, log: ctx.log, dryRun, out: (t) => ctx.out(t) });
  let dns: string;
  try {
    dns = await clearDnsServers(ctx);
  } catch (err) {
    dns = `not cleared: ${(err as Error).message}`;
    ctx.log.error(`dnsmasq servers-file not cleared: ${(err as Error).message}`);
  }
  for (const rule of plan?.untouched ?? []) ctx.log.warn('a rule carries our protocol but is not one of ours to delete by a partial match: left alone', { rule });

  const count = (kind: string) => plan!.changes.filter((c) => c.kind === kind).length;
  const verb = dryRun ? 'would remove' : 'removed';
  ctx.out(
    `cleanup: ${verb} ${count('del-rule')} rule(s) and ${count('del-route')} route(s) of ours in ${plan!.entries.length} table(s); ` +
      `${dryRun ? 'would restore' : 'restored'} ${count('add-route')} route(s) in main and ${count('set-sysctl')} sysctl(s); ` +
      `leases: ${leases.answered ? (dryRun ? 'listed' : `${leases.released} released`) : 'allocator not running'}; dns: ${dns}\n`,
  );
  if (error) {
    ctx.log.error(`cleanup incomplete: ${error.message}`);
    return 1;
  }
  return 0;
}

export const cleanupCommand: Command = {
  summary: 'remove every rule and route of ours, restore main and the saved sysctls, release leases, empty the DNS servers-file (uninstall)',
  usage: 'cleanup          (with --dry-run: print what it would do; stop the daemon and remove the hooks first)',
  async run(ctx) {
    const { positional } = parseFlags(ctx.args, {});
    if (positional.length) throw new UsageError(`unexpected argument ${positional[0]}`);
    return runCleanup(ctx);
  },
};
