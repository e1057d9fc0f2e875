// A default route in main wins over our band only where the band comes after
// main's rule (32766): band rules of an older version (`iif lo` at 91000+)
// not moved yet, or main's rule moved. In the layout of docs/routing.md the
// band (31000+) comes first and main's defaults (RA, NetworkManager's) are
// the last resort: no finding. Says who added the route, from its protocol
// and metric.

import { MAIN_RULE_PREF } from '../../config/rule-order.js';
import { isBandRule } from '../../state/rules.js';
import { TABLE_MAIN, type Route } from '../../state/types.js';
import { describeRoute } from '../../status/status.js';
import { rerunHook, type Check } from '../check.js';
import type { Finding } from '../findings.js';

const NM_METRICS = new Set([20000, 50, 100, 150, 300, 400, 425, 450, 600, 700, 750, 800]);

/** Who put a route in main, from its protocol and metric. */
function routeOrigin(r: Route, networkManager: boolean): { who: string; lasting: string } {
  // netplan with systemd-networkd uses the same metrics (100 wired, 600 wireless): only NetworkManager's if it is installed.
  const nm = networkManager && (NM_METRICS.has(r.metric) || (r.metric >= 20100 && r.metric <= 20800));
  switch (r.protocol) {
    case 16:
      return nm
        ? { who: `NetworkManager (proto dhcp, metric ${r.metric}: its default for the device type)`, lasting: 'NetworkManager owns main; its metrics decide unbound traffic. Give interfaces their order with `nmcli connection modify ID ipv4.route-metric N`.' }
        : { who: 'a DHCP client other than dhclient (proto dhcp: systemd-networkd, dhcpcd or NetworkManager)', lasting: 'let dhclient with our enter hook (ifupdown `inet dhcp`) handle the interface, or stop that client from installing routes (networkd: `[DHCPv4] UseRoutes=no`).' };
    case 9:
      return { who: 'the kernel, from an IPv6 router advertisement (proto ra)', lasting: 'leave it: the kernel re-adds it with every RA, and the tables copy its gateway. Put the band before main instead (below).' };
    case 4:
      return nm
        ? { who: `NetworkManager (proto static, metric ${r.metric})`, lasting: 'NetworkManager owns main; its metrics decide unbound traffic.' }
        : { who: 'a static configuration (proto static: systemd-networkd/netplan `routes:` or `gateway4`, or `ip route add … proto static`)', lasting: 'remove the gateway from that configuration; give it to ifupdown (`gateway` in the iface stanza), where our hook moves it into the table.' };
    case 3:
      return { who: 'ifupdown\'s `gateway` line, dhclient-script or someone by hand (proto boot, the default of `ip route add`)', lasting: 'our hooks remove this route when they run for the interface: run them again (below). If it comes back, a script adds it after us.' };
    case 2:
      return { who: 'the kernel (proto kernel)', lasting: 'check what configured the interface.' };
    default:
      return { who: `a routing daemon or tool (proto ${r.protocol})`, lasting: 'see /etc/iproute2/rt_protos for the name and configure that tool not to install a default route in main.' };
  }
}

export const mainDefault: Check = {
  id: 'main-default',
  findings: ['main-default'],
  run(snap, config) {
    const out: Finding[] = [];
    for (const family of [4, 6] as const) {
      const ours = snap.kernel.rules.filter((r) => r.family === family && r.protocol === config.protocol && isBandRule(r));
      if (!ours.length) continue;
      const mainRule = snap.kernel.rules.find((r) => r.family === family && r.table === TABLE_MAIN && r.suppressPrefixLength === undefined && !r.src && !r.dst && !r.iif && !r.oif);
      const mainPref = mainRule?.priority ?? MAIN_RULE_PREF;
      if (ours.every((r) => r.priority < mainPref)) continue;
      for (const r of snap.kernel.routes) {
        if (r.family !== family || r.table !== TABLE_MAIN || r.dst.length !== 0 || r.type !== 1) continue;
        if (r.protocol === config.protocol) continue; // our fallback: reported as degraded
        if (r.flags.includes('linkdown') || r.flags.includes('dead')) continue;
        const { who, lasting } = routeOrigin(r, snap.tools.networkManager);
        const nm = who.startsWith('NetworkManager');
        const del = `ip -${family} route del ${describeRoute(r).replace(/ src \S+/, '')}${r.protocol !== 3 ? ` proto ${r.protocol}` : ''}`;
        const dynamic = !!snap.kernel.links.find((l) => l.ifname === r.dev)?.addresses.some((a) => a.flags.includes('dynamic'));
        out.push({
          id: 'main-default',
          severity: nm ? 'info' : 'warning',
          subject: `main ${describeRoute(r)}`,
          what: `main holds a default route (${describeRoute(r)}), added by ${who}.`,
          why:
            `main is looked up at priority ${mainPref}, before our band rules at ${Math.max(...ours.map((x) => x.priority))}, so unbound and forwarded traffic ` +
            `leaves by ${r.dev ?? 'this route'} whatever interface_priority says, and failover to the next uplink does not happen. ` +
            `The band belongs at rule_pref_default (${config.prefDefault}+), before main: band rules of an older version (\`iif lo\` at 91000+) are moved by the next event or a daemon restart. ` +
            `Or: ${lasting}`,
          fix: [
            `systemctl restart multihomed-routing   # moves old band rules before main`,
            ...(nm || r.protocol === 9 ? [] : [del, ...(r.dev && r.protocol === 3 ? rerunHook(r.dev, dynamic, family) : [])]),
          ],
        });
      }
    }
    return out;
  },
};
