import { describe, expect, it } from 'vitest';
import { decodeDns, decodeEvent, encodeDns, encodeEvent, encodeJob, MAX_DNS_SERVERS, MAX_EVENTS, MAX_ROUTES, parseEventReply, parseEventRequest } from '../../../lib/dispatch/wire.js';
import type { Job } from '../../../lib/dispatch/job.js';
import { parseInterfaceAddress, parseIp, parsePrefix } from '../../../lib/net/address.js';
import type { RoutingEvent } from '../../../lib/plan/event.js';

const up: RoutingEvent = {
  kind: 'address-up',
  source: 'dhclient',
  ifname: 'eth0',
  address: parseInterfaceAddress('192.0.2.10/24'),
  gateways: [parseIp('192.0.2.1'), parseIp('192.0.2.2')],
  routes: [{ destination: parsePrefix('198.51.100.0/24'), gateway: parseIp('192.0.2.3'), metric: 5 }, { destination: parsePrefix('203.0.113.0/24') }],
  manageAddress: true,
  broadcast: parseIp('192.0.2.255'),
  mtu: 1400,
  preferredLifetime: 600,
  validLifetime: 3600,
  soleLease: true,
};
const events: [string, RoutingEvent][] = [
  ['address-up with everything', up],
  ['address-up IPv6, minimal', { kind: 'address-up', source: 'ifupdown', ifname: 'wlan0', address: parseInterfaceAddress('2001:db8::10/64'), gateways: [parseIp('fe80::1')], routes: [], manageAddress: false }],
  ['address-down', { kind: 'address-down', source: 'NetworkManager', ifname: 'usb0', address: parseInterfaceAddress('10.0.0.2/8'), manageAddress: false }],
  ['address-down of a sole DHCP lease', { kind: 'address-down', source: 'dhclient', ifname: 'eth0', address: parseInterfaceAddress('192.0.2.10/24'), manageAddress: true, soleLease: true }],
  ['interface-gone', { kind: 'interface-gone', source: 'udev', ifname: 'eth1' }],
];

