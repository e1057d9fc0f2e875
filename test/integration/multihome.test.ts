// The hard cases of multihoming with real ifup, on a host with strict
// rp_filter: three NICs in one subnet (seed 001's eth0 → wlan1 → wlan0
// failover), two USB modems holding the same address behind their own NAT
// routers, NetworkManager through Debian's real 01-ifupdown dispatcher
// script, and hostile hook input.

import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestBed, type TestBed } from '../helpers/testbed.js';
import { networkManagerDispatcher, ourRules, setUpRoutingHost, tableRoutes, type RoutingHost } from './routing-host.js';

const same = (ifname: string) => ({ hostIfname: ifname, ipv4: { subnet: '192.168.178.0/24', address: '192.168.178.1' } });
const modem = (ifname: string) => ({ hostIfname: ifname, ipv4: { subnet: '192.168.8.0/24', address: '192.168.8.1' } });

const INTERFACES = `
iface eth0 inet static
    address 192.168.178.2/24
    gateway 192.168.178.1
iface wlan1 inet static
    address 192.168.178.3/24
    gateway 192.168.178.1
iface wlan0 inet static
    address 192.168.178.4/24
    gateway 192.168.178.1
iface usb0 inet static
    address 192.168.8.100/24
    gateway 192.168.8.1
iface usb1 inet static
    address 192.168.8.100/24
    gateway 192.168.8.1
`;

