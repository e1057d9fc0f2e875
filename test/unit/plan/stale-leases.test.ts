// Stale DHCPv4 leases (events with soleLease): after a refused renewal
// (DHCPNAK) the client binds a new address and may later report the old one
// on RELEASE. Every other address of ours on the interface that carries a
// lease lifetime goes; permanent addresses (ifupdown static, added by hand)
// and addresses we hold nothing for are never touched.

import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lib/config/parse.js';
import { parseInterfaceAddress, parseIp } from '../../../lib/net/address.js';
import type { Change } from '../../../lib/plan/change.js';
import type { AddressDown, AddressUp, RoutingEvent } from '../../../lib/plan/event.js';
import { planEvent } from '../../../lib/plan/plan.js';
import { describeChange } from '../../../lib/plan/render.js';
import type { KernelState } from '../../../lib/state/types.js';
import { applyToState, link, state } from './fake-kernel.js';

const config = parseConfig('');
const cmd = (c: Change) => describeChange(c).replace(/ {2}#.*$/, '');

const bound = (address: string, extra: Partial<AddressUp> = {}): AddressUp => ({
  kind: 'address-up', source: 'dhclient', ifname: 'eth0', address: parseInterfaceAddress(address),
  gateways: [parseIp('192.168.7.1')], routes: [], manageAddress: true,
  validLifetime: 120, preferredLifetime: 120, soleLease: true, ...extra,
});
const release = (address: string, extra: Partial<AddressDown> = {}): AddressDown => ({
  kind: 'address-down', source: 'dhclient', ifname: 'eth0', address: parseInterfaceAddress(address), manageAddress: true, soleLease: true, ...extra,
});

/** Everything of ours for one address: its table's routes and rules (pref 31000 + rank). */
function ours(ifname: string, address: string, prefix: string, table: number, rank: number, gateway?: string) {
  return {
    routes: [
      `${prefix} dev ${ifname} table ${table} proto 201 scope 253 src ${address} metric 0`,
      ...(gateway ? [`default via ${gateway} dev ${ifname} table ${table} proto 201 src ${address} metric 0`] : []),
    ],
    rules: [
      `10000 from ${address} lookup ${table} proto 201`, `15000 oif ${ifname} lookup ${table} proto 201`,
      `20000 to ${prefix} lookup ${table} proto 201`, `${31000 + rank} lookup ${table} proto 201`,
    ],
  };
}

// eth0 holds: ifupdown's static 10.77.0.2/24 (permanent, ours, table 10000);
// the DHCP lease 192.168.7.120/24 (dynamic, ours, table 10001) that a NAK
// made stale; 192.168.7.130/24 (dynamic, nothing of ours: not ours to
// remove). wlan1 holds a DHCP lease of its own (table 10002).
const staticE = ours('eth0', '10.77.0.2', '10.77.0.0/24', 10000, 0);
const staleE = ours('eth0', '192.168.7.120', '192.168.7.0/24', 10001, 1, '192.168.7.1');
const wlanE = ours('wlan1', '192.168.8.50', '192.168.8.0/24', 10002, 2, '192.168.8.1');
const host = state({
  links: [
    link(1, 'lo', '127.0.0.1/8'),
    link(2, 'eth0', '10.77.0.2/24', '192.168.7.120/24 valid 80', '192.168.7.130/24 valid 60 secondary'),
    link(3, 'wlan1', '192.168.8.50/24 valid 100'),
  ],
  routes: [...staticE.routes, ...staleE.routes, ...wlanE.routes],
  rules: [...staticE.rules, ...staleE.rules, ...wlanE.rules, '30000 lookup main suppress_prefixlength 0 proto 201'],
});

const STALE_GONE = [
  'ip -4 rule del pref 10000 from 192.168.7.120/32 lookup 10001 protocol 201',
  'ip -4 rule del pref 15000 oif eth0 lookup 10001 protocol 201',
  'ip -4 rule del pref 20000 to 192.168.7.0/24 lookup 10001 protocol 201',
  'ip -4 rule del pref 31001 lookup 10001 protocol 201',
  'ip -4 route del 192.168.7.0/24 dev eth0 table 10001 proto 201 scope link src 192.168.7.120 metric 0',
  'ip -4 route del default via 192.168.7.1 dev eth0 table 10001 proto 201 src 192.168.7.120 metric 0',
];

const plan = (s: KernelState, event: RoutingEvent, table = 10003) => planEvent({ state: s, event, config, table });

describe('stale DHCPv4 leases', () => {
  const cases: { name: string; state: KernelState; event: RoutingEvent; table?: number; changes: string[]; released: string[] }[] = [
    {
      name: 'BOUND of a new address after a NAK: the stale lease goes first (rules, routes, address), then the new one is built',
      state: host,
      event: bound('192.168.7.121/24'),
      changes: [
        ...STALE_GONE,
        'ip -4 address del 192.168.7.120/24 dev eth0',
        'ip -4 address add 192.168.7.121/24 dev eth0 valid_lft 120 preferred_lft 120 noprefixroute',
        'ip -4 route add 192.168.7.0/24 dev eth0 table 10003 proto 201 scope link src 192.168.7.121 metric 0',
        'ip -4 route add default via 192.168.7.1 dev eth0 table 10003 proto 201 src 192.168.7.121 metric 0',
        'ip -4 rule add pref 10000 from 192.168.7.121/32 lookup 10003 protocol 201',
        'ip -4 rule add pref 15000 oif eth0 lookup 10003 protocol 201',
        'ip -4 rule add pref 20000 to 192.168.7.0/24 lookup 10003 protocol 201',
        'ip -4 rule add pref 31001 lookup 10003 protocol 201',
      ],
      released: ['192.168.7.120/24 10001'],
    },
    {
      name: 'RELEASE naming the stale address: it goes, and so does nothing else',
      state: host,
      event: release('192.168.7.120/24'),
      changes: [
        ...STALE_GONE, 'ip -4 rule del pref 31002 lookup 10002 protocol 201',
        'ip -4 route add 192.168.7.0/24 dev eth0 table 254 proto 2 scope link src 192.168.7.120 metric 0', // as before: the address-down path
        'ip -4 rule add pref 31001 lookup 10002 protocol 201', 'ip -4 address del 192.168.7.120/24 dev eth0',
      ],
      released: ['192.168.7.120/24 10001'],
    },
    {
      name: 'RELEASE naming an address already gone (the lease file is older than the lease): the lease in place goes',
      state: host,
      event: release('192.168.7.99/24'),
      changes: [...STALE_GONE, 'ip -4 rule del pref 31002 lookup 10002 protocol 201', 'ip -4 rule add pref 31001 lookup 10002 protocol 201', 'ip -4 address del 192.168.7.120/24 dev eth0'],
      released: ['192.168.7.120/24 10001'],
    },
    {
      name: 'a down event without soleLease (ifupdown, DHCPv6): only its own address',
      state: host,
      event: release('192.168.7.99/24', { soleLease: false }),
      changes: [],
      released: [],
    },
    {
      name: 'an up event without soleLease (ifupdown again for the static address): the DHCP lease stays',
      state: host,
      event: bound('10.77.0.2/24', { source: 'ifupdown', gateways: [], manageAddress: false, soleLease: false, validLifetime: undefined, preferredLifetime: undefined }),
      table: 10000,
      changes: [],
      released: [],
    },
    {
      name: 'degraded lease (no table, our routes in main): its fallback routes and address go',
      state: state({
        links: [link(2, 'eth0', '192.168.7.120/24 valid 80')],
        routes: ['192.168.7.0/24 dev eth0 proto 201 scope 253 src 192.168.7.120 metric 2', 'default via 192.168.7.1 dev eth0 proto 201 src 192.168.7.120 metric 2'],
      }),
      event: release('192.168.7.99/24'),
      changes: [
        'ip -4 route del 192.168.7.0/24 dev eth0 table 254 proto 201 scope link src 192.168.7.120 metric 2',
        'ip -4 route del default via 192.168.7.1 dev eth0 table 254 proto 201 src 192.168.7.120 metric 2',
        'ip -4 address del 192.168.7.120/24 dev eth0',
      ],
      released: [],
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const p = plan(c.state, c.event, c.table);
      expect(p.changes.map(cmd)).toEqual(c.changes);
      expect(p.released.map((r) => `${r.address.address.text}/${r.address.prefix.length} ${r.table}`)).toEqual(c.released);
      // Never the static address, its table, the address we hold nothing for, or wlan1.
      expect(p.changes.map(cmd).join('\n')).not.toMatch(/10\.77\.0\.2|lookup 10000|table 10000|192\.168\.7\.130|wlan1/);
      expect(p.changes.filter((x) => x.kind === 'del-address').map((x) => x.subject.address)).not.toContain('192.168.7.130/24');
      // Applied (the model deletes like the kernel), the same event plans
      // nothing more (but the lifetime refresh of a renewal).
      const after = applyToState(c.state, p.changes);
      expect(plan(after, c.event, c.table).changes.map(cmd).filter((x) => !x.includes('address change'))).toEqual([]);
    });
  }

  it('RELEASE of the lease in place also removes a stale one: secondaries deleted before primaries', () => {
    const s = state({
      links: [link(2, 'eth0', '192.168.7.120/24 valid 80', '192.168.7.121/24 valid 110 secondary')],
      routes: [...staleE.routes, ...ours('eth0', '192.168.7.121', '192.168.7.0/24', 10003, 0, '192.168.7.1').routes],
      rules: [...staleE.rules.slice(0, 3), '31001 lookup 10001 proto 201', ...ours('eth0', '192.168.7.121', '192.168.7.0/24', 10003, 0).rules],
    });
    const p = plan(s, release('192.168.7.120/24'));
    const dels = p.changes.map(cmd).filter((c) => c.includes('address del'));
    expect(dels).toEqual(['ip -4 address del 192.168.7.121/24 dev eth0', 'ip -4 address del 192.168.7.120/24 dev eth0']);
    expect(p.released.map((r) => r.table).sort()).toEqual([10001, 10003]);
    const after = applyToState(s, p.changes);
    expect(after.rules.filter((r) => r.protocol === 201)).toEqual([]);
    expect(after.links[0]!.addresses).toEqual([]);
  });

  it('a renewal whose address is a secondary of a stale primary: deleted and put back, so the kernel does not take it along', () => {
    const mine = ours('eth0', '192.168.7.121', '192.168.7.0/24', 10003, 0, '192.168.7.1');
    const s = state({
      links: [link(2, 'eth0', '192.168.7.120/24 valid 80', '192.168.7.121/24 valid 110 secondary')],
      routes: [...staleE.routes, ...mine.routes],
      rules: [...staleE.rules.slice(0, 3), '31001 lookup 10001 proto 201', ...mine.rules],
    });
    const p = plan(s, bound('192.168.7.121/24'));
    const addr = p.changes.map(cmd).filter((c) => c.includes(' address '));
    expect(addr).toEqual([
      'ip -4 address del 192.168.7.121/24 dev eth0',
      'ip -4 address del 192.168.7.120/24 dev eth0',
      'ip -4 address add 192.168.7.121/24 dev eth0 valid_lft 120 preferred_lft 120 noprefixroute',
    ]);
    const after = applyToState(s, p.changes);
    expect(after.links[0]!.addresses.map((a) => a.address.address.text)).toEqual(['192.168.7.121']);
    // Its table is whole again (the kernel dropped its routes with the address).
    expect(after.routes.filter((r) => r.table === 10003).map((r) => r.dst.text).sort()).toEqual(['0.0.0.0/0', '192.168.7.0/24']);
    expect(plan(after, bound('192.168.7.121/24', { validLifetime: undefined, preferredLifetime: undefined })).changes.map(cmd)).toEqual([]);
  });

  it('the undo of a stale address\'s deletion puts it back with the lifetime it had left', () => {
    const del = plan(host, release('192.168.7.99/24')).changes.find((c) => c.kind === 'del-address')!;
    expect(del).toMatchObject({ validLifetime: 80, preferredLifetime: 80 });
  });
});
