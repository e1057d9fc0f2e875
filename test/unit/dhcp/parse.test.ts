import { describe, expect, it } from 'vitest';
import { parseDhclientEnv, type DhclientHook } from '../../../lib/dhcp/parse.js';
import type { RoutingEvent } from '../../../lib/plan/event.js';

// Environments as dhclient 4.4.3 passes them to dhclient-script (captured
// with a dumping -sf script against dnsmasq 2.90 in a network namespace),
// trimmed to what matters.
const BOUND = {
  reason: 'BOUND',
  interface: 'eth1',
  new_ip_address: '10.99.0.60',
  new_subnet_mask: '255.255.255.0',
  new_broadcast_address: '10.99.0.255',
  new_network_number: '10.99.0.0',
  new_routers: '10.99.0.1',
  new_domain_name_servers: '10.99.0.1 192.0.2.53',
  new_dhcp_lease_time: '120',
  new_interface_mtu: '1400',
  new_host_name: 'vm',
  requested_routers: '1',
};
const OLD = {
  old_ip_address: '10.99.0.60',
  old_subnet_mask: '255.255.255.0',
  old_routers: '10.99.0.1',
  old_domain_name_servers: '10.99.0.1 192.0.2.53',
};
const BOUND6 = {
  reason: 'BOUND6',
  interface: 'eth1',
  new_dhcp6_name_servers: 'fd99::1',
  new_ip6_address: 'fd99::148',
  new_ip6_prefixlen: '128',
  new_max_life: '120',
  new_preferred_life: '100',
  new_iaid: 'af:76:58:85',
};
const OLD6 = { old_ip6_address: 'fd99::148', old_ip6_prefixlen: '128', old_dhcp6_name_servers: 'fd99::1' };

/** One line per event, as an operator would read it. */
function show(event: RoutingEvent): string {
  if (event.kind === 'interface-gone') return `gone ${event.ifname}`;
  // sole: every other lease of ours on the interface is stale (DHCPv4)
  if (event.kind === 'address-down') return `down ${event.ifname} ${event.address.address.text}/${event.address.prefix.length}${event.soleLease ? ' sole' : ''}`;
  const parts = [`up ${event.ifname} ${event.address.address.text}/${event.address.prefix.length}`];
  if (event.gateways.length) parts.push(`gw ${event.gateways.map((g) => g.text).join(',')}`);
  for (const r of event.routes) parts.push(`route ${r.destination.text}${r.gateway ? ` via ${r.gateway.text}` : ''}`);
  if (event.broadcast) parts.push(`brd ${event.broadcast.text}`);
  if (event.mtu !== undefined) parts.push(`mtu ${event.mtu}`);
  if (event.validLifetime !== undefined) parts.push(`life ${event.preferredLifetime}/${event.validLifetime}`);
  if (event.soleLease) parts.push('sole');
  return parts.join(' ');
}

type Env = Record<string, string | undefined>;
type Summary = ReturnType<typeof summary>;
type Case = [string, Env, Summary];

function summary(hook: DhclientHook) {
  return {
    handled: hook.handled,
    events: hook.events.map(show),
    dns: hook.dns && `${hook.dns.ifname} v${hook.dns.family}: ${hook.dns.servers.map((s) => s.text).join(' ')}`,
    probe: hook.probe?.text,
  };
}