describe('event wire form', () => {
  it.each(events)('%s survives encode → JSON → decode unchanged', (_, e) => {
    const decoded = decodeEvent(JSON.parse(JSON.stringify(encodeEvent(e))));
    expect(decoded).toEqual({ ok: true, value: e });
  });

  const wire = () => JSON.parse(JSON.stringify(encodeEvent(up))) as Record<string, unknown>;
  const hostile: [string, unknown, RegExp][] = [
    ['not an object', 'address-up', /expected an object/],
    ['an array', [wire()], /expected an object/],
    ['unknown kind', { ...wire(), kind: 'reboot' }, /event\.kind/],
    ['unknown field', { ...wire(), command: 'rm -rf /' }, /unexpected field/],
    ['empty interface name', { ...wire(), ifname: '' }, /event\.ifname/],
    ['interface name with a space', { ...wire(), ifname: 'eth 0' }, /event\.ifname/],
    ['interface name too long', { ...wire(), ifname: 'a'.repeat(16) }, /event\.ifname/],
    ['interface name with a slash', { ...wire(), ifname: 'eth0/..' }, /event\.ifname/],
    ['unknown source', { ...wire(), source: 'root' }, /event\.source/],
    ['prefix 33', { ...wire(), address: '192.0.2.10/33' }, /event\.address/],
    ['address without prefix', { ...wire(), address: '192.0.2.10' }, /event\.address/],
    ['address as a number', { ...wire(), address: 3221225994 }, /event\.address/],
    ['gateway of the wrong family', { ...wire(), gateways: ['2001:db8::1'] }, /event\.gateways\[0\]/],
    ['gateway with an option in it', { ...wire(), gateways: ['192.0.2.1 table 0'] }, /event\.gateways\[0\]/],
    ['too many gateways', { ...wire(), gateways: Array(17).fill('192.0.2.1') }, /at most 16/],
    ['too many routes', { ...wire(), routes: Array(MAX_ROUTES + 1).fill({ destination: '10.0.0.0/8' }) }, /at most 256/],
    ['route with an extra field', { ...wire(), routes: [{ destination: '10.0.0.0/8', table: 0 }] }, /unexpected field/],
    ['route with a negative metric', { ...wire(), routes: [{ destination: '10.0.0.0/8', metric: -1 }] }, /metric/],
    ['route destination with host bits', { ...wire(), routes: [{ destination: '10.0.0.1/8' }] }, /destination/],
    ['the name servers inside the event (they travel as the job\'s dns)', { ...wire(), dns_servers: ['192.0.2.53'] }, /unexpected field/],
    ['manage_address as a string', { ...wire(), manage_address: 'yes' }, /manage_address/],
    ['sole_lease as a string', { ...wire(), sole_lease: 'yes' }, /sole_lease/],
    ['MTU 10', { ...wire(), mtu: 10 }, /mtu/],
    ['lifetime 1.5', { ...wire(), valid_lifetime: 1.5 }, /valid_lifetime/],
    ['broadcast IPv6', { ...wire(), broadcast: '::1' }, /broadcast/],
  ];
  it.each(hostile)('refuses %s, saying which field', (_, input, why) => {
    const r = decodeEvent(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(why);
  });

  it('a request names its hook, config and flags; anything else is refused', () => {
    const good = { version: 1, cmd: 'event', events: [encodeEvent(up)], dry_run: false, verbose: false, config_path: '/etc/x.conf', hook: 'dhclient-hook', expires_at: 1_800_000_000_000 };
    expect(parseEventRequest(good).ok).toBe(true);
    for (const bad of [
      { ...good, hook: 'status' },
      { ...good, expires_at: '1' },
      { ...good, dry_run: 'no' },
      { ...good, config_path: 'a\0b' },
      { ...good, extra: 1 },
      { ...good, events: encodeEvent(up) },
      { ...good, events: Array(MAX_EVENTS + 1).fill(encodeEvent(up)) },
      { ...good, events: [encodeEvent(up), { ...encodeEvent(up), address: 'x' }] },
    ]) {
      expect(parseEventRequest(bad as Record<string, unknown>).ok).toBe(false);
    }
  });

  it('a job survives encode → JSON → parse unchanged', () => {
    const job: Job = { hook: 'udev-remove', events: [up, events[2]![1]], dns: { ifname: 'eth0', removeAll: true }, dryRun: true, verbose: true };
    const r = parseEventRequest(JSON.parse(JSON.stringify(encodeJob(job, '/etc/x.conf', 5))));
    expect(r).toEqual({ ok: true, value: { job, configPath: '/etc/x.conf', expiresAt: 5 } });
  });

  it('replies: lines, a dry run\'s plan, a failure, errors, and nothing malformed', () => {
    expect(parseEventReply('{"version":1,"cmd":"response","lines":["a","b"],"out":"plan","failed":"ip died"}')).toEqual({
      ok: true, value: { version: 1, cmd: 'response', lines: ['a', 'b'], out: 'plan', failed: 'ip died' },
    });
    expect(parseEventReply('{"version":1,"cmd":"response","error":"busy"}')).toEqual({ ok: true, value: { version: 1, cmd: 'response', error: 'busy' } });
    for (const bad of ['', 'null', '[]', '{"version":1,"cmd":"request"}', '{"version":1,"cmd":"response","lines":[1]}', '{"version":1,"cmd":"response","failed":1}', '{"version":1,"cmd":"response","error":5}']) {
      expect(parseEventReply(bad).ok).toBe(false);
    }
  });

  describe("the interface's name servers, sent with the events (dnsmasq mode)", () => {
    const dns = { ifname: 'eth0', family: 6 as const, servers: [parseIp('2001:db8::53'), parseIp('2001:db8::54')] };
    const request = { version: 1, cmd: 'event', events: [encodeEvent(up)], dry_run: false, verbose: false, config_path: '/etc/x.conf', hook: 'dhclient-hook', expires_at: 1_800_000_000_000 };

    it('survive encode → JSON → decode, also inside a request', () => {
      expect(decodeDns(JSON.parse(JSON.stringify(encodeDns(dns))))).toEqual({ ok: true, value: dns });
      const r = parseEventRequest(JSON.parse(JSON.stringify({ ...request, dns: encodeDns(dns) })));
      expect(r.ok && r.value.job.dns).toEqual(dns);
      const without = parseEventRequest(request);
      expect(without.ok && without.value.job.dns).toBeUndefined();
    });

    it.each([
      ['an interface name Linux refuses', { ifname: 'eth0/../x', family: 4, servers: [] }, /dns\.ifname/],
      ['another family', { ifname: 'eth0', family: 5, servers: [] }, /dns\.family/],
      ['a server of the other family', { ifname: 'eth0', family: 4, servers: ['2001:db8::53'] }, /dns\.servers\[0\]/],
      ['a server that is no address', { ifname: 'eth0', family: 4, servers: ['$(reboot)'] }, /dns\.servers\[0\]/],
      ['too many servers', { ifname: 'eth0', family: 4, servers: Array.from({ length: MAX_DNS_SERVERS + 1 }, (_, i) => `192.0.2.${i + 1}`) }, /dns\.servers/],
      ['an extra field', { ifname: 'eth0', family: 4, servers: [], file: '/etc/passwd' }, /unexpected field/],
      ['remove_all with servers', { ifname: 'eth0', remove_all: true, servers: [] }, /unexpected field/],
      ['remove_all false', { ifname: 'eth0', remove_all: false }, /remove_all/],
    ])('refuses %s (and the request with it)', (_, input, why) => {
      const r = decodeDns(input);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatch(why);
      expect(parseEventRequest({ ...request, dns: input }).ok).toBe(false);
    });
  });
});

