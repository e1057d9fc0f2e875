// Strict rp_filter (effective max(all, iface) = 1) where strict drops
// legitimate replies: the address is on two interfaces, or its return path
// is asymmetric.

import { candidateAddresses } from '../candidates.js';
import type { Check } from '../check.js';
import type { Finding } from '../findings.js';

export const rpFilterStrict: Check = {
  id: 'rp-filter-strict',
  findings: ['rp-filter-strict'],
  run(snap, config) {
    const candidates = candidateAddresses(snap.kernel, config).filter((c) => c.family === 4);
    const out: Finding[] = [];
    const all = Number(snap.rpFilter.all) || 0;
    for (const ifname of [...new Set(candidates.map((c) => c.ifname))]) {
      const own = Number(snap.rpFilter.byIface[ifname]) || 0;
      if (Math.max(all, own) !== 1) continue;
      const mine = candidates.filter((c) => c.ifname === ifname);
      const shared = mine.find((c) => candidates.some((o) => o.ifname !== ifname && o.address === c.address));
      const asym = mine.map((c) => snap.replyRoutes.find((r) => r.ifname === ifname && r.address === c.address)).find((r) => r?.dev && r.dev !== ifname);
      if (!shared && !asym) continue;
      const reason = shared
        ? `${shared.address} is also on ${candidates.find((o) => o.ifname !== ifname && o.address === shared.address)!.ifname}: the kernel checks a packet's source against the first table whose \`from\` rule matches, which belongs to the other interface, so replies arriving on ${ifname} are dropped`
        : `the return route for ${asym!.address} leaves by ${asym!.dev}, not ${ifname}, so strict mode drops what arrives on ${ifname}`;
      out.push({
        id: 'rp-filter-strict',
        severity: 'error',
        subject: ifname,
        what: `Strict reverse-path filtering on ${ifname} (effective rp_filter = max(all=${all}, ${ifname}=${own}) = 1).`,
        why:
          `${reason[0]!.toUpperCase()}${reason.slice(1)}. Loose mode (2) still drops spoofed sources that no route reaches. ` +
          (config.looseRpFilter
            ? 'loose_rp_filter is on, so the hooks set this for managed interfaces: something set it back (a sysctl.d file, a later boot step) or the hooks did not run.'
            : `loose_rp_filter is off in the config${config.configPath ? ` (${config.configPath})` : ''}.`),
        fix: [
          `sysctl -w net.ipv4.conf.${ifname}.rp_filter=2`,
          ...(config.looseRpFilter ? [] : [`# lasting: set loose_rp_filter = yes in ${config.configPath ?? 'the config'}`]),
          `grep -r rp_filter /etc/sysctl.conf /etc/sysctl.d   # find what sets it back`,
        ],
      });
    }
    return out;
  },
};
