// Steps 4 to 6: inbound pings answered the way they came, traffic bound to
// an uplink leaving by it, unbound traffic leaving by the first uplink.

import { routerName, routerOf, type Step } from '../context.js';
import { INTERNET } from '../sandbox.js';

const SHARED = '192.168.8.100';

export const inbound: Step = {
  title: 'The internet pings every host address: replies return the way they came',
  async run(ctx) {
    const first = ctx.firstOwner(await ctx.rules(), SHARED);
    for (const ifname of ['eth0', 'wlan0', first]) {
      const i = routerOf(ifname);
      const r = await ctx.through('reply', () => ctx.sb.internet.ping(`100.64.${i}.2`));
      ctx.via(r, i, `internet → 100.64.${i}.2 (${ifname}'s router) → ${ctx.byName(ifname).address} on ${ifname}: the reply went back through ${ifname}`);
    }
    const other = first === 'wwan0' ? 'wwan1' : 'wwan0';
    const i = routerOf(other);
    const r = await ctx.through('reply', () => ctx.sb.internet.ping(`100.64.${i}.2`, { timeoutS: 1 }));
    ctx.report.note(
      `Not a check: ${other} holds the same ${SHARED}, and a reply (not bound to a device) follows the first \`from ${SHARED}\` rule, ${first}'s. Pinging ${other}'s router from the internet: ${r.replied ? 'a reply' : 'no reply'}, the reply forwarded by ${r.routers.map(routerName).join(', ') || 'no router'}. Traffic the host starts on ${other} does work (next step).`,
    );
  },
};

export const bound: Step = {
  title: 'Traffic bound to an uplink leaves by it',
  async run(ctx) {
    for (const m of ctx.managed) {
      const r = await ctx.through('request', () => ctx.sb.host.ping(INTERNET, { from: m.ifname }));
      ctx.via(r, routerOf(m.ifname), `ping -I ${m.ifname} ${INTERNET}: left by ${m.ifname}`);
    }
    const first = ctx.firstOwner(await ctx.rules(), SHARED);
    for (const [address, ifname] of [['192.168.1.10', 'eth0'], ['192.168.2.10', 'wlan0'], [SHARED, first]] as const) {
      const r = await ctx.through('request', () => ctx.sb.host.ping(INTERNET, { from: address }));
      ctx.via(r, routerOf(ifname), `ping -I ${address} ${INTERNET}: left by ${ifname}${address === SHARED ? ' (the first of the two)' : ''}`);
    }
  },
};

export const unbound: Step = {
  title: 'Unbound traffic leaves by the top-priority uplink, eth0',
  async run(ctx) {
    ctx.report.check(await ctx.picks('eth0'), `the kernel picks eth0 (table ${ctx.byName('eth0').table}, band rule 31000)`);
    ctx.via(await ctx.pingInternet(), 0, `ping ${INTERNET}: left by eth0`);
  },
};
