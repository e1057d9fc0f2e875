// Step 3: real dhclient (and the real dhclient-script) on every uplink; each
// address gets a table and its rules, in interface_priority's order.

import { readPidFile } from '../../sandbox/netns.js';
import { lines, type Route, type Step } from '../context.js';
import { SERVERS_FILE, UPLINKS } from '../sandbox.js';

export const dhclientEverywhere: Step = {
  title: 'Real dhclient on every uplink: a table and rules per address',
  async run(ctx) {
    const { sb, report, managed } = ctx;
    const dhclient = (i: string) => ['dhclient', '-4', '-v', '-pf', `/run/dhclient.${i}.pid`, '-lf', `/run/dhclient.${i}.leases`, i];
    const runs = await Promise.all(UPLINKS.map((u) => sb.host.exec(dhclient(u.ifname), { reject: false, timeoutMs: 30_000 })));
    for (const u of UPLINKS) {
      const pid = readPidFile(sb.host.real(`/run/dhclient.${u.ifname}.pid`));
      if (pid) sb.pids.add(pid);
    }
    const ours = (await ctx.rules()).filter((r) => r.protocol === '201');
    report.show('ip rule', await sb.host.ipLines(['-4', 'rule', 'show']));
    for (const [i, u] of UPLINKS.entries()) {
      const r = runs[i]!;
      const [addr] = (await sb.host.ipJson<Array<{ addr_info: Array<{ local: string; prefixlen: number }> }>>(['-4', 'addr', 'show', 'dev', u.ifname]))[0]?.addr_info ?? [];
      const table = ours.find((x) => x.oif === u.ifname)?.table;
      const gw = u.router.split('/')[0]!;
      if (!addr || !table || r.exitCode !== 0) {
        report.check(false, `${u.ifname}: an address and a table`, `dhclient exit ${r.exitCode}, address ${addr?.local ?? 'none'}, table ${table ?? 'none'}: ${lines(r.stderr).slice(-2).join(' / ')}`);
        continue;
      }
      const routes = await sb.host.ipJson<Route[]>(['-4', 'route', 'show', 'table', table]);
      report.show(`ip route show table ${table}`, await sb.host.ipLines(['-4', 'route', 'show', 'table', table]));
      const hasFrom = ours.some((x) => x.src === addr.local && x.table === table);
      const hasBand = ours.some((x) => x.src === 'all' && !x.iif && !x.oif && !x.dst && x.table === table);
      const hasDefault = routes.some((x) => x.dst === 'default' && x.gateway === gw && x.dev === u.ifname && x.prefsrc === addr.local);
      managed.push({ ifname: u.ifname, address: addr.local, table, gateway: gw });
      report.check(
        addr.local === u.address && hasFrom && hasBand && hasDefault,
        `${u.ifname} ${addr.local}/${addr.prefixlen}: table ${table}, rules from, oif, band; default via ${gw}`,
        `from rule ${hasFrom}, band rule ${hasBand}, default route ${hasDefault}`,
      );
    }
    if (managed.length !== UPLINKS.length) return;
    const order = ours
      .filter((x) => x.src === 'all' && !x.iif && !x.oif && !x.dst && x.table !== '254')
      .sort((a, b) => a.priority - b.priority)
      .map((x) => managed.find((m) => m.table === x.table)?.ifname);
    report.check(order.join(' ') === UPLINKS.map((u) => u.ifname).join(' '), `unbound order (the band, 31000…): ${order.join(', ')}, as interface_priority says`);
    const suppress = ours.filter((x) => x.table === '254' && x.suppress_prefixlen === 0).map((x) => x.priority);
    report.check(suppress.length === 1, `main answers before the band for all but its default routes (${suppress.join(', ') || 'no'}: lookup main suppress_prefixlength 0)`);
    const mainDefault = (await sb.host.ipJson<Route[]>(['-4', 'route', 'show', 'table', 'main'])).filter((x) => x.dst === 'default');
    report.check(mainDefault.length === 0, 'main holds no default route (ifupdown\'s and dhclient\'s moved into the tables)', JSON.stringify(mainDefault));
    const servers = lines(sb.host.readFile(SERVERS_FILE)).filter((l) => l.startsWith('server='));
    const want = managed.map((m) => `server=${m.gateway}@${m.ifname}`);
    report.check(want.every((w) => servers.includes(w)), `DNS per uplink in the servers-file: ${want.map((w) => w.slice(7)).join(' ')}`, servers.join(' ') || 'empty');
    const rp = await Promise.all(['all', 'wwan0', 'wwan1'].map((d) => sb.host.exec(['sysctl', '-n', `net.ipv4.conf.${d}.rp_filter`]).then((r) => r.stdout.trim())));
    report.check(rp.join() === '1,2,2', 'rp_filter: strict host-wide, loose (2) on wwan0 and wwan1, which share 192.168.8.100', `all, wwan0, wwan1: ${rp.join(', ')}`);
  },
};
