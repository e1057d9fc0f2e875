// Steps 7 and 8: eth0's plug pulled (its router's end goes down) and put
// back; unbound traffic fails over to wlan0 and returns.

import { poll } from '../../sandbox/netns.js';
import type { Route, Step } from '../context.js';
import { INTERNET } from '../sandbox.js';

export const pullPlug: Step = {
  title: "Pull eth0's plug: unbound traffic fails over to wlan0",
  async run(ctx) {
    const { sb, report } = ctx;
    await sb.routers[0]!.exec(['ip', 'link', 'set', 'lan', 'down']);
    const noCarrier = await poll(async () => (await ctx.linkFlags('eth0')).includes('NO-CARRIER'), 3000);
    report.note(`${sb.routers[0]!.name}: ip link set lan down (the cable's other end)`);
    report.check(!!noCarrier, 'eth0 has no carrier', (await ctx.linkFlags('eth0')).join(','));
    const t = ctx.byName('eth0').table;
    const routes = await sb.host.ipJson<Route[]>(['-4', 'route', 'show', 'table', t]);
    report.show(`ip route show table ${t}`, await sb.host.ipLines(['-4', 'route', 'show', 'table', t]));
    report.check(routes.length > 0 && routes.every((x) => x.flags?.includes('linkdown')), `eth0's routes stay in table ${t}, marked linkdown: ignored (ignore_routes_with_linkdown)`);
    report.check(await ctx.picks('wlan0'), 'the kernel picks wlan0, the next in priority');
    ctx.via(await ctx.pingInternet(), 1, `ping ${INTERNET}: left by wlan0`);
  },
};

export const plugBack: Step = {
  title: 'Plug eth0 back in: traffic returns to eth0',
  async run(ctx) {
    await ctx.sb.routers[0]!.exec(['ip', 'link', 'set', 'lan', 'up']);
    ctx.report.note(`${ctx.sb.routers[0]!.name}: ip link set lan up`);
    ctx.report.check(await ctx.picks('eth0', 5000), 'the kernel picks eth0 again: carrier back, routes live');
    ctx.via(await ctx.pingInternet(6), 0, `ping ${INTERNET}: left by eth0`);
  },
};
