import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lib/config/parse.js';
import { uplinksOf } from '../../../lib/health/uplinks.js';
import { link, state } from '../plan/fake-kernel.js';

const managed = state({
  links: [link(2, 'eth0', '192.0.2.10/24'), link(3, 'wwan0', '100.64.5.7/30'), link(4, 'docker0', '172.17.0.1/16')],
  routes: ['default via 192.0.2.1 dev eth0 table 10000 proto 201 src 192.0.2.10', 'default via 100.64.5.5 dev wwan0 table 10001 proto 201 src 100.64.5.7'],
  rules: ['10000 from 192.0.2.10 lookup 10000 proto 201', '20000 to 192.0.2.0/24 lookup 10000 proto 201', '10000 from 100.64.5.7 lookup 10001 proto 201', '20000 to 100.64.5.4/30 lookup 10001 proto 201'],
});

describe('the uplinks the health service probes', () => {
  it('every managed address, its family’s targets, learned servers beyond its prefix, its interface’s settings', () => {
    const config = parseConfig('health_override = wwan*:interval_ms=5000\n');
    const servers = new Map([['eth0', ['192.0.2.1', '203.0.113.53', '2001:db8::53']]]);
    const got = uplinksOf(managed, config, config.health, servers);
    expect(got.map((u) => [u.key, u.table, u.settings.intervalMs])).toEqual([['4 eth0 192.0.2.10', 10000, 1000], ['4 wwan0 100.64.5.7', 10001, 5000]]);
    // 192.0.2.1 is on-link (the CPE itself answers DNS with its WAN dead): not a target
    expect(got[0]!.targets).toEqual(['1.1.1.1', '1.0.0.1', '8.8.8.8', '9.9.9.9', '208.67.222.222', '203.0.113.53']);
    expect(got.map((u) => u.shared)).toEqual([false, false]);
  });

  it('two modems holding the same address: each is probed bound to its device', () => {
    const modems = state({
      links: [link(4, 'usb0', '192.168.8.100/24'), link(5, 'usb1', '192.168.8.100/24')],
      rules: ['10000 from 192.168.8.100 lookup 10040 proto 201', '15000 oif usb0 lookup 10040 proto 201', '10000 from 192.168.8.100 lookup 10041 proto 201', '15000 oif usb1 lookup 10041 proto 201'],
      routes: ['default via 192.168.8.1 dev usb0 table 10040 proto 201 src 192.168.8.100', 'default via 192.168.8.1 dev usb1 table 10041 proto 201 src 192.168.8.100'],
    });
    const config = parseConfig('');
    expect(uplinksOf(modems, config, config.health).map((u) => [u.ifname, u.shared])).toEqual([['usb0', true], ['usb1', true]]);
  });
});
