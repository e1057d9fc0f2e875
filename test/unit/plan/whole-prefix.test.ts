// Issue 17, items 2 and 6. A lease with a prefix of length 0 (DHCP netmask
// 0.0.0.0, IPv6 prefix length 0) is routed as the host address: no `to` rule
// and no on-link route that would cover every destination. And undo
// converges: a prefix route that is already back in main is not added again
// (the kernel would refuse it with "File exists").

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

const bound = (address: string, gateway: string): AddressUp => ({
  kind: 'address-up', source: 'dhclient', ifname: 'eth0', address: parseInterfaceAddress(address),
  gateways: [parseIp(gateway)], routes: [], manageAddress: true, validLifetime: 120, preferredLifetime: 120,
});
const ifup = (address: string, gateway: string): AddressUp => ({ ...bound(address, gateway), source: 'ifupdown', manageAddress: false, validLifetime: undefined, preferredLifetime: undefined });

const empty = state({ links: [link(2, 'eth0')] });
// An address put on as /0 by someone else (ifupdown `netmask 0.0.0.0`): the kernel made a 0/0 prefix route in main.
const onAsWhole4 = state({ links: [link(2, 'eth0', '10.0.0.5/0')], routes: ['default dev eth0 proto 2 scope 253 src 10.0.0.5'] });
const onAsWhole6 = state({ links: [link(2, 'eth0', '2001:db8::5/0')], routes: ['::/0 dev eth0 proto 2 metric 256'] });

describe('a lease with a prefix of length 0', () => {
  const cases: { name: string; state: KernelState; event: AddressUp; table: number; changes: string[] }[] = [
    {
      name: 'DHCPv4 BOUND 10.0.0.5 netmask 0.0.0.0: the address as /32, a default via the gateway (onlink), no to rule',
      state: empty, event: bound('10.0.0.5/0', '10.0.0.1'), table: 10000,
      changes: [
        'ip -4 address add 10.0.0.5/32 dev eth0 valid_lft 120 preferred_lft 120 noprefixroute',
        'ip -4 rule add pref 30000 lookup main suppress_prefixlength 0 protocol 201',
        'ip -4 route add default via 10.0.0.1 dev eth0 table 10000 proto 201 src 10.0.0.5 metric 0 onlink',
        'ip -4 rule add pref 10000 from 10.0.0.5/32 lookup 10000 protocol 201',
        'ip -4 rule add pref 15000 oif eth0 lookup 10000 protocol 201',
        'ip -4 rule add pref 31000 lookup 10000 protocol 201',
      ],
    },
    {
      name: 'DHCPv6 BOUND6 with prefix length 0: the address as /128',
      state: empty, event: bound('2001:db8::5/0', '2001:db8::1'), table: 10100,
      changes: [
        'ip -6 address add 2001:db8::5/128 dev eth0 valid_lft 120 preferred_lft 120 noprefixroute',
        'ip -6 rule add pref 30000 lookup main suppress_prefixlength 0 protocol 201',
        'ip -6 route add default via 2001:db8::1 dev eth0 table 10100 proto 201 src 2001:db8::5 metric 1024 onlink',
        'ip -6 rule add pref 10000 from 2001:db8::5/128 lookup 10100 protocol 201',
        'ip -6 rule add pref 15000 oif eth0 lookup 10100 protocol 201',
        'ip -6 rule add pref 31000 lookup 10100 protocol 201',
      ],
    },
    {
      name: "static /0 (IPv4): the kernel's 0/0 prefix route leaves main and is not copied into the table",
      state: onAsWhole4, event: ifup('10.0.0.5/0', '10.0.0.1'), table: 10000,
      changes: [
        'ip -4 rule add pref 30000 lookup main suppress_prefixlength 0 protocol 201',
        'ip -4 route add default via 10.0.0.1 dev eth0 table 10000 proto 201 src 10.0.0.5 metric 0 onlink',
        'ip -4 rule add pref 10000 from 10.0.0.5/32 lookup 10000 protocol 201',
        'ip -4 rule add pref 15000 oif eth0 lookup 10000 protocol 201',
        'ip -4 rule add pref 31000 lookup 10000 protocol 201',
        'ip -4 route del default dev eth0 table 254 proto 2 scope link src 10.0.0.5 metric 0',
      ],
    },
    {
      name: "static /0 (IPv6): the same",
      state: onAsWhole6, event: ifup('2001:db8::5/0', '2001:db8::1'), table: 10100,
      changes: [
        'ip -6 rule add pref 30000 lookup main suppress_prefixlength 0 protocol 201',
        'ip -6 route add default via 2001:db8::1 dev eth0 table 10100 proto 201 src 2001:db8::5 metric 1024 onlink',
        'ip -6 rule add pref 10000 from 2001:db8::5/128 lookup 10100 protocol 201',
        'ip -6 rule add pref 15000 oif eth0 lookup 10100 protocol 201',
        'ip -6 rule add pref 31000 lookup 10100 protocol 201',
        'ip -6 route del default dev eth0 table 254 proto 2 metric 256',
      ],
    },
    {
      name: 'no lease (fallback): only the default route in main, no prefix route covering everything',
      state: empty, event: bound('10.0.0.5/0', '10.0.0.1'), table: 0,
      changes: [
        'ip -4 address add 10.0.0.5/32 dev eth0 valid_lft 120 preferred_lft 120',
        'ip -4 route add default via 10.0.0.1 dev eth0 table 254 proto 201 src 10.0.0.5 metric 2 onlink',
        'ip -4 rule add pref 10000 from 10.0.0.5/32 lookup main protocol 201',
      ],
    },
  ];

  it.each(cases)('up: $name', ({ state: s, event, table, changes }) => {
    const plan = planEvent({ state: s, event, config, table });
    expect(plan.changes.map(cmd)).toEqual(changes);
    expect(plan.changes.find((c) => c.kind === 'add-rule' && c.rule.src)?.reason ?? plan.changes[0]!.reason).toMatch(/prefix \/0 taken as \/(32|128)/);
    // Idempotent: the same event on the result plans nothing but the lifetime refresh.
    const after = applyToState(s, plan.changes);
    expect(planEvent({ state: after, event, config, table }).changes.map(cmd).filter((c) => !c.includes('address change'))).toEqual([]);
  });

  it.each(cases)('down after up: $name', ({ state: s, event, table }) => {
    const after = applyToState(s, planEvent({ state: s, event, config, table }).changes);
    const down: AddressDown = { kind: 'address-down', source: event.source, ifname: 'eth0', address: event.address, manageAddress: event.manageAddress };
    const plan = planEvent({ state: after, event: down, config, table: 0 });
    const got = plan.changes.map(cmd);
    expect(got.filter((c) => c.includes(' add '))).toEqual([]);
    // The kernel accepts every change (the fake kernel throws where it would not), and nothing of ours is left.
    const done = applyToState(after, plan.changes);
    expect([...done.rules, ...done.routes].filter((x) => x.protocol === config.protocol)).toEqual([]);
    if (event.manageAddress) expect(done.links[0]!.addresses).toEqual([]);
    expect(planEvent({ state: done, event: down, config, table: 0 }).changes).toEqual([]);
  });
});