describe('parseDhclientEnv: DHCPv4', () => {
  it.each<Case>([
    [
      'BOUND: address, router, DNS, broadcast, MTU, lease time',
      BOUND,
      {
        handled: true,
        events: ['up eth1 10.99.0.60/24 gw 10.99.0.1 brd 10.99.0.255 mtu 1400 life 120/120 sole'],
        dns: 'eth1 v4: 10.99.0.1 192.0.2.53',
        probe: undefined,
      },
    ],
    [
      'REBOOT is BOUND',
      { ...BOUND, reason: 'REBOOT', new_interface_mtu: '', new_dhcp_lease_time: undefined },
      { handled: true, events: ['up eth1 10.99.0.60/24 gw 10.99.0.1 brd 10.99.0.255 sole'], dns: 'eth1 v4: 10.99.0.1 192.0.2.53', probe: undefined },
    ],
    [
      'RENEW with nothing changed: the same address-up, nothing removed',
      { ...BOUND, ...OLD, reason: 'RENEW' },
      {
        handled: true,
        events: ['up eth1 10.99.0.60/24 gw 10.99.0.1 brd 10.99.0.255 mtu 1400 life 120/120 sole'],
        dns: 'eth1 v4: 10.99.0.1 192.0.2.53',
        probe: undefined,
      },
    ],
    [
      'RENEW with a new address: old down first, then new up',
      { ...BOUND, ...OLD, reason: 'RENEW', new_ip_address: '10.99.0.77', new_domain_name_servers: '10.99.0.2' },
      {
        handled: true,
        events: ['down eth1 10.99.0.60/24', 'up eth1 10.99.0.77/24 gw 10.99.0.1 brd 10.99.0.255 mtu 1400 life 120/120 sole'],
        dns: 'eth1 v4: 10.99.0.2',
        probe: undefined,
      },
    ],
    [
      'REBIND with a new mask: the old /24 goes, the /25 comes',
      { ...BOUND, ...OLD, reason: 'REBIND', new_subnet_mask: '255.255.255.128', new_broadcast_address: '10.99.0.127' },
      {
        handled: true,
        events: ['down eth1 10.99.0.60/24', 'up eth1 10.99.0.60/25 gw 10.99.0.1 brd 10.99.0.127 mtu 1400 life 120/120 sole'],
        dns: 'eth1 v4: 10.99.0.1 192.0.2.53',
        probe: undefined,
      },
    ],
    [
      'several routers keep their order, duplicates dropped',
      { ...BOUND, new_routers: '10.99.0.1 10.99.0.2 10.99.0.1', new_domain_name_servers: '', new_interface_mtu: '576' },
      { handled: true, events: ['up eth1 10.99.0.60/24 gw 10.99.0.1,10.99.0.2 brd 10.99.0.255 life 120/120 sole'], dns: 'eth1 v4: ', probe: undefined },
    ],
    [
      'classless routes: routers ignored, its default route is the gateway',
      { ...BOUND, new_routers: '10.99.0.9', new_rfc3442_classless_static_routes: '24 192 168 10 10 99 0 1 0 10 99 0 1' },
      {
        handled: true,
        events: ['up eth1 10.99.0.60/24 gw 10.99.0.1 route 192.168.10.0/24 via 10.99.0.1 brd 10.99.0.255 mtu 1400 life 120/120 sole'],
        dns: 'eth1 v4: 10.99.0.1 192.0.2.53',
        probe: undefined,
      },
    ],
    [
      'classless routes without a default: no gateway at all',
      { ...BOUND, new_rfc3442_classless_static_routes: '8 10 10 99 0 1' },
      {
        handled: true,
        events: ['up eth1 10.99.0.60/24 route 10.0.0.0/8 via 10.99.0.1 brd 10.99.0.255 mtu 1400 life 120/120 sole'],
        dns: 'eth1 v4: 10.99.0.1 192.0.2.53',
        probe: undefined,
      },
    ],
    [
      '/32 lease (point-to-point): the router gets an on-link host route',
      { reason: 'BOUND', interface: 'wwan0', new_ip_address: '100.64.1.2', new_subnet_mask: '255.255.255.255', new_routers: '100.64.1.1' },
      { handled: true, events: ['up wwan0 100.64.1.2/32 gw 100.64.1.1 route 100.64.1.1/32 sole'], dns: 'wwan0 v4: ', probe: undefined },
    ],
    [
      'no mask: a host address, as dhclient-script would add it',
      { reason: 'BOUND', interface: 'eth1', new_ip_address: '192.0.2.7' },
      { handled: true, events: ['up eth1 192.0.2.7/32 sole'], dns: 'eth1 v4: ', probe: undefined },
    ],
    [
      'TIMEOUT: the recorded lease, and the first router to ping',
      { ...BOUND, ...OLD, reason: 'TIMEOUT', new_routers: '10.99.0.1 10.99.0.2' },
      {
        handled: true,
        events: ['up eth1 10.99.0.60/24 gw 10.99.0.1,10.99.0.2 brd 10.99.0.255 mtu 1400 life 120/120 sole'],
        dns: 'eth1 v4: 10.99.0.1 192.0.2.53',
        probe: '10.99.0.1',
      },
    ],
    [
      'TIMEOUT without routers: nothing to ping (usable)',
      { ...BOUND, reason: 'TIMEOUT', new_routers: undefined },
      { handled: true, events: ['up eth1 10.99.0.60/24 brd 10.99.0.255 mtu 1400 life 120/120 sole'], dns: 'eth1 v4: 10.99.0.1 192.0.2.53', probe: undefined },
    ],
    ...(['EXPIRE', 'FAIL', 'RELEASE', 'STOP'] as string[]).map(
      (reason) =>
        [
          `${reason}: the old address goes, with its DNS and any stale lease of ours (as dhclient-script flushes)`,
          { reason, interface: 'eth1', ...OLD },
          { handled: true, events: ['down eth1 10.99.0.60/24 sole'], dns: 'eth1 v4: ', probe: undefined },
        ] satisfies Case,
    ),
    [
      'FAIL without an old lease: only DNS is cleared',
      { reason: 'FAIL', interface: 'eth1' },
      { handled: true, events: [], dns: 'eth1 v4: ', probe: undefined },
    ],
    ...(['PREINIT', 'MEDIUM', 'ARPCHECK', 'ARPSEND', 'NBI', 'V6ONLY', 'PREINIT6', 'DEPREF6', 'WHATEVER', ''] as string[]).map(
      (reason) =>
        [
          `${reason || '(empty)'}: not ours`,
          { ...BOUND, reason, new_ip_address: '$(reboot)' },
          { handled: false, events: [], dns: undefined, probe: undefined },
        ] satisfies Case,
    ),
  ])('%s', (_, env, expected) => {
    expect(summary(parseDhclientEnv(env))).toEqual(expected);
  });

  it('marks every event as dhclient-managed', () => {
    const hook = parseDhclientEnv({ ...BOUND, ...OLD, reason: 'RENEW', new_ip_address: '10.99.0.77' });
    expect(hook.events.map((e) => [e.kind, e.source, 'manageAddress' in e && e.manageAddress])).toEqual([
      ['address-down', 'dhclient', true],
      ['address-up', 'dhclient', true],
    ]);
    expect(hook).toMatchObject({ reason: 'RENEW', ifname: 'eth1', family: 4 });
  });
});

