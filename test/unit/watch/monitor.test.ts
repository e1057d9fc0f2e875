import { describe, expect, it } from 'vitest';
import { isRelevant, parseMonitorLine } from '../../../lib/watch/monitor.js';

// Lines as iproute2 6.1 prints them with `ip -o monitor label link address route rule`.
const cfg = { protocol: 201, isIgnored: (n: string) => n.startsWith('veth') };

describe('ip -o monitor lines', () => {
  it.each([
    ['[LINK]3: eth1@p1: <NO-CARRIER,BROADCAST,MULTICAST,UP,M-DOWN> mtu 1500 qdisc noqueue state LOWERLAYERDOWN group default \\    link/ether da:13:1e:f3:d0:86 brd ff:ff:ff:ff:ff:ff',
      { object: 'link', deleted: false, ifindex: 3, ifname: 'eth1', up: true }],
    ['[LINK]Deleted 3: eth1@NONE: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN group default \\    link/ether da:13:1e:f3:d0:86',
      { object: 'link', deleted: true, ifindex: 3, ifname: 'eth1', up: false }],
    ['[ADDR]Deleted 3: eth1    inet 10.9.0.2/24 scope global eth1\\       valid_lft forever preferred_lft forever',
      { object: 'address', deleted: true, ifindex: 3, ifname: 'eth1', family: 4, address: '10.9.0.2/24', scope: 'global' }],
    ['[ADDR]6: eth3    inet6 fe80::4818:4cff:feb7:6254/64 scope link \\       valid_lft forever preferred_lft forever',
      { object: 'address', deleted: false, ifname: 'eth3', family: 6, scope: 'link' }],
    ['[ROUTE]default via 10.77.0.1 dev eth3 table 10000 proto 201 src 10.77.0.2 ',
      { object: 'route', deleted: false, ifname: 'eth3', table: '10000', protocol: '201', address: 'default', routeType: 'unicast', family: 4 }],
    ['[ROUTE]Deleted broadcast 10.9.0.255 dev eth1 table local proto kernel scope link src 10.9.0.2 ',
      { object: 'route', deleted: true, routeType: 'broadcast', table: 'local', address: '10.9.0.255' }],
    ['[ROUTE]Deleted default via fe80::54f4:5cff:feaa:b97a dev eth0 proto ra metric 1024 hoplimit 64 pref medium',
      { object: 'route', deleted: true, protocol: 'ra', address: 'default', family: 6, table: 'main' }],
    ['[RULE]Deleted 32765:\tfrom 10.9.0.2 lookup 100 proto 201', { object: 'rule', deleted: true, protocol: '201' }],
    ['[2026-11-22T04:56:57.094894] [NSID]something new', { object: 'other', deleted: false }],
  ])('%s', (line, want) => {
    expect(parseMonitorLine(line)).toMatchObject(want);
  });

  it('blank lines are nothing', () => expect(parseMonitorLine('   ')).toBeUndefined());

  it.each([
    ['[LINK]7: st5@st5p: <BROADCAST,MULTICAST,UP> mtu 1500', true],
    ['[LINK]7: veth9@if2: <BROADCAST,MULTICAST,UP> mtu 1500', false], // ignored interface
    ['[ADDR]6: eth3    inet6 fe80::1/64 scope link ', false], // link-local: never managed
    ['[ADDR]6: eth3    inet 10.0.0.2/24 scope global eth3', true],
    ['[ROUTE]local 10.77.0.2 dev eth3 table local proto kernel scope host src 10.77.0.2 ', false],
    ['[ROUTE]10.77.0.0/24 dev eth3 proto kernel scope link src 10.77.0.2 ', false],
    ['[ROUTE]default via fe80::1 dev eth0 proto ra metric 1024', true],
    ['[ROUTE]default via 10.77.0.9 dev eth3 proto dhcp metric 600 ', true], // an adopted table follows it
    ['[ROUTE]default via 10.77.0.9 dev eth3 table 300 proto static ', false], // someone else's table
    ['[ROUTE]default via 10.77.0.1 dev eth3 table 10000 proto 201 src 10.77.0.2 ', true], // ours: a hook finished
    ['[RULE]1000:\tfrom all fwmark 0x1 lookup 52', false],
    ['[RULE]Deleted 10000:\tfrom 10.0.0.2 lookup 10000 proto 201', true],
  ])('relevant: %s → %s', (line, want) => {
    expect(isRelevant(parseMonitorLine(line)!, cfg)).toBe(want);
  });
});
