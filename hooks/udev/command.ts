// `multihomed-routing udev-remove`: run by udev for a network interface that
// went away (99-multihomed-routing.rules: SUBSYSTEM=="net", ACTION=="remove").
// udev gives the device's properties as the whole environment (ACTION,
// INTERFACE, IFINDEX, DEVPATH, SUBSYSTEM, SEQNUM; no PATH), and kills RUN
// programs that take too long, so this does three bounded things, in order:
//
// 1. stops exactly that interface's dhclient(s) (lib/proc/dhclient.ts: pid
//    file + command line, SIGTERM, SIGKILL after 1 s);
// 2. dispatches one job (lib/dispatch, the daemon's when it runs): the
//    event interface-gone removes every rule of ours that pointed at the
//    interface's tables (the kernel already dropped its routes, not the
//    `from A`/`to P`/band rules) and releases those leases; its DNS
//    change removes the interface's name servers from the dnsmasq
//    servers-file and SIGHUPs the dnsmasq of the pid file;
// 3. releases any other lease the allocator still holds for the interface
//    (an address that never got rules, a degraded one).
//
// An interface of that name that exists again (a quick re-plug that got the
// same name) is not touched: its new dhclient and routing are current.
// Always exits 0 after logging (udev has no use for a failure status);
// a bad environment is logged and nothing is done.

import type { Command, CommandContext } from '../../lib/cli/context.js';
import { createDispatcher } from '../../lib/dispatch/dispatch.js';
import { run } from '../../lib/exec/run.js';
import { ifnameProblem } from '../../lib/net/ifname.js';
import { isIgnored } from '../../lib/plan/ignore.js';
import { findDhclients, stopDhclient, type FindOptions } from '../../lib/proc/dhclient.js';

const SAFE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface UdevRemoveDeps {
  find?: FindOptions;
  graceMs?: number;
}

export async function runUdevRemove(ctx: CommandContext, deps: UdevRemoveDeps = {}): Promise<number> {
  const { log, env } = ctx;
  const t0 = performance.now();
  const ifname = env.INTERFACE;
  const fields = { iface: ifname, ifindex: env.IFINDEX, devpath: env.DEVPATH };
  if (env.ACTION !== undefined && env.ACTION !== 'remove') {
    log.debug(`udev action ${JSON.stringify(env.ACTION)}: nothing to do`, fields);
    return 0;
  }
  const problem = ifnameProblem(ifname);
  if (problem) {
    log.error(`udev-remove: INTERFACE: expected a Linux interface name, received ${JSON.stringify(ifname)}: ${problem}; nothing done`);
    return 0;
  }
  const iface = ifname!;
  if (env.IFINDEX !== undefined && !/^[1-9]\d{0,9}$/.test(env.IFINDEX)) {
    log.error(`udev-remove: IFINDEX: expected a positive number, received ${JSON.stringify(env.IFINDEX)}; nothing done`, { iface });
    return 0;
  }
  // udev runs us without PATH; `ip` must still be found (run() uses process.env).
  if (!process.env.PATH) process.env.PATH = SAFE_PATH;
  const config = ctx.config();

  const link = await run(['ip', '-json', 'link', 'show', 'dev', iface], { reject: false });
  if (link.exitCode === 0 && link.stdout.trim().startsWith('[')) {
    const index = (JSON.parse(link.stdout) as { ifindex?: number }[])[0]?.ifindex;
    log.info('interface exists again: its dhclient, DNS servers and routing are current; nothing removed', { ...fields, now_ifindex: index });
    return 0;
  }

  // 1. dhclient
  const found = findDhclients(iface, deps.find);
  for (const other of found.shared) {
    log.warn('a dhclient serves this interface and others: left running', { iface, pid: other.pid, argv: other.argv.join(' ') });
  }
  const stops = await Promise.all(found.matches.map((m) => stopDhclient(m, { ...(deps.graceMs !== undefined ? { graceMs: deps.graceMs } : {}) })));
  for (const s of stops) {
    (s.how === 'survived SIGKILL' ? log.error : log.info)(`dhclient of the removed interface: ${s.how}`, { iface, pid: s.pid, ms: s.ms });
  }

  // 2. routing and DNS
  const { dryRun, verbose, configPath } = ctx.options;
  await createDispatcher({ config, configPath, log, out: ctx.out })({
    hook: 'udev-remove',
    events: isIgnored(config, iface) ? [] : [{ kind: 'interface-gone', source: 'udev', ifname: iface }],
    dns: { ifname: iface, removeAll: true },
    dryRun,
    verbose,
  });

  // 3. leases
  if (!dryRun) {
    try {
      const { listLeases, releaseTable } = await import('../../lib/allocator/client.js');
      for (const lease of (await listLeases(config, { timeoutMs: 2000 })).filter((l) => l.ifname === iface)) {
        await releaseTable(config, lease, { timeoutMs: 2000 });
        log.info('lease of the removed interface released', { iface, address: lease.address.text, table: lease.table });
      }
    } catch (err) {
      log.warn('could not ask the allocator for the interface\'s leases (they expire on their own)', { iface, error: (err as Error).message });
    }
  }
  log.info('removed interface cleaned up', { ...fields, dhclients: stops.length, ms: Math.round(performance.now() - t0) });
  return 0;
}

export const udevRemoveCommand: Command = {
  summary: 'udev remove handler: stop the interface\'s dhclient, drop its DNS servers, rules and leases',
  usage: 'udev-remove      (environment from udev: ACTION=remove, INTERFACE, IFINDEX, DEVPATH; run by 99-multihomed-routing.rules)',
  run: (ctx) => runUdevRemove(ctx),
};