describe('undo converges: a prefix route already back in main is not added again', () => {
  // eth0's lease 192.0.2.10/24 managed in table 10000; the address stays (ifdown of a stanza that keeps it).
  const managed = (extraMain: string[], links = [link(2, 'eth0', '192.0.2.10/24')]) => state({
    links,
    routes: [
      '192.0.2.0/24 dev eth0 table 10000 proto 201 scope 253 src 192.0.2.10 metric 0',
      'default via 192.0.2.1 dev eth0 table 10000 proto 201 src 192.0.2.10 metric 0',
      ...extraMain,
    ],
    rules: ['10000 from 192.0.2.10 lookup 10000 proto 201', '15000 oif eth0 lookup 10000 proto 201', '20000 to 192.0.2.0/24 lookup 10000 proto 201', '31000 lookup 10000 proto 201'],
  });
  const managed6 = (extraMain: string[]) => state({
    links: [link(2, 'eth0', '2001:db8:1::10/64')],
    routes: ['2001:db8:1::/64 dev eth0 table 10100 proto 201 src 2001:db8:1::10 metric 1024', ...extraMain],
    rules: ['-6 10000 from 2001:db8:1::10 lookup 10100 proto 201', '-6 15000 oif eth0 lookup 10100 proto 201', '-6 20000 to 2001:db8:1::/64 lookup 10100 proto 201', '-6 31000 lookup 10100 proto 201'],
  });
  const ifdown = (address: string): RoutingEvent => ({ kind: 'address-down', source: 'ifupdown', ifname: 'eth0', address: parseInterfaceAddress(address), manageAddress: false });

  it.each([
    { name: 'nothing in main: the kernel route comes back', s: managed([]), e: ifdown('192.0.2.10/24'), add: ['ip -4 route add 192.0.2.0/24 dev eth0 table 254 proto 2 scope link src 192.0.2.10 metric 0'] },
    { name: 'put back by hand (proto boot)', s: managed(['192.0.2.0/24 dev eth0 proto 3 scope 253']), e: ifdown('192.0.2.10/24'), add: [] },
    { name: 'put back by the kernel (proto kernel)', s: managed(['192.0.2.0/24 dev eth0 proto 2 scope 253 src 192.0.2.10']), e: ifdown('192.0.2.10/24'), add: [] },
    { name: 'another device holds the prefix at metric 0: the next free metric', s: managed(['192.0.2.0/24 dev eth1 proto 2 scope 253 src 192.0.2.77']), e: ifdown('192.0.2.10/24'), add: ['ip -4 route add 192.0.2.0/24 dev eth0 table 254 proto 2 scope link src 192.0.2.10 metric 1'] },
    { name: 'IPv6, nothing in main', s: managed6([]), e: ifdown('2001:db8:1::10/64'), add: ['ip -6 route add 2001:db8:1::/64 dev eth0 table 254 proto 2 metric 256'] },
    { name: 'IPv6, put back by hand', s: managed6(['2001:db8:1::/64 dev eth0 proto 3 metric 256']), e: ifdown('2001:db8:1::10/64'), add: [] },
  ])('$name', ({ s, e, add }) => {
    const plan = planEvent({ state: s, event: e, config, table: 0 });
    expect(plan.changes.map(cmd).filter((c) => c.includes(' add '))).toEqual(add);
    expect(() => applyToState(s, plan.changes)).not.toThrow();
  });
});
