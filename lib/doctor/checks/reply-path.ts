// The fault the toolkit exists for: replies from an address leave by another
// interface (dropped upstream as a foreign source), or leave by the right one
// only by chance (no `from A` rule on a multihomed host).

import { candidateAddresses, degradedAddresses, hasSourceRule, multihomed } from '../candidates.js';
import { rerunHook, type Check } from '../check.js';
import type { Finding } from '../findings.js';

export const replyPath: Check = {
  id: 'reply-path',
  findings: ['reply-path', 'no-source-rule'],
  run(snap, config) {
    const candidates = candidateAddresses(snap.kernel, config);
    const degraded = degradedAddresses(snap.kernel, config);
    const out: Finding[] = [];
    for (const c of candidates) {
      const probe = snap.replyRoutes.find((r) => r.address === c.address && r.ifname === c.ifname);
      const sourceRule = hasSourceRule(snap.kernel, c.family, c.address);
      const subject = `${c.ifname} ${c.address}`;
      if (probe?.dev && probe.dev !== c.ifname) {
        out.push({
          id: 'reply-path',
          severity: 'error',
          subject,
          what: `Replies from ${c.address} (on ${c.ifname}) would leave by ${probe.dev}${probe.gateway ? ` via ${probe.gateway}` : ''}.`,
          why:
            `\`ip route get ${probe.probe} from ${c.address}${probe.bound ? ` oif ${c.ifname}` : ''}\` picks ${probe.dev}: ` +
            (sourceRule
              ? `a rule for ${c.address} exists but its table sends the traffic elsewhere. `
              : `no rule sends traffic from ${c.address} to a table of its own, so main and the rules for unbound traffic decide. `) +
            `The router behind ${probe.dev} drops packets with a source that is not its own (source filtering, rp_filter), ` +
            `so connections to ${c.address} and sockets bound to it fail.`,
          fix: sourceRule
            ? [`ip -${c.family} rule show from ${c.address}   # find the rule and table`, ...rerunHook(c.ifname, c.dynamic, c.family)]
            : rerunHook(c.ifname, c.dynamic, c.family),
        });
      } else if (probe?.bound && probe.dev === c.ifname && !probe.gateway && !probe.table) {
        // Found on a live host: with `oif` the kernel skips every route by another device and, finding none,
        // answers "on-link" by the bound device instead of failing, so the device check above never fires.
        out.push({
          id: 'reply-path',
          severity: 'error',
          subject,
          what: `Traffic from ${c.address} bound to ${c.ifname} has no route: the kernel would send it to ${probe.probe} as if on-link, with no gateway.`,
          why:
            `${c.address} is on several interfaces, so only traffic bound to the device tells them apart, and ` +
            `\`ip route get ${probe.probe} from ${c.address} oif ${c.ifname}\` finds no route by ${c.ifname} in any table: ` +
            `no \`oif ${c.ifname}\` rule with a table of its own. The kernel then asks for the destination by ARP on ${c.ifname}, nothing answers, ` +
            `and sockets bound to ${c.ifname} (\`ping -I ${c.ifname}\`, a modem's own connections) fail.`,
          fix: rerunHook(c.ifname, c.dynamic, c.family),
        });
      } else if (!sourceRule && multihomed(candidates, c.family) && !degraded.has(subject)) {
        out.push({
          id: 'no-source-rule',
          severity: 'warning',
          subject,
          what: `${c.address} on ${c.ifname} has no \`from ${c.address}\` rule on this multihomed host.`,
          why:
            `Replies from it ${probe?.dev ? `leave by ${probe.dev} today only because the rules for unbound traffic happen to pick it` : 'have no route of their own'}; ` +
            `another uplink ranked before it (interface_priority) sends them out by the wrong uplink. ` +
            `The hooks did not run for this address, or the interface is not handled by ifupdown, dhclient or NetworkManager.`,
          fix: rerunHook(c.ifname, c.dynamic, c.family),
        });
      }
    }
    return out;
  },
};
