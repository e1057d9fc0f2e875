// An uplink whose carrier is up but whose upstream the daemon's health
// probes find dead: unbound traffic has moved off it (a warning), or, with
// no uplink of the family up, keeps plain priority order (a note). Explains what the probes saw and how to
// look further.

import type { Check } from '../check.js';
import type { Finding } from '../findings.js';

export const upstreamDown: Check = {
  id: 'upstream-down',
  findings: ['upstream-down'],
  run(snap, config) {
    const uplinks = snap.health ?? [];
    const out: Finding[] = [];
    for (const u of uplinks) {
      if (u.health !== 'down') continue;
      // Demoted only while another uplink of the family is up (lib/health/service.ts); with none up nothing changed.
      const healthy = uplinks.filter((x) => x.family === u.family && x.health === 'up').map((x) => x.ifname);
      const since = new Date(u.since * 1000).toISOString().replace('.000Z', 'Z');
      out.push({
        id: 'upstream-down',
        severity: healthy.length ? 'warning' : 'info',
        subject: `${u.ifname} ${u.address}`,
        what: `The upstream behind ${u.ifname} ${u.address} is down since ${since}: ${u.why ?? 'its probes get no answer'}.`,
        why: `Its link is up, but nothing beyond it answers the probes sent from ${u.address} (${u.targets.join(', ')}): the router or modem lost its WAN, or its ISP is down. ${
          healthy.length ? `Unbound traffic ranks it after ${healthy.join(', ')}` : 'No uplink of the family answers its probes (the host may be offline, or the targets filtered), so the plain priority order stays'
        }; traffic bound to its address or device still uses it.`,
        fix: [
          `ping -I ${u.address} ${u.targets[0] ?? '1.1.1.1'}   # does anything answer through it?`,
          `# check the router or modem behind ${u.ifname} (its WAN link, its ISP); the uplink comes back on its own once ${config.health.up} rounds answer`,
          `# the targets filtered on this network? set health_targets (or health_override for ${u.ifname}) in ${config.configPath ?? 'the config file'}`,
        ],
      });
    }
    return out;
  },
};
