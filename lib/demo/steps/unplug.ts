// Step 9: the modem wwan1 unplugged (its veth deleted). No udevd runs in a
// network namespace, so the demo plays udev with the installed rule's RUN.

import fs from 'node:fs';
import { listLeases } from '../../allocator/client.js';
import type { RunResult } from '../../exec/run.js';
import { isAlive, poll, readPidFile } from '../../sandbox/netns.js';
import { lines, type Step } from '../context.js';
import { logGist } from '../report.js';
import { INTERNET, SERVERS_FILE, SOCKET, UDEV_RULE } from '../sandbox.js';

export const unplugModem: Step = {
  title: 'Unplug the modem wwan1: everything of it is cleaned up',
  async run(ctx) {
    const { sb, report, broken } = ctx;
    const gone = ctx.byName('wwan1');
    const kept = ctx.byName('wwan0');
    const dhclientPid = readPidFile(sb.host.real('/run/dhclient.wwan1.pid'));
    const keptPid = readPidFile(sb.host.real('/run/dhclient.wwan0.pid'));
    const ifindex = (await sb.host.ipJson<Array<{ ifindex: number }>>(['link', 'show', 'dev', 'wwan1']))[0]?.ifindex;
    const daemonLogAt = fs.statSync(sb.log('daemon')).size;
    await sb.routers[3]!.exec(['ip', 'link', 'del', 'lan']);
    report.note(`${sb.routers[3]!.name}: ip link del lan (the veth pair goes: wwan1 vanishes from the host)`);
    if (broken === 'udev') {
      report.note('--break udev: the udev handler is NOT run (a host without the rule).');
    } else {
      // No udevd in the sandbox: the demo plays udev, running the installed rule's RUN with udev's environment only.
      const cmd = /RUN\+="([^"]+)"/.exec(sb.host.readFile(UDEV_RULE))?.[1]?.split(/\s+/) ?? [];
      const env = ['ACTION=remove', 'SUBSYSTEM=net', 'INTERFACE=wwan1', `IFINDEX=${ifindex}`, 'DEVPATH=/devices/virtual/net/wwan1'];
      const r: RunResult = await sb.host.exec(['env', '-i', ...env, ...cmd], { reject: false, timeoutMs: 20_000 });
      report.note(`No udevd in the sandbox: the demo runs the RUN command of ${UDEV_RULE} as udev would, with only udev's environment (${env.join(' ')}). What it did:`);
      report.show(`${cmd[0]?.split('/').pop()} … ${cmd.at(-1)}  # exit ${r.exitCode}`, lines(r.stderr).map(logGist));
    }
    const state = async () => {
      const rules = (await ctx.rules()).filter((x) => x.protocol === '201');
      const leases = await listLeases({ socketPath: sb.host.real(SOCKET) });
      const servers = lines(sb.host.readFile(SERVERS_FILE));
      return {
        dhclient: !!dhclientPid && isAlive(dhclientPid),
        keptDhclient: !!keptPid && isAlive(keptPid),
        rules: rules.filter((x) => x.table === gone.table || x.oif === 'wwan1').length,
        keptRules: rules.filter((x) => x.table === kept.table).length,
        from: ctx.firstOwner(rules, '192.168.8.100'),
        lease: leases.some((l) => l.ifname === 'wwan1'),
        dns: servers.some((l) => l.endsWith('@wwan1')),
        keptDns: servers.includes(`server=${kept.gateway}@wwan0`),
      };
    };
    const clean = (s: Awaited<ReturnType<typeof state>>) => !s.dhclient && !s.rules && !s.lease && !s.dns;
    await poll(async () => clean(await state()), 5000, 100);
    const s = await state();
    const watcher = lines(fs.readFileSync(sb.log('daemon'), 'utf8').slice(daemonLogAt)).filter((l) => /\bwwan1\b/.test(l));
    report.show(`grep wwan1 daemon.log  # the daemon (allocator, watcher) since`, watcher.length ? watcher.map(logGist) : ['(nothing)']);
    report.check(!s.dhclient && s.keptDhclient, `wwan1's dhclient (pid ${dhclientPid}) stopped; wwan0's (pid ${keptPid}) still runs`, `wwan1's ${s.dhclient ? 'still running' : 'stopped'}, wwan0's ${s.keptDhclient ? 'running' : 'gone'}`);
    report.check(s.rules === 0, `no rule left for table ${gone.table} or wwan1`, `${s.rules} rules left`);
    report.check(!s.lease, `table ${gone.table}'s lease released (the allocator holds none for wwan1)`);
    report.check(!s.dns, `wwan1's DNS server gone from the servers-file`, 'server=…@wwan1 still there');
    report.check(s.keptRules >= 4 && s.from === 'wwan0' && s.keptDns, `wwan0 untouched: its ${s.keptRules} rules, \`from 192.168.8.100\` → table ${kept.table}, its DNS server`);
    ctx.via(await ctx.through('request', () => sb.host.ping(INTERNET, { from: 'wwan0' })), 2, `ping -I wwan0 ${INTERNET}: left by wwan0`);
    report.note(
      broken === 'udev'
        ? "Without the udev handler, the daemon's kernel watcher removed the rules and released the lease, but wwan1's dhclient and DNS server stay: that is the udev handler's job."
        : broken === 'watcher'
          ? 'The daemon ran without its kernel watcher (--break watcher): the udev handler alone cleaned up.'
          : "The udev handler stops the interface's dhclient and drops its DNS servers; the rules and the lease are removed by whichever of the handler and the daemon's kernel watcher comes first (both are idempotent).",
    );
  },
};