describe('parseDhclientEnv: DHCPv6', () => {
  it.each<Case>([
    [
      'BOUND6: address with lifetimes, no gateway (RAs give it)',
      BOUND6,
      { handled: true, events: ['up eth1 fd99::148/128 life 100/120'], dns: 'eth1 v6: fd99::1', probe: undefined },
    ],
    [
      'RENEW6 unchanged',
      { ...BOUND6, ...OLD6, reason: 'RENEW6' },
      { handled: true, events: ['up eth1 fd99::148/128 life 100/120'], dns: 'eth1 v6: fd99::1', probe: undefined },
    ],
    [
      'REBIND6 with another address and a prefix length',
      { ...BOUND6, ...OLD6, reason: 'REBIND6', new_ip6_address: 'FD99:0::0149', new_ip6_prefixlen: '64' },
      { handled: true, events: ['down eth1 fd99::148/128', 'up eth1 fd99::149/64 life 100/120'], dns: 'eth1 v6: fd99::1', probe: undefined },
    ],
    [
      'stateless BOUND6 (no address): only DNS',
      { reason: 'BOUND6', interface: 'eth1', new_dhcp6_name_servers: '2001:db8::53 2001:db8::54' },
      { handled: true, events: [], dns: 'eth1 v6: 2001:db8::53 2001:db8::54', probe: undefined },
    ],
    [
      'infinite lifetimes',
      { ...BOUND6, new_preferred_life: '4294967295', new_max_life: '4294967295' },
      { handled: true, events: ['up eth1 fd99::148/128 life 4294967295/4294967295'], dns: 'eth1 v6: fd99::1', probe: undefined },
    ],
    ...(['EXPIRE6', 'RELEASE6', 'STOP6'] as string[]).map(
      (reason) =>
        [
          `${reason}: the old address goes, with its DNS`,
          { reason, interface: 'eth1', ...OLD6, old_max_life: '120' },
          { handled: true, events: ['down eth1 fd99::148/128'], dns: 'eth1 v6: ', probe: undefined },
        ] satisfies Case,
    ),
  ])('%s', (_, env, expected) => {
    expect(summary(parseDhclientEnv(env))).toEqual(expected);
  });
});

