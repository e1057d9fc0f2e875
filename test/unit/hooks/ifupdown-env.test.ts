import { describe, expect, it } from 'vitest';
import { parseIfupdownEnv } from '../../../hooks/ifupdown/env.js';
import type { RoutingEvent } from '../../../lib/plan/event.js';

const base = { IFACE: 'eth0', ADDRFAM: 'inet', METHOD: 'static', MODE: 'start', PHASE: 'post-up' };

/** Short text of events: `up eth0 192.0.2.10/24 gw 192.0.2.1`. */
function summary(e: RoutingEvent): string {
  if (e.kind === 'interface-gone') return `gone ${e.ifname}`;
  const a = `${e.address.address.text}/${e.address.prefix.length}`;
  if (e.kind === 'address-down') return `down ${e.ifname} ${a}`;
  const routes = e.routes.map((r) => ` route ${r.destination.text}${r.gateway ? ` via ${r.gateway.text}` : ''}${r.metric !== undefined ? ` metric ${r.metric}` : ''}`).join('');
  return `up ${e.source} ${e.ifname} ${a}${e.gateways.map((g) => ` gw ${g.text}`).join('')}${routes}`;
}

const events = (env: Record<string, string>) => {
  const p = parseIfupdownEnv(env);
  return p.kind === 'events' ? p.events.map(summary) : `${p.kind}: ${p.why}`;
};

describe('parseIfupdownEnv: ifupdown static', () => {
  it.each<[string, Record<string, string>, string[] | RegExp]>([
    ['dotted netmask', { IF_ADDRESS: '192.0.2.10', IF_NETMASK: '255.255.255.0', IF_GATEWAY: '192.0.2.1' }, ['up ifupdown eth0 192.0.2.10/24 gw 192.0.2.1']],
    ['CIDR address', { IF_ADDRESS: '192.0.2.10/26' }, ['up ifupdown eth0 192.0.2.10/26']],
    ['netmask as a length', { IF_ADDRESS: '192.0.2.10', IF_NETMASK: '24' }, ['up ifupdown eth0 192.0.2.10/24']],
    ['inet6 with a prefix length netmask', { ADDRFAM: 'inet6', IF_ADDRESS: '2001:db8::10', IF_NETMASK: '64', IF_GATEWAY: 'fe80::1' }, ['up ifupdown eth0 2001:db8::10/64 gw fe80::1']],
    ['inet6 CIDR', { ADDRFAM: 'inet6', IF_ADDRESS: '2001:DB8:0::10/48' }, ['up ifupdown eth0 2001:db8::10/48']],
    ['post-down', { MODE: 'stop', PHASE: 'post-down', IF_ADDRESS: '192.0.2.10/24' }, ['down eth0 192.0.2.10/24']],
    ['loopback', { METHOD: 'loopback' }, /^ignore: METHOD=loopback/],
    ['dhcp', { METHOD: 'dhcp' }, /^ignore/],
    ['manual', { METHOD: 'manual' }, /^ignore/],
    ['ipx', { ADDRFAM: 'ipx' }, /^ignore/],
    ['pre-up', { PHASE: 'pre-up', IF_ADDRESS: '192.0.2.10/24' }, /^ignore/],
    ['prefix 33', { IF_ADDRESS: '192.0.2.10/33' }, /^invalid: eth0: expected a prefix length 0..32, received "33"/],
    ['bad address', { IF_ADDRESS: '192.0.2.300', IF_NETMASK: '255.255.255.0' }, /^invalid: .*received "192.0.2.300"/],
    ['shell metacharacter', { IF_ADDRESS: '192.0.2.10;reboot', IF_NETMASK: '24' }, /^invalid/],
    ['non-contiguous netmask', { IF_ADDRESS: '192.0.2.10', IF_NETMASK: '255.0.255.0' }, /^invalid: .*contiguous/],
    ['missing netmask', { IF_ADDRESS: '192.0.2.10' }, /^invalid: .*IF_NETMASK/],
    ['gateway of the wrong family', { IF_ADDRESS: '192.0.2.10/24', IF_GATEWAY: 'fe80::1' }, /^invalid/],
    ['no address', {}, /^invalid: METHOD=static without IF_ADDRESS/],
    ['hostile interface name', { IFACE: 'e$(reboot)', IF_ADDRESS: '192.0.2.10/24' }, /^invalid: IFACE="e\$\(reboot\)" refused/],
    ['interface name with a quote', { IFACE: "e'x", IF_ADDRESS: '192.0.2.10/24' }, /^invalid/],
    ['interface name too long', { IFACE: 'a'.repeat(16), IF_ADDRESS: '192.0.2.10/24' }, /^invalid: .*longer than 15/],
  ])('%s', (_name, env, want) => {
    const got = events({ ...base, ...env });
    if (want instanceof RegExp) expect(got).toMatch(want);
    else expect(got).toEqual(want);
  });
});

describe('parseIfupdownEnv: NetworkManager through 01-ifupdown', () => {
  const nm = { IFACE: 'wlan0', METHOD: 'NetworkManager', MODE: 'start', PHASE: 'post-up' };
  it.each<[string, Record<string, string>, string[] | RegExp]>([
    ['two IPv4 addresses, gateway and routes', {
      ADDRFAM: 'inet', IP4_NUM_ADDRESSES: '2', IP4_ADDRESS_0: '192.0.2.10/24 192.0.2.1', IP4_ADDRESS_1: '192.0.2.11/24 192.0.2.1',
      IP4_GATEWAY: '192.0.2.1', IP4_NUM_ROUTES: '2', IP4_ROUTE_0: '10.9.0.0/16 192.0.2.254 50', IP4_ROUTE_1: '192.0.2.128/25 0.0.0.0 0',
    }, [
      'up NetworkManager wlan0 192.0.2.10/24 gw 192.0.2.1 route 10.9.0.0/16 via 192.0.2.254 metric 50 route 192.0.2.128/25 metric 0',
      'up NetworkManager wlan0 192.0.2.11/24 gw 192.0.2.1 route 10.9.0.0/16 via 192.0.2.254 metric 50 route 192.0.2.128/25 metric 0',
    ]],
    ['IPv6 with the gateway only in the address', {
      ADDRFAM: 'inet6', IP6_NUM_ADDRESSES: '1', IP6_ADDRESS_0: '2001:db8::10/64 fe80::1',
    }, ['up NetworkManager wlan0 2001:db8::10/64 gw fe80::1']],
    ['IPv4 without a gateway (0.0.0.0)', { ADDRFAM: 'inet', IP4_NUM_ADDRESSES: '1', IP4_ADDRESS_0: '192.0.2.10/24 0.0.0.0' }, ['up NetworkManager wlan0 192.0.2.10/24']],
    ['down: everything of the interface', { ADDRFAM: 'inet', MODE: 'stop', PHASE: 'post-down' }, ['gone wlan0']],
    ['no addresses', { ADDRFAM: 'inet' }, /^ignore/],
    ['bad count', { ADDRFAM: 'inet', IP4_NUM_ADDRESSES: '1; reboot' }, /^invalid: .*IP4_NUM_ADDRESSES/],
    ['bad route', { ADDRFAM: 'inet', IP4_NUM_ADDRESSES: '1', IP4_ADDRESS_0: '192.0.2.10/24 0.0.0.0', IP4_NUM_ROUTES: '1', IP4_ROUTE_0: '10.0.0.0/8 $(x) 1' }, /^invalid/],
  ])('%s', (_name, env, want) => {
    const got = events({ ...nm, ...env });
    if (want instanceof RegExp) expect(got).toMatch(want);
    else expect(got).toEqual(want);
  });
});
