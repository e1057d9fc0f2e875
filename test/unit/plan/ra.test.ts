import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lib/config/parse.js';
import { parseInterfaceAddress, parseIp } from '../../../lib/net/address.js';
import { planEvent } from '../../../lib/plan/plan.js';
import { describeChange } from '../../../lib/plan/render.js';
import { state } from './fake-kernel.js';

const config = parseConfig('');

describe('a SLAAC address (source kernel)', () => {
  it('gets its table with the RA default mirrored; main keeps the kernel\'s RA routes', () => {
    const s = state({
      links: [{ ifindex: 2, ifname: 'eth0', up: true, carrier: true, addresses: [{ address: parseInterfaceAddress('2001:db8:1::5/64'), scope: 0, flags: ['dynamic'] }] }],
      routes: ['2001:db8:1::/64 dev eth0 proto 2 metric 256', 'default via fe80::1 dev eth0 proto 9 metric 1024'],
    });
    const plan = planEvent({
      state: s,
      event: { kind: 'address-up', source: 'kernel', ifname: 'eth0', address: parseInterfaceAddress('2001:db8:1::5/64'), gateways: [parseIp('fe80::1')], routes: [], manageAddress: false },
      config,
      table: 10000,
    });
    const cmds = plan.changes.map((c) => describeChange(c).replace(/ {2}#.*$/, ''));
    expect(cmds).toContain('ip -6 route add default via fe80::1 dev eth0 table 10000 proto 201 src 2001:db8:1::5 metric 1024');
    expect(cmds.filter((c) => c.includes('table 254'))).toEqual([]);
  });
});