describe('parseDhclientEnv: hostile and broken values reject the whole event', () => {
  const many = Array.from({ length: 9 }, (_, i) => `192.0.2.${i + 1}`).join(' ');
  it.each<[string, Env, string | RegExp]>([
    ['name server that is not an address', { ...BOUND, new_domain_name_servers: '10.99.0.1 ns.example' }, 'new_domain_name_servers: expected a unicast IPv4 address, received "ns.example"'],
    ['command substitution as a name server', { ...BOUND, new_domain_name_servers: '$(reboot)' }, 'new_domain_name_servers: expected a unicast IPv4 address, received "$(reboot)"'],
    ['IPv6 name server in the IPv4 list', { ...BOUND, new_domain_name_servers: '2001:db8::53' }, 'new_domain_name_servers: expected a unicast IPv4 address, received "2001:db8::53"'],
    ['loopback name server (a forwarding loop)', { ...BOUND, new_domain_name_servers: '127.0.0.1' }, 'new_domain_name_servers: expected a unicast IPv4 address, received "127.0.0.1"'],
    ['overlong name-server list', { ...BOUND, new_domain_name_servers: many }, `new_domain_name_servers: expected at most 8 IPv4 addresses, received "${many}"`],
    ['IPv4 name server in the IPv6 list', { ...BOUND6, new_dhcp6_name_servers: 'fd99::1 10.0.0.1' }, 'new_dhcp6_name_servers: expected a unicast IPv6 address, received "10.0.0.1"'],
    ['link-local with a scope from DHCP', { ...BOUND6, new_dhcp6_name_servers: 'fe80::1%eth0' }, 'new_dhcp6_name_servers: expected a unicast IPv6 address, received "fe80::1%eth0"'],
    ['a mask that is not a mask', { ...BOUND, new_subnet_mask: '255.0.255.0' }, 'new_subnet_mask: expected a contiguous IPv4 netmask (e.g. 255.255.255.0), received "255.0.255.0"'],
    ['a mask that is a prefix length', { ...BOUND, new_subnet_mask: '24' }, 'new_subnet_mask: expected a contiguous IPv4 netmask (e.g. 255.255.255.0), received "24"'],
    ['classless option that does not parse', { ...BOUND, new_rfc3442_classless_static_routes: '24 192 168 10 10 99 0' }, /^new_rfc3442_classless_static_routes: expected 8 bytes for the \/24 route at byte 1, only 7 left, received "24 192 168 10 10 99 0"$/],
    ['command substitution as the address', { ...BOUND, new_ip_address: '$(reboot)' }, 'new_ip_address: expected a unicast IPv4 address, received "$(reboot)"'],
    ['address with a shell tail', { ...BOUND, new_ip_address: '10.99.0.60;reboot' }, 'new_ip_address: expected a unicast IPv4 address, received "10.99.0.60;reboot"'],
    ['IPv6 address for DHCPv4', { ...BOUND, new_ip_address: 'fd99::1' }, 'new_ip_address: expected a unicast IPv4 address, received "fd99::1"'],
    ['IPv4 address for DHCPv6', { ...BOUND6, new_ip6_address: '10.0.0.1' }, 'new_ip6_address: expected a unicast IPv6 address, received "10.0.0.1"'],
    ['unspecified address', { ...BOUND, new_ip_address: '0.0.0.0' }, 'new_ip_address: expected a unicast IPv4 address, received "0.0.0.0"'],
    ['router that is not an address', { ...BOUND, new_routers: '10.99.0.1 `reboot`' }, 'new_routers: expected a unicast IPv4 address, received "`reboot`"'],
    ['broadcast that is not an address', { ...BOUND, new_broadcast_address: '10.99.0.255 x' }, 'new_broadcast_address: expected an IPv4 address, received "10.99.0.255 x"'],
    ['MTU that is not a number', { ...BOUND, new_interface_mtu: '1500 mtu 9000' }, 'new_interface_mtu: expected a decimal integer 0..65535, received "1500 mtu 9000"'],
    ['lease time that is not a number', { ...BOUND, new_dhcp_lease_time: '1e9' }, 'new_dhcp_lease_time: expected a decimal integer 0..4294967295, received "1e9"'],
    ['prefix length out of range', { ...BOUND6, new_ip6_prefixlen: '129' }, 'new_ip6_prefixlen: expected an IPv6 prefix length 0..128, received "129"'],
    ['lifetime that is not a number', { ...BOUND6, new_max_life: '-1' }, 'new_max_life: expected a decimal integer 0..4294967295, received "-1"'],
    ['preferred beyond valid', { ...BOUND6, new_preferred_life: '300' }, 'new_preferred_life: expected at most new_max_life (120), received "300"'],
    ['BOUND without an address', { ...BOUND, new_ip_address: '' }, 'new_ip_address: expected an IPv4 address for BOUND, received ""'],
    ['bad old address on RELEASE', { reason: 'RELEASE', interface: 'eth1', old_ip_address: '10.99.0.600' }, 'old_ip_address: expected a unicast IPv4 address, received "10.99.0.600"'],
    ['interface name with a slash', { ...BOUND, interface: 'eth1/../x' }, 'interface: expected a Linux interface name, received "eth1/../x"'],
    ['interface name too long', { ...BOUND, interface: 'a'.repeat(16) }, `interface: expected a Linux interface name, received "${'a'.repeat(16)}"`],
    ['no interface', { ...BOUND, interface: undefined }, 'interface: expected a Linux interface name, received ""'],
    ['huge value', { ...BOUND, new_domain_name_servers: '1'.repeat(5000) }, /^new_domain_name_servers: expected at most 4096 characters, received "1{120}"… \(5000 chars\)$/],
  ])('%s', (_, env, message) => {
    expect(() => parseDhclientEnv(env)).toThrow(message);
    try {
      parseDhclientEnv(env);
    } catch (err) {
      expect((err as Error).name).toBe('DhcpEnvError');
    }
  });

  it('accepts an interface name with shell metacharacters (the kernel does too) without interpreting it', () => {
    const hook = parseDhclientEnv({ ...BOUND, interface: 'e$(x);`y`' });
    expect(hook.ifname).toBe('e$(x);`y`');
    expect(hook.events[0]!.ifname).toBe('e$(x);`y`');
  });
});
