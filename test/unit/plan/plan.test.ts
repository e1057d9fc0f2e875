import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lib/config/parse.js';
import { parseInterfaceAddress, parseIp } from '../../../lib/net/address.js';
import type { Change } from '../../../lib/plan/change.js';
import type { AddressDown, AddressUp, RoutingEvent } from '../../../lib/plan/event.js';
import { planEvent } from '../../../lib/plan/plan.js';
import { describeChange } from '../../../lib/plan/render.js';
import { isBandRule } from '../../../lib/state/rules.js';
import type { KernelState } from '../../../lib/state/types.js';
import { applyToState, link, state, strictSysctls } from './fake-kernel.js';

const config = parseConfig('');
const cmd = (c: Change) => describeChange(c).replace(/ {2}#.*$/, '');
const commands = (s: KernelState, event: RoutingEvent, table: number) => planEvent({ state: s, event, config, table }).changes.map(cmd);

function up(ifname: string, address: string, gateways: string[] = [], extra: Partial<AddressUp> = {}): AddressUp {
  return {
    kind: 'address-up', source: 'ifupdown', ifname, address: parseInterfaceAddress(address),
    gateways: gateways.map((g) => parseIp(g)), routes: [], manageAddress: false, ...extra,
  };
}
const down = (ifname: string, address: string, extra: Partial<AddressDown> = {}): AddressDown => ({
  kind: 'address-down', source: 'ifupdown', ifname, address: parseInterfaceAddress(address), manageAddress: false, ...extra,
});

// A host right after `ifup eth0` (static 192.0.2.10/24, gateway 192.0.2.1):
// kernel prefix route and ifupdown's default in main, strict rp_filter.
const strict = strictSysctls;
const afterIfup = state({
  links: [link(1, 'lo', '127.0.0.1/8'), link(2, 'eth0', '192.0.2.10/24')],
  routes: [
    '192.0.2.0/24 dev eth0 proto 2 scope 253 src 192.0.2.10',
    'default via 192.0.2.1 dev eth0 proto 3',
  ],
  rules: [
    // Foreign: Tailscale's table 52 and an operator's rule; must never be touched.
    '5270 fwmark lookup 52', '1000 from 203.0.113.0/24 lookup 300',
  ],
  sysctls: strict('eth0'),
});

describe('address up (ifupdown, IPv4)', () => {
  it('builds table, rules and moves main routes, in this order', () => {
    expect(commands(afterIfup, up('eth0', '192.0.2.10/24', ['192.0.2.1']), 10000)).toEqual([
      'ip -4 rule add pref 30000 lookup main suppress_prefixlength 0 protocol 201',
      'ip -4 route add 192.0.2.0/24 dev eth0 table 10000 proto 201 scope link src 192.0.2.10 metric 0',
      'ip -4 route add default via 192.0.2.1 dev eth0 table 10000 proto 201 src 192.0.2.10 metric 0',
      'ip -4 rule add pref 10000 from 192.0.2.10/32 lookup 10000 protocol 201',
      'ip -4 rule add pref 15000 oif eth0 lookup 10000 protocol 201',
      'ip -4 rule add pref 20000 to 192.0.2.0/24 lookup 10000 protocol 201',
      'ip -4 rule add pref 31000 lookup 10000 protocol 201',
      'ip -4 route del 192.0.2.0/24 dev eth0 table 254 proto 2 scope link src 192.0.2.10 metric 0',
      'ip -4 route del default via 192.0.2.1 dev eth0 table 254 proto 3 metric 0',
      'sysctl net.ipv4.conf.eth0.ignore_routes_with_linkdown=1 (was 0, saved)',
      'sysctl net.ipv4.conf.eth0.rp_filter=2 (was 1, saved)',
    ]);
  });

  it('is idempotent: the same event on the result plans nothing', () => {
    const e = up('eth0', '192.0.2.10/24', ['192.0.2.1']);
    const once = applyToState(afterIfup, planEvent({ state: afterIfup, event: e, config, table: 10000 }).changes);
    expect(commands(once, e, 10000)).toEqual([]);
  });

  it('never touches foreign rules or tables', () => {
    const all = commands(afterIfup, up('eth0', '192.0.2.10/24', ['192.0.2.1']), 10000).join('\n');
    expect(all).not.toMatch(/lookup (52|300)\b|table 52\b|pref (1000|5270)\b/);
  });

  it('uses onlink for a gateway outside the prefix, and gives each gateway its metric', () => {
    const s = state({ links: [link(3, 'eth1', '203.0.113.5/32')] });
    expect(commands(s, up('eth1', '203.0.113.5/32', ['10.0.0.1', '10.0.0.2']), 10001)).toEqual([
      'ip -4 rule add pref 30000 lookup main suppress_prefixlength 0 protocol 201',
      'ip -4 route add default via 10.0.0.1 dev eth1 table 10001 proto 201 src 203.0.113.5 metric 0 onlink',
      'ip -4 route add default via 10.0.0.2 dev eth1 table 10001 proto 201 src 203.0.113.5 metric 1 onlink',
      'ip -4 rule add pref 10000 from 203.0.113.5/32 lookup 10001 protocol 201',
      'ip -4 rule add pref 15000 oif eth1 lookup 10001 protocol 201',
      'ip -4 rule add pref 31000 lookup 10001 protocol 201',
    ]);
  });

  it.each([
    ['an ignored interface', up('docker0', '172.17.0.1/16'), /ignore_interfaces/],
    ['a link-local address', up('eth0', '169.254.3.4/16'), /link-local/],
    ['a missing interface', up('eth9', '192.0.2.10/24'), /does not exist/],
    ['an address not on the interface', up('eth0', '192.0.2.99/24'), /not on eth0/],
  ])('skips %s', (_n, e, why) => {
    const plan = planEvent({ state: afterIfup, event: e, config, table: 10000 });
    expect(plan.changes).toEqual([]);
    expect(plan.skipped).toMatch(why);
  });
});

describe('interface priority (the band)', () => {
  // wlan0 came up first and holds 31000; eth1 outranks it (eth* before wlan*).
  const wlanManaged = state({
    links: [link(2, 'wlan0', '198.51.100.7/24'), link(3, 'eth1', '192.0.2.20/24')],
    routes: [
      '198.51.100.0/24 dev wlan0 table 10005 proto 201 scope 253 src 198.51.100.7',
      '192.0.2.0/24 dev eth1 proto 2 scope 253 src 192.0.2.20',
    ],
    rules: [
      '10000 from 198.51.100.7/32 lookup 10005 proto 201', '15000 oif wlan0 lookup 10005 proto 201',
      '20000 to 198.51.100.0/24 lookup 10005 proto 201', '31000 lookup 10005 proto 201',
      '30000 lookup main suppress_prefixlength 0 proto 201',
    ],
  });

  it('orders by configured priority, not bring-up order, and moves the others', () => {
    const got = commands(wlanManaged, up('eth1', '192.0.2.20/24'), 10006);
    expect(got).toContain('ip -4 rule del pref 31000 lookup 10005 protocol 201');
    expect(got).toContain('ip -4 rule add pref 31001 lookup 10005 protocol 201');
    expect(got).toContain('ip -4 rule add pref 31000 lookup 10006 protocol 201');
  });

  it('closes the gap when the first one goes down', () => {
    const e = up('eth1', '192.0.2.20/24');
    const both = applyToState(wlanManaged, planEvent({ state: wlanManaged, event: e, config, table: 10006 }).changes);
    const got = commands(both, down('eth1', '192.0.2.20/24'), 0);
    expect(got).toContain('ip -4 rule del pref 31001 lookup 10005 protocol 201');
    expect(got).toContain('ip -4 rule add pref 31000 lookup 10005 protocol 201');
  });

  it('ranks names naturally and several addresses of one interface by value', () => {
    const s = state({ links: [link(2, 'eth10', '10.0.10.2/24'), link(3, 'eth2', '10.0.2.9/24', '10.0.2.3/24')] });
    let cur = s;
    const evs: [AddressUp, number][] = [
      [up('eth10', '10.0.10.2/24'), 10010], [up('eth2', '10.0.2.9/24'), 10020], [up('eth2', '10.0.2.3/24'), 10030],
    ];
    for (const [e, t] of evs) cur = applyToState(cur, planEvent({ state: cur, event: e, config, table: t }).changes);
    const band = cur.rules.filter(isBandRule).sort((a, b) => a.priority - b.priority).map((r) => `${r.priority}:${r.table}`);
    expect(band).toEqual(['31000:10030', '31001:10020', '31002:10010']);
  });
});

describe('same address on two interfaces (USB modems)', () => {
  it('gives each its own table with an oif rule, so bound sockets pick the right one', () => {
    let s = state({ links: [link(4, 'usb0', '192.168.8.100/24'), link(5, 'usb1', '192.168.8.100/24')] });
    s = applyToState(s, planEvent({ state: s, event: up('usb0', '192.168.8.100/24', ['192.168.8.1']), config, table: 10040 }).changes);
    const second = commands(s, up('usb1', '192.168.8.100/24', ['192.168.8.1']), 10041);
    expect(second).toContain('ip -4 rule add pref 15000 oif usb1 lookup 10041 protocol 201');
    expect(second).toContain('ip -4 rule add pref 10000 from 192.168.8.100/32 lookup 10041 protocol 201');
    // usb0's configuration is not stale: it is another interface.
    expect(second.filter((c) => c.includes('10040') && c.includes(' del '))).toEqual([]);
  });
});

describe('fallback without a lease (table 0)', () => {
  const e = up('eth0', '192.0.2.10/24', ['192.0.2.1']);

  it('puts the routes in main with metric = ifindex, marked ours, and says degraded', () => {
    const plan = planEvent({ state: afterIfup, event: e, config, table: 0 });
    expect(plan.degraded).toBe(true);
    expect(plan.changes.map(cmd).filter((c) => !c.startsWith('sysctl'))).toEqual([
      'ip -4 route add 192.0.2.0/24 dev eth0 table 254 proto 201 scope link src 192.0.2.10 metric 2',
      'ip -4 route add default via 192.0.2.1 dev eth0 table 254 proto 201 src 192.0.2.10 metric 2',
      // The band would send traffic from the address out of another uplink: it looks main up.
      'ip -4 rule add pref 10000 from 192.0.2.10/32 lookup main protocol 201',
      'ip -4 route del 192.0.2.0/24 dev eth0 table 254 proto 2 scope link src 192.0.2.10 metric 0',
      'ip -4 route del default via 192.0.2.1 dev eth0 table 254 proto 3 metric 0',
    ]);
  });

  it('is idempotent, and a later lease replaces the fallback', () => {
    const fb = applyToState(afterIfup, planEvent({ state: afterIfup, event: e, config, table: 0 }).changes);
    expect(commands(fb, e, 0)).toEqual([]);
    const leased = commands(fb, e, 10000);
    expect(leased).toContain('ip -4 route del 192.0.2.0/24 dev eth0 table 254 proto 201 scope link src 192.0.2.10 metric 2');
    expect(leased).toContain('ip -4 route del default via 192.0.2.1 dev eth0 table 254 proto 201 src 192.0.2.10 metric 2');
    expect(leased).toContain('ip -4 rule add pref 10000 from 192.0.2.10/32 lookup 10000 protocol 201');
    expect(leased).toContain('ip -4 rule del pref 10000 from 192.0.2.10/32 lookup main protocol 201');
    const back = applyToState(fb, planEvent({ state: fb, event: e, config, table: 10000 }).changes);
    expect(back.rules.filter((r) => r.table === 254 && r.src)).toEqual([]);
  });

  it('an address going down takes its fallback rule with it', () => {
    const fb = applyToState(afterIfup, planEvent({ state: afterIfup, event: e, config, table: 0 }).changes);
    expect(commands(fb, down('eth0', '192.0.2.10/24'), 0)).toContain('ip -4 rule del pref 10000 from 192.0.2.10/32 lookup main protocol 201');
  });

  it('the watcher taking the degraded address over (source kernel) removes our fallback routes and nothing else of main', () => {
    const fb = applyToState(afterIfup, planEvent({ state: afterIfup, event: e, config, table: 0 }).changes);
    const mainOthers = { ...fb, routes: [...fb.routes, ...state({ routes: ['default via 192.0.2.9 dev eth0 proto 16 metric 600'] }).routes] };
    const taken = commands(mainOthers, { ...e, source: 'kernel', adopted: 'present when the daemon started, without a table: taken over' }, 10000);
    expect(taken.filter((c) => c.includes('table 254'))).toEqual([
      'ip -4 route del 192.0.2.0/24 dev eth0 table 254 proto 201 scope link src 192.0.2.10 metric 2',
      'ip -4 route del default via 192.0.2.1 dev eth0 table 254 proto 201 src 192.0.2.10 metric 2',
    ]);
  });
});

describe('NetworkManager', () => {
  const nmState = state({
    links: [link(2, 'eth0', '192.0.2.10/24')],
    routes: [
      '192.0.2.0/24 dev eth0 proto 2 scope 253 src 192.0.2.10 metric 100',
      'default via 192.0.2.1 dev eth0 proto 4 metric 100',
    ],
  });
  const e = up('eth0', '192.0.2.10/24', ['192.0.2.1'], { source: 'NetworkManager', routes: [{ destination: parseInterfaceAddress('10.9.0.0/16').prefix, gateway: parseIp('192.0.2.254'), metric: 50 }] });

  it('adds table and rules, with NM routes, and leaves main alone', () => {
    const got = commands(nmState, e, 10000);
    expect(got.filter((c) => c.includes('table 254'))).toEqual([]);
    expect(got).toContain('ip -4 route add 10.9.0.0/16 via 192.0.2.254 dev eth0 table 10000 proto 201 src 192.0.2.10 metric 50');
  });

  it('adds no route to main without a lease, only the rule that sends traffic from the address to main', () => {
    expect(commands(nmState, e, 0)).toEqual(['ip -4 rule add pref 10000 from 192.0.2.10/32 lookup main protocol 201']);
  });
});

describe('address down and interface gone', () => {
  const e = up('eth0', '192.0.2.10/24', ['192.0.2.1']);
  const managed = applyToState(afterIfup, planEvent({ state: afterIfup, event: e, config, table: 10000 }).changes);

  it('removes exactly what we added, restores the prefix route and sysctls when the address stays', () => {
    const plan = planEvent({ state: managed, event: down('eth0', '192.0.2.10/24'), config, table: 0 });
    expect(plan.changes.map(cmd)).toEqual([
      'ip -4 rule del pref 10000 from 192.0.2.10/32 lookup 10000 protocol 201',
      'ip -4 rule del pref 15000 oif eth0 lookup 10000 protocol 201',
      'ip -4 rule del pref 20000 to 192.0.2.0/24 lookup 10000 protocol 201',
      'ip -4 rule del pref 31000 lookup 10000 protocol 201',
      'ip -4 route del 192.0.2.0/24 dev eth0 table 10000 proto 201 scope link src 192.0.2.10 metric 0',
      'ip -4 route del default via 192.0.2.1 dev eth0 table 10000 proto 201 src 192.0.2.10 metric 0',
      'ip -4 rule del pref 30000 lookup main suppress_prefixlength 0 protocol 201',
      'ip -4 route add 192.0.2.0/24 dev eth0 table 254 proto 2 scope link src 192.0.2.10 metric 0',
      'sysctl net.ipv4.conf.eth0.ignore_routes_with_linkdown=0 (was 1)',
      'sysctl net.ipv4.conf.eth0.rp_filter=1 (was 2)',
      'forget saved sysctls of eth0',
    ]);
    expect(plan.released.map((r) => [r.ifname, r.table])).toEqual([['eth0', 10000]]);
    const after = applyToState(managed, plan.changes);
    expect(commands(after, down('eth0', '192.0.2.10/24'), 0)).toEqual([]);
  });

  it('does not restore a prefix route when the address is gone (ifdown)', () => {
    const gone = structuredClone(managed);
    gone.links[1]!.addresses = [];
    expect(commands(gone, down('eth0', '192.0.2.10/24'), 0).filter((c) => c.includes(' add '))).toEqual([]);
  });

  it('interface gone: removes every rule for it, forgets sysctls without writing them', () => {
    const gone = structuredClone(managed);
    gone.links = gone.links.filter((l) => l.ifname !== 'eth0');
    gone.routes = gone.routes.filter((r) => r.dev !== 'eth0');
    const plan = planEvent({ state: gone, event: { kind: 'interface-gone', source: 'udev', ifname: 'eth0' }, config, table: 0 });
    expect(plan.changes.map(cmd)).toEqual([
      'ip -4 rule del pref 10000 from 192.0.2.10/32 lookup 10000 protocol 201',
      'ip -4 rule del pref 15000 oif eth0 lookup 10000 protocol 201',
      'ip -4 rule del pref 20000 to 192.0.2.0/24 lookup 10000 protocol 201',
      'ip -4 rule del pref 31000 lookup 10000 protocol 201',
      'ip -4 rule del pref 30000 lookup main suppress_prefixlength 0 protocol 201',
      'forget saved sysctls of eth0',
    ]);
    expect(plan.released.map((r) => `${r.ifname} ${r.address.address.text}/${r.address.prefix.length} ${r.table}`)).toEqual(['eth0 192.0.2.10/24 10000']);
  });
});

describe('rp_filter', () => {
  const withSys = (iface: string, all: string) => state({
    links: [link(2, 'eth0', '192.0.2.10/24')],
    sysctls: { eth0: { current: { 'net/ipv4/conf/eth0/rp_filter': iface, 'net/ipv4/conf/all/rp_filter': all, 'net/ipv4/conf/eth0/ignore_routes_with_linkdown': '1' }, saved: {} } },
  });
  it.each([
    ['1', '0', ['sysctl net.ipv4.conf.eth0.rp_filter=2 (was 1, saved)']],
    ['0', '1', ['sysctl net.ipv4.conf.eth0.rp_filter=2 (was 0, saved)']],
    ['0', '0', []],
    ['2', '1', []],
  ])('interface %s, all %s', (iface, all, want) => {
    expect(commands(withSys(iface, all), up('eth0', '192.0.2.10/24'), 10000).filter((c) => c.startsWith('sysctl'))).toEqual(want);
  });
});

describe('IPv6', () => {
  const s = state({
    links: [link(2, 'eth0', '2001:db8:1::10/64')],
    routes: ['2001:db8:1::/64 dev eth0 proto 2 metric 256', 'default via 2001:db8:1::1 dev eth0 proto 3 metric 1024'],
  });
  const e = up('eth0', '2001:db8:1::10/64', ['2001:db8:1::1']);
  it('builds the same layout with -6 and moves main routes', () => {
    expect(commands(s, e, 10100)).toEqual([
      'ip -6 rule add pref 30000 lookup main suppress_prefixlength 0 protocol 201',
      'ip -6 route add 2001:db8:1::/64 dev eth0 table 10100 proto 201 src 2001:db8:1::10 metric 1024',
      'ip -6 route add default via 2001:db8:1::1 dev eth0 table 10100 proto 201 src 2001:db8:1::10 metric 1024',
      'ip -6 rule add pref 10000 from 2001:db8:1::10/128 lookup 10100 protocol 201',
      'ip -6 rule add pref 15000 oif eth0 lookup 10100 protocol 201',
      'ip -6 rule add pref 20000 to 2001:db8:1::/64 lookup 10100 protocol 201',
      'ip -6 rule add pref 31000 lookup 10100 protocol 201',
      'ip -6 route del 2001:db8:1::/64 dev eth0 table 254 proto 2 metric 256',
      'ip -6 route del default via 2001:db8:1::1 dev eth0 table 254 proto 3 metric 1024',
    ]);
    expect(commands(applyToState(s, planEvent({ state: s, event: e, config, table: 10100 }).changes), e, 10100)).toEqual([]);
  });
});

describe('DHCPv6: the gateway comes from router advertisements', () => {
  // After BOUND6 on eth0: the kernel learned a default route from an RA (main, proto ra = 9).
  const raState = state({
    links: [link(1, 'lo', '127.0.0.1/8'), link(2, 'eth0'), link(3, 'eth1')],
    routes: [
      '2001:db8:1::/64 dev eth0 proto 9 metric 256',
      'default via fe80::2 dev eth0 proto 9 metric 1024',
      'default via fe80::1 dev eth0 proto 9 metric 1024',
      'default via fe80::9 dev eth1 proto 9 metric 1024',
    ],
  });
  const bound6 = up('eth0', '2001:db8:1::123/128', [], {
    source: 'dhclient', manageAddress: true, validLifetime: 120, preferredLifetime: 100,
  });

  it("mirrors the interface's RA default routes into the address's table, leaving main's to the kernel", () => {
    expect(commands(raState, bound6, 10200)).toEqual([
      'ip -6 address add 2001:db8:1::123/128 dev eth0 valid_lft 120 preferred_lft 100 noprefixroute',
      'ip -6 rule add pref 30000 lookup main suppress_prefixlength 0 protocol 201',
      'ip -6 route add default via fe80::1 dev eth0 table 10200 proto 201 src 2001:db8:1::123 metric 1024',
      'ip -6 route add default via fe80::2 dev eth0 table 10200 proto 201 src 2001:db8:1::123 metric 1025',
      'ip -6 rule add pref 10000 from 2001:db8:1::123/128 lookup 10200 protocol 201',
      'ip -6 rule add pref 15000 oif eth0 lookup 10200 protocol 201',
      'ip -6 rule add pref 31000 lookup 10200 protocol 201',
    ]);
  });

  it('a renew (RENEW6) refreshes only the lifetimes, keeping noprefixroute', () => {
    const bound = applyToState(raState, planEvent({ state: raState, event: bound6, config, table: 10200 }).changes);
    expect(commands(bound, { ...bound6, validLifetime: 120, preferredLifetime: 100 }, 10200)).toEqual([
      'ip -6 address change 2001:db8:1::123/128 dev eth0 valid_lft 120 preferred_lft 100 noprefixroute',
    ]);
  });

  it('an RA that went away takes its route out of the table at the next event', () => {
    const bound = applyToState(raState, planEvent({ state: raState, event: bound6, config, table: 10200 }).changes);
    bound.routes = bound.routes.filter((r) => !(r.table === 254 && r.gateway?.text === 'fe80::2'));
    expect(commands(bound, { ...bound6, validLifetime: undefined }, 10200)).toEqual([
      'ip -6 route del default via fe80::2 dev eth0 table 10200 proto 201 src 2001:db8:1::123 metric 1025',
    ]);
  });

  it('no RA yet: no default route; a gateway the event names wins over RAs', () => {
    const noRa = state({ links: [link(2, 'eth0')] });
    expect(commands(noRa, bound6, 10200).filter((c) => c.includes('default'))).toEqual([]);
    const withGw = commands(raState, { ...bound6, gateways: [parseIp('2001:db8:1::1')] }, 10200).filter((c) => c.includes('default'));
    expect(withGw).toEqual(['ip -6 route add default via 2001:db8:1::1 dev eth0 table 10200 proto 201 src 2001:db8:1::123 metric 1024 onlink']);
  });
});

describe('DHCPv4 renew with nothing changed', () => {
  it('refreshes the lease lifetime (as dhclient-script does) and nothing else', () => {
    const s = state({ links: [link(2, 'eth0')], routes: [] , sysctls: strict('eth0') });
    const bound = up('eth0', '192.0.2.10/24', ['192.0.2.1'], { source: 'dhclient', manageAddress: true, validLifetime: 120, preferredLifetime: 120 });
    const after = applyToState(s, planEvent({ state: s, event: bound, config, table: 10000 }).changes);
    expect(commands(after, bound, 10000)).toEqual([
      'ip -4 address change 192.0.2.10/24 dev eth0 valid_lft 120 preferred_lft 120 noprefixroute',
    ]);
    expect(commands(after, { ...bound, validLifetime: undefined, preferredLifetime: undefined }, 10000)).toEqual([]);
  });
});

describe('scale', () => {
  it('plans one more address on a host with 500 rules of ours in linear time', () => {
    const links = [];
    const rules: string[] = [];
    for (let i = 0; i < 125; i++) {
      const a = `10.${i >> 8}.${i & 255}.2`;
      links.push(link(10 + i, `eth${i}`, `${a}/24`));
      const p = `10.${i >> 8}.${i & 255}.0/24`;
      rules.push(`10000 from ${a} lookup ${10000 + i} proto 201`, `15000 oif eth${i} lookup ${10000 + i} proto 201`,
        `20000 to ${p} lookup ${10000 + i} proto 201`, `${31000 + i} lookup ${10000 + i} proto 201`);
    }
    links.push(link(500, 'wwan0', '100.64.0.2/24'));
    const s = state({ links, rules: [...rules, '30000 lookup main suppress_prefixlength 0 proto 201'] });
    const started = performance.now();
    const got = commands(s, up('wwan0', '100.64.0.2/24'), 10999);
    const ms = performance.now() - started;
    // wwan* ranks after eth*: nobody else moves (prefix route and four rules).
    expect(got).toHaveLength(5);
    expect(got.filter((c) => c.includes(' del '))).toEqual([]);
    expect(ms).toBeLessThan(100);
  });
});

describe("main's suppress rule, and the band of an older version", () => {
  const SUPPRESS4 = 'ip -4 rule add pref 30000 lookup main suppress_prefixlength 0 protocol 201';
  // Two uplinks as a version before 31000 left them: `iif lo` at 91000+, no suppress rule.
  const legacy = state({
    links: [link(2, 'eth0', '192.0.2.10/24'), link(3, 'wlan0', '198.51.100.7/24')],
    routes: [
      '192.0.2.0/24 dev eth0 table 10000 proto 201 scope 253 src 192.0.2.10',
      '198.51.100.0/24 dev wlan0 table 10001 proto 201 scope 253 src 198.51.100.7',
    ],
    rules: [
      '10000 from 192.0.2.10/32 lookup 10000 proto 201', '15000 oif eth0 lookup 10000 proto 201', '91000 iif lo lookup 10000 proto 201',
      '10000 from 198.51.100.7/32 lookup 10001 proto 201', '15000 oif wlan0 lookup 10001 proto 201', '91001 iif lo lookup 10001 proto 201',
    ],
  });

  it('moves old `iif lo` rules into the band and adds the suppress rule on the next event; then nothing is left to do', () => {
    const e = up('wlan0', '198.51.100.7/24');
    const got = commands(legacy, e, 10001);
    expect(got).toEqual([
      'ip -4 rule del pref 91000 iif lo lookup 10000 protocol 201',
      'ip -4 rule del pref 91001 iif lo lookup 10001 protocol 201',
      SUPPRESS4,
      'ip -4 rule add pref 31000 lookup 10000 protocol 201',
      'ip -4 rule add pref 20000 to 198.51.100.0/24 lookup 10001 protocol 201',
      'ip -4 rule add pref 31001 lookup 10001 protocol 201',
    ]);
    const after = applyToState(legacy, planEvent({ state: legacy, event: e, config, table: 10001 }).changes);
    expect(after.rules.filter((r) => r.iif === 'lo')).toEqual([]);
    expect(commands(after, e, 10001)).toEqual([]);
    expect(commands(after, up('eth0', '192.0.2.10/24'), 10000).filter((c) => c.includes('lookup main') || c.includes(' 310'))).toEqual([]);
  });

  it('a down event on an old host moves the rest of the band too, and keeps the suppress rule while a table is left', () => {
    const got = commands(legacy, down('eth0', '192.0.2.10/24'), 0);
    expect(got).toContain('ip -4 rule del pref 91000 iif lo lookup 10000 protocol 201');
    expect(got).toContain('ip -4 rule del pref 91001 iif lo lookup 10001 protocol 201');
    expect(got).toContain('ip -4 rule add pref 31000 lookup 10001 protocol 201');
    expect(got).toContain(SUPPRESS4);
  });

  it('exists per family exactly while the family has a table: added with the first, removed with the last', () => {
    let s = state({ links: [link(2, 'eth0', '192.0.2.10/24', '2001:db8:1::10/64'), link(3, 'eth1', '203.0.113.5/24')] });
    const ups: [AddressUp, number][] = [[up('eth0', '192.0.2.10/24'), 10000], [up('eth1', '203.0.113.5/24'), 10001], [up('eth0', '2001:db8:1::10/64'), 10100]];
    const suppressRules = () => s.rules.filter((r) => r.suppressPrefixLength === 0).map((r) => `-${r.family} ${r.priority}`).sort();
    const counts: string[][] = [];
    for (const [e, t] of ups) {
      s = applyToState(s, planEvent({ state: s, event: e, config, table: t }).changes);
      counts.push(suppressRules());
    }
    expect(counts).toEqual([['-4 30000'], ['-4 30000'], ['-4 30000', '-6 30000']]);
    for (const [ifname, a] of [['eth0', '2001:db8:1::10/64'], ['eth0', '192.0.2.10/24'], ['eth1', '203.0.113.5/24']] as const) {
      s = applyToState(s, planEvent({ state: s, event: down(ifname, a), config, table: 0 }).changes);
      counts.push(suppressRules());
    }
    expect(counts.slice(3)).toEqual([['-4 30000'], ['-4 30000'], []]);
  });

  it('a suppress rule at another priority (rule_pref_main changed) is moved; a duplicate goes', () => {
    const moved = parseConfig('rule_pref_main = 29000');
    const s = state({
      links: [link(2, 'eth0', '192.0.2.10/24')],
      rules: ['30000 lookup main suppress_prefixlength 0 proto 201', '30000 lookup main suppress_prefixlength 0 proto 201'],
    });
    const got = planEvent({ state: s, event: up('eth0', '192.0.2.10/24'), config: moved, table: 10000 }).changes.map(cmd).filter((c) => c.includes('lookup main'));
    expect(got).toEqual([
      'ip -4 rule del pref 30000 lookup main suppress_prefixlength 0 protocol 201',
      'ip -4 rule del pref 30000 lookup main suppress_prefixlength 0 protocol 201',
      'ip -4 rule add pref 29000 lookup main suppress_prefixlength 0 protocol 201',
    ]);
  });

  it('leaves a foreign suppress rule (wg-quick, protocol 0) alone', () => {
    const s = state({ links: [link(2, 'eth0', '192.0.2.10/24')], rules: ['32764 lookup main suppress_prefixlength 0'] });
    const got = commands(s, up('eth0', '192.0.2.10/24'), 10000);
    expect(got.filter((c) => c.includes('lookup main'))).toEqual([SUPPRESS4]);
  });
});