describe('multihoming edge cases', () => {
  let bed: TestBed;
  let rh: RoutingHost;

  beforeAll(async () => {
    bed = await createTestBed({
      name: 'rtmultihome',
      routers: [
        same('eth0'), same('wlan1'), same('wlan0'), modem('usb0'), modem('usb1'),
        { hostIfname: 'nm0', ipv4: { subnet: '10.0.5.0/24', address: '10.0.5.1' }, ipv6: { subnet: '2001:db8:5::/64', address: '2001:db8:5::1' } },
      ],
    });
    rh = await setUpRoutingHost(bed, INTERFACES, 'interface_priority = eth0 wlan1 wlan0 usb* *\n');
    for (const i of ['wlan0', 'usb1', 'wlan1', 'usb0', 'eth0']) await bed.host.ifup(i);
  });
  afterAll(() => bed?.destroy());

  const devOfUnbound = async () => (await bed.host.routeGet(bed.internet.address4)).dev;

  test('same subnet on three NICs: each address its own table, bound traffic its own NIC', async () => {
    for (const [dev, a] of [['eth0', '192.168.178.2'], ['wlan1', '192.168.178.3'], ['wlan0', '192.168.178.4']] as const) {
      expect(await bed.host.routeGet(bed.internet.address4, { from: a })).toMatchObject({ dev });
      expect(await bed.host.routeGet('192.168.178.1', { from: a })).toMatchObject({ dev });
      expect(await bed.host.ping(bed.internet.address4, { from: dev }), dev).toBe(true);
      expect(await bed.host.ping(bed.internet.address4, { from: a }), a).toBe(true);
    }
    expect(await devOfUnbound()).toBe('eth0');
  });

  test('failover follows the configured order eth0 → wlan1 → wlan0 and comes back', async () => {
    const [r0, r1] = [bed.routers[0]!, bed.routers[1]!];
    await r0.setLan(false);
    try {
      await expect.poll(devOfUnbound, { timeout: 5000 }).toBe('wlan1');
      expect(await bed.host.ping(bed.internet.address4)).toBe(true);
      await r1.setLan(false);
      await expect.poll(devOfUnbound, { timeout: 5000 }).toBe('wlan0');
      expect(await bed.host.ping(bed.internet.address4)).toBe(true);
    } finally {
      await r1.setLan(true);
      await r0.setLan(true);
    }
    await expect.poll(devOfUnbound, { timeout: 5000 }).toBe('eth0');
  });

  test('same address on two modems: bound traffic leaves by its device and replies come back (strict host)', async () => {
    expect(await bed.host.sysctl('net.ipv4.conf.all.rp_filter')).toBe('1');
    const [u0, u1] = [bed.routers[3]!, bed.routers[4]!];
    for (const [dev, router, other] of [['usb0', u0, u1], ['usb1', u1, u0]] as const) {
      expect(await bed.host.routeGet(bed.internet.address4, { oif: dev })).toMatchObject({ dev, prefsrc: '192.168.8.100' });
      const [mine, theirs] = [(await router.netstat())['Ip.ForwDatagrams']!, (await other.netstat())['Ip.ForwDatagrams']!];
      expect(await bed.host.ping(bed.internet.address4, { from: dev, count: 2, timeoutS: 2 }), dev).toBe(true);
      expect((await router.netstat())['Ip.ForwDatagrams']).toBeGreaterThanOrEqual(mine + 4); // 2 out, 2 back
      expect((await other.netstat())['Ip.ForwDatagrams']).toBe(theirs);
    }
  });

  test('why loose rp_filter: strict on the modem the `from` rule does not pick drops its replies', async () => {
    // Both modems hold 192.168.8.100: reverse-path validation looks the source up
    // through `from 192.168.8.100`, whose first rule names the other modem's table.
    const picked = (await bed.host.routeGet(bed.internet.address4, { from: '192.168.8.100' })).dev!;
    const other = picked === 'usb0' ? 'usb1' : 'usb0';
    await bed.host.setSysctl({ [`net.ipv4.conf.${other}.rp_filter`]: 1 });
    try {
      expect(await bed.host.ping(bed.internet.address4, { from: other, timeoutS: 1 })).toBe(false);
    } finally {
      await bed.host.setSysctl({ [`net.ipv4.conf.${other}.rp_filter`]: 2 });
    }
    expect(await bed.host.ping(bed.internet.address4, { from: other })).toBe(true);
  });

  test('NetworkManager through the real 01-ifupdown: tables and rules, main untouched; down removes ours', async () => {
    await bed.host.writeEtc('NetworkManager/dispatcher.d/01-ifupdown', await networkManagerDispatcher(), 0o755);
    // What NetworkManager itself does: addresses without prefix routes, its own metrics in main.
    const h = (argv: string[]) => bed.host.exec(argv);
    await h(['ip', 'link', 'set', 'nm0', 'up']);
    await h(['ip', 'addr', 'add', '10.0.5.2/24', 'dev', 'nm0', 'noprefixroute']);
    await h(['ip', '-6', 'addr', 'add', '2001:db8:5::2/64', 'dev', 'nm0', 'noprefixroute', 'nodad']);
    await h(['ip', 'route', 'add', '10.0.5.0/24', 'dev', 'nm0', 'proto', 'kernel', 'scope', 'link', 'src', '10.0.5.2', 'metric', '600']);
    await h(['ip', 'route', 'add', 'default', 'via', '10.0.5.1', 'dev', 'nm0', 'proto', 'dhcp', 'metric', '600']);
    await h(['ip', '-6', 'route', 'add', '2001:db8:5::/64', 'dev', 'nm0', 'proto', 'kernel', 'metric', '600']);
    await h(['ip', '-6', 'route', 'add', 'default', 'via', '2001:db8:5::1', 'dev', 'nm0', 'proto', 'ra', 'metric', '600']);
    const mainBefore = [...(await tableRoutes(bed.host, 'main')), ...(await tableRoutes(bed.host, 'main', 6))].filter((r) => r.includes('nm0'));
    const env = {
      IP4_NUM_ADDRESSES: '1', IP4_ADDRESS_0: '10.0.5.2/24 10.0.5.1', IP4_GATEWAY: '10.0.5.1',
      IP4_NUM_ROUTES: '1', IP4_ROUTE_0: '10.77.0.0/16 10.0.5.254 600',
      IP6_NUM_ADDRESSES: '1', IP6_ADDRESS_0: '2001:db8:5::2/64 2001:db8:5::1', IP6_GATEWAY: '2001:db8:5::1',
    };
    const dispatcher = '/etc/NetworkManager/dispatcher.d/01-ifupdown';
    const up = await bed.host.exec([dispatcher, 'nm0', 'up'], { env, reject: false });
    expect(up.exitCode, up.stderr).toBe(0);
    const nm = (await rh.status()).filter((s) => s.ifname === 'nm0');
    expect(nm.map((s) => `${s.family} ${s.address} ${s.degraded}`).sort()).toEqual(['4 10.0.5.2/24 false', '6 2001:db8:5::2/64 false']);
    const t4 = nm.find((s) => s.family === 4)!.table;
    expect(await tableRoutes(bed.host, t4)).toEqual([
      '10.0.5.0/24 dev nm0 src 10.0.5.2 ours', '10.77.0.0/16 via 10.0.5.254 dev nm0 src 10.0.5.2 ours', 'default via 10.0.5.1 dev nm0 src 10.0.5.2 ours',
    ]);
    expect(await ourRules(bed.host, 6)).toContain(`10000 from 2001:db8:5::2 lookup ${nm.find((s) => s.family === 6)!.table}`);
    const mainAfter = [...(await tableRoutes(bed.host, 'main')), ...(await tableRoutes(bed.host, 'main', 6))].filter((r) => r.includes('nm0'));
    expect(mainAfter).toEqual(mainBefore);
    expect(await bed.host.ping(bed.internet.address4, { from: '10.0.5.2' })).toBe(true);

    const down = await bed.host.exec([dispatcher, 'nm0', 'down'], { reject: false });
    expect(down.exitCode, down.stderr).toBe(0);
    expect((await rh.status()).filter((s) => s.ifname === 'nm0')).toEqual([]);
    expect([...(await ourRules(bed.host, 4)), ...(await ourRules(bed.host, 6))].filter((r) => r.includes('nm0') || r.includes('10.0.5.') || r.includes('2001:db8:5:'))).toEqual([]);
  });

  test('hostile input: clear log, exit 0, no command run with the bad value, nothing changed', async () => {
    const hostile = 'x$(reboot)';
    await bed.host.exec(['ip', 'link', 'add', hostile, 'type', 'veth', 'peer', 'name', 'hostp0']);
    await bed.host.exec(['ip', 'link', 'set', hostile, 'up']);
    await bed.host.exec(['ip', 'addr', 'add', '10.0.9.2/24', 'dev', hostile]);
    // An `ip` first on PATH that records every argv and batch input before running the real one.
    const trace = bed.host.path('/run/ip-trace');
    const wrapper = [
      '#!/bin/sh',
      `printf '%s\\n' "$*" >> /run/ip-trace`,
      'case "$*" in *-batch*) tee -a /run/ip-trace | /sbin/ip "$@" ;; *) exec /sbin/ip "$@" ;; esac',
      '',
    ].join('\n');
    await bed.host.writeEtc('mhr-trace/ip', wrapper, 0o755);
    const PATH = `/etc/mhr-trace:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
    const before = [...(await ourRules(bed.host, 4)), ...(await ourRules(bed.host, 6))];
    const base = { ADDRFAM: 'inet', METHOD: 'static', MODE: 'start', PHASE: 'post-up', PATH };
    const cases: [Record<string, string>, RegExp, string][] = [
      [{ IFACE: hostile, IF_ADDRESS: '10.0.9.2/24' }, /refused: IFACE="x\$\(reboot\)"/, hostile],
      [{ IFACE: 'eth0', IF_ADDRESS: '192.168.178.2/33' }, /refused: .*prefix length 0\.\.32, received "33"/, '/33'],
      [{ IFACE: 'eth0', IF_ADDRESS: '192.168.178.2;reboot', IF_NETMASK: '24' }, /refused: .*"192\.168\.178\.2;reboot"/, 'reboot'],
      [{ IFACE: 'eth0', IF_ADDRESS: '192.168.178.999', IF_NETMASK: '255.255.255.0' }, /refused: .*"192\.168\.178\.999"/, '999'],
      [{ IFACE: 'eth0', IF_ADDRESS: '192.168.178.2/24', IF_GATEWAY: '$(reboot)' }, /refused: .*"\$\(reboot\)"/, 'reboot'],
    ];
    for (const [env, message, bad] of cases) {
      const r = await rh.hook({ ...base, ...env });
      expect(r.exitCode).toBe(0);
      expect(r.stderr).toMatch(message);
      const traced = fs.existsSync(trace) ? fs.readFileSync(trace, 'utf8') : '';
      expect(traced).not.toContain(bad);
    }
    expect([...(await ourRules(bed.host, 4)), ...(await ourRules(bed.host, 6))]).toEqual(before);
    // The trace works: a valid run does go through it (working alone: the
    // daemon, when it runs, applies events with its own ip, not the hook's PATH).
    await rh.stopDaemon();
    try {
      await rh.hook({ ...base, IFACE: 'eth0', IF_ADDRESS: '192.168.178.2/24', IF_GATEWAY: '192.168.178.1' });
    } finally {
      await rh.startDaemon();
    }
    expect(fs.readFileSync(trace, 'utf8')).toMatch(/-N -json -4 -batch -\nlink show\naddr show\nroute show table all\nrule show/);
  });
});
