// systemd-networkd or netplan (networkd renderer) configuring an interface:
// no hook of ours runs for it.

import { ignored } from '../candidates.js';
import type { Check } from '../check.js';
import type { Finding } from '../findings.js';

export const networkdManaged: Check = {
  id: 'networkd-managed',
  findings: ['networkd-managed'],
  run(snap, config) {
    const byIf = new Map<string, string[]>();
    const note = (ifname: string, how: string) => byIf.set(ifname, [...(byIf.get(ifname) ?? []), how]);
    for (const n of snap.networkd) note(n.ifname, `systemd-networkd configures it${n.networkFile ? ` (${n.networkFile})` : ''}`);
    for (const n of snap.netplan) if (n.renderer === 'networkd') note(n.ifname, `netplan hands it to networkd (${n.file})`);
    const out: Finding[] = [];
    for (const [ifname, hows] of byIf) {
      if (ignored(config, ifname)) continue;
      const netplanFile = snap.netplan.find((n) => n.ifname === ifname)?.file;
      out.push({
        id: 'networkd-managed',
        severity: 'warning',
        subject: ifname,
        what: `${ifname} is not configured by ifupdown: ${hows.join('; ')}.`,
        why: 'systemd-networkd runs neither ifupdown\'s if-up.d hooks nor dhclient-script, so its addresses get no table and no rules (the daemon\'s watcher sees only what the kernel shows).',
        fix: [
          ...(netplanFile ? [`# remove ${ifname} from ${netplanFile}, then: netplan apply`] : [`# mark ${ifname} unmanaged in networkd: [Link] Unmanaged=yes in its .network file`]),
          `printf 'auto ${ifname}\\niface ${ifname} inet dhcp\\n' >> /etc/network/interfaces`,
          `ifup ${ifname}`,
        ],
      });
    }
    return out;
  },
};
