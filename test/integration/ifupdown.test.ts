// Real ifup/ifdown in a namespaced host with three uplinks (eth0, eth1,
// wlan0), each behind its own router that forwards only sources behind it
// (rp_filter=1, no NAT, so the internet answers the host's own addresses).
// The hooks are the bundle behind /etc/network/if-up.d and if-post-down.d.

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestBed, waitFor, type TestBed } from '../helpers/testbed.js';
import { EXE, cli, ourRules, setUpRoutingHost, tableRoutes, type RoutingHost } from './routing-host.js';

const INTERFACES = `
iface eth0 inet static
    address 10.0.0.2
    netmask 255.255.255.0
    gateway 10.0.0.1

iface eth0 inet6 static
    address 2001:db8:10::2/64
    gateway 2001:db8:10::1

iface eth1 inet static
    address 10.0.1.2/24
    gateway 10.0.1.1

iface eth1 inet6 static
    address 2001:db8:11::2
    netmask 64
    gateway 2001:db8:11::1

iface wlan0 inet static
    address 10.0.2.2/24
    gateway 10.0.2.1
`;

const ADDR = { eth0: '10.0.0.2', eth1: '10.0.1.2', wlan0: '10.0.2.2' } as const;

describe('ifupdown static addresses on three uplinks', () => {
  let bed: TestBed;
  let rh: RoutingHost;
  const tables: Record<string, number> = {};

  beforeAll(async () => {
    bed = await createTestBed({
      name: 'rtifupdown',
      routers: [
        { hostIfname: 'eth0', nat: false, ipv4: { subnet: '10.0.0.0/24', address: '10.0.0.1' }, ipv6: { subnet: '2001:db8:10::/64', address: '2001:db8:10::1' } },
        { hostIfname: 'eth1', nat: false, ipv4: { subnet: '10.0.1.0/24', address: '10.0.1.1' }, ipv6: { subnet: '2001:db8:11::/64', address: '2001:db8:11::1' } },
        { hostIfname: 'wlan0', nat: false, ipv4: { subnet: '10.0.2.0/24', address: '10.0.2.1' } },
      ],
    });
    rh = await setUpRoutingHost(bed, INTERFACES);
    // Another tool's rule and table (Tailscale-like), planted before anything of ours.
    await bed.host.exec(['ip', 'rule', 'add', 'from', '10.250.0.0/16', 'lookup', '52', 'pref', '5270']);
    await bed.host.exec(['ip', 'route', 'add', 'blackhole', '10.250.0.0/16', 'table', '52']);
  });
  afterAll(() => bed?.destroy());

  test('ifup (in reverse priority order) builds one table per address, rules ordered by priority', async () => {
    for (const i of ['wlan0', 'eth1', 'eth0']) await bed.host.ifup(i);
    const status = await rh.status();
    for (const s of status.filter((x) => x.family === 4)) tables[s.ifname] = s.table;
    expect(Object.keys(tables).sort()).toEqual(['eth0', 'eth1', 'wlan0']);
    expect(new Set(Object.values(tables)).size).toBe(3);
    const { eth0, eth1, wlan0 } = tables as Record<string, number>;
    expect(await ourRules(bed.host, 4)).toEqual([
      `10000 from 10.0.0.2 lookup ${eth0}`, `10000 from 10.0.1.2 lookup ${eth1}`, `10000 from 10.0.2.2 lookup ${wlan0}`,
      `15000 oif eth0 lookup ${eth0}`, `15000 oif eth1 lookup ${eth1}`, `15000 oif wlan0 lookup ${wlan0}`,
      `20000 to 10.0.0.0/24 lookup ${eth0}`, `20000 to 10.0.1.0/24 lookup ${eth1}`, `20000 to 10.0.2.0/24 lookup ${wlan0}`,
      '30000 lookup main suppress_prefixlength 0', `31000 lookup ${eth0}`, `31001 lookup ${eth1}`, `31002 lookup ${wlan0}`,
    ].sort());
    expect(await tableRoutes(bed.host, eth1!)).toEqual([
      '10.0.1.0/24 dev eth1 src 10.0.1.2 ours',
      'default via 10.0.1.1 dev eth1 src 10.0.1.2 ours',
    ]);
    // Main keeps nothing for these addresses: no prefix routes, no default.
    const main = await tableRoutes(bed.host, 'main');
    expect(main.filter((r) => /dev (eth0|eth1|wlan0)/.test(r))).toEqual([]);
    expect(status.every((s) => !s.degraded && s.problems.length === 0)).toBe(true);
  });

  test('ip route get from each address picks its own interface; unbound picks the top priority', async () => {
    for (const [dev, a] of Object.entries(ADDR)) {
      expect(await bed.host.routeGet(bed.internet.address4, { from: a })).toMatchObject({ dev });
    }
    expect(await bed.host.routeGet(bed.internet.address4)).toMatchObject({ dev: 'eth0', prefsrc: ADDR.eth0 });
  });

  test('the internet reaches every host address (replies leave by the interface they came in)', async () => {
    for (const a of Object.values(ADDR)) expect(await bed.internet.ping(a), a).toBe(true);
  });

  test('traffic bound to an address or a device leaves by that interface', async () => {
    for (const [dev, a] of Object.entries(ADDR)) {
      expect(await bed.host.ping(bed.internet.address4, { from: a }), `from ${a}`).toBe(true);
      expect(await bed.host.ping(bed.internet.address4, { from: dev }), `-I ${dev}`).toBe(true);
      expect(await bed.host.routeGet(bed.internet.address4, { oif: dev })).toMatchObject({ dev, prefsrc: a });
    }
  });

  test('sysctls: ignore_routes_with_linkdown on, rp_filter loose on managed interfaces only', async () => {
    expect(await bed.host.sysctl('net.ipv4.conf.all.rp_filter')).toBe('1');
    for (const i of ['eth0', 'eth1', 'wlan0']) {
      expect(await bed.host.sysctl(`net.ipv4.conf.${i}.ignore_routes_with_linkdown`)).toBe('1');
      expect(await bed.host.sysctl(`net.ipv4.conf.${i}.rp_filter`)).toBe('2');
    }
  });

  test('pull the plug: unbound traffic fails over to the next interface and comes back', async () => {
    await bed.routers[0]!.setLan(false);
    try {
      await expect.poll(async () => (await bed.host.routeGet(bed.internet.address4)).dev, { timeout: 5000 }).toBe('eth1');
      expect(await bed.host.ping(bed.internet.address4)).toBe(true);
    } finally {
      await bed.routers[0]!.setLan(true);
    }
    await expect.poll(async () => (await bed.host.routeGet(bed.internet.address4)).dev, { timeout: 5000 }).toBe('eth0');
    expect(await bed.host.ping(bed.internet.address4, { count: 1, timeoutS: 3 })).toBe(true);
  });

  test('the hook run twice changes nothing the second time', async () => {
    const env = { IFACE: 'eth1', ADDRFAM: 'inet', METHOD: 'static', MODE: 'start', PHASE: 'post-up', IF_ADDRESS: '10.0.1.2/24', IF_GATEWAY: '10.0.1.1' };
    const before = await ourRules(bed.host, 4);
    const r = await rh.hook(env);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/routing already in place .*changes=0/);
    expect(await ourRules(bed.host, 4)).toEqual(before);
    expect(await tableRoutes(bed.host, tables.eth1!)).toHaveLength(2);
  });

  test('--dry-run prints the repair from the same plan and changes nothing; the real run repairs', async () => {
    const t = tables.wlan0!;
    const missing = `20000 to 10.0.2.0/24 lookup ${t}`;
    await bed.host.exec(['ip', 'rule', 'del', 'pref', '20000', 'to', '10.0.2.0/24', 'lookup', String(t), 'protocol', '201']);
    const env = { IFACE: 'wlan0', ADDRFAM: 'inet', METHOD: 'static', MODE: 'start', PHASE: 'post-up', IF_ADDRESS: '10.0.2.2/24', IF_GATEWAY: '10.0.2.1' };
    const dry = await cli(bed.host, ['--dry-run', 'ifupdown'], env);
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toBe(`ip -4 rule add pref 20000 to 10.0.2.0/24 lookup ${t} protocol 201  # on-link destinations\n`);
    expect(await ourRules(bed.host, 4)).not.toContain(missing);
    await rh.hook(env);
    expect(await ourRules(bed.host, 4)).toContain(missing);
  });

  test('IPv6 static: same layout, own tables, replies symmetric', async () => {
    for (const i of ['eth1', 'eth0']) {
      await bed.host.ifdown(i);
      await bed.host.ifup(i);
    }
    const v6 = (await rh.status()).filter((s) => s.family === 6);
    expect(v6.map((s) => `${s.ifname} ${s.address}`).sort()).toEqual(['eth0 2001:db8:10::2/64', 'eth1 2001:db8:11::2/64']);
    const t = Object.fromEntries(v6.map((s) => [s.ifname, s.table]));
    expect(await ourRules(bed.host, 6)).toEqual([
      `10000 from 2001:db8:10::2 lookup ${t.eth0}`, `10000 from 2001:db8:11::2 lookup ${t.eth1}`,
      `15000 oif eth0 lookup ${t.eth0}`, `15000 oif eth1 lookup ${t.eth1}`,
      `20000 to 2001:db8:10::/64 lookup ${t.eth0}`, `20000 to 2001:db8:11::/64 lookup ${t.eth1}`,
      '30000 lookup main suppress_prefixlength 0', `31000 lookup ${t.eth0}`, `31001 lookup ${t.eth1}`,
    ].sort());
    expect(await bed.host.routeGet(bed.internet.address6, { from: '2001:db8:11::2' })).toMatchObject({ dev: 'eth1' });
    expect(await bed.host.ping(bed.internet.address6, { from: '2001:db8:11::2' })).toBe(true);
    expect(await bed.internet.ping('2001:db8:11::2')).toBe(true);
    expect(await bed.internet.ping('2001:db8:10::2')).toBe(true);
    expect(await bed.host.sysctl('net.ipv6.conf.eth1.ignore_routes_with_linkdown')).toBe('1');
    // The IPv4 tables survived the ifdown/ifup with the same numbers (leases are stable).
    const v4 = Object.fromEntries((await rh.status()).filter((s) => s.family === 4).map((s) => [s.ifname, s.table]));
    expect(v4).toEqual(tables);
  });

  test('ifdown removes everything of ours, releases the lease, and leaves foreign rules and routes', async () => {
    const t = tables.eth1!;
    // A foreign route in our table and a foreign rule pointing at it.
    await bed.host.exec(['ip', 'route', 'add', '10.251.0.0/16', 'dev', 'eth0', 'table', String(t), 'proto', 'static']);
    await bed.host.exec(['ip', 'rule', 'add', 'to', '10.251.0.0/16', 'lookup', String(t), 'pref', '4000']);
    await bed.host.ifdown('eth1');
    expect((await ourRules(bed.host, 4)).filter((r) => r.endsWith(` ${t}`) || r.includes('eth1'))).toEqual([]);
    expect((await ourRules(bed.host, 6)).filter((r) => r.includes('eth1') || r.includes('2001:db8:11::'))).toEqual([]);
    expect(await tableRoutes(bed.host, t)).toEqual(['10.251.0.0/16 dev eth0 proto 4']);
    const rules = await bed.host.rules(4);
    expect(rules).toContainEqual(expect.objectContaining({ priority: 4000, table: String(t) }));
    expect(rules).toContainEqual(expect.objectContaining({ priority: 5270, table: '52' }));
    expect(await tableRoutes(bed.host, 52)).toEqual(['10.250.0.0/16 proto boot']);
    // The band closed up: wlan0 is second now.
    expect(await ourRules(bed.host, 4)).toContain(`31001 lookup ${tables.wlan0}`);
    const leases = await bed.host.exec([EXE, 'lease', 'list', '--json']);
    expect(JSON.parse(leases.stdout).map((l: { ifname: string }) => l.ifname)).not.toContain('eth1');
    // rp_filter and ignore_routes_with_linkdown went back to what they were.
    expect(await bed.host.sysctl('net.ipv4.conf.eth1.rp_filter')).toBe('1');
    expect(await bed.host.sysctl('net.ipv4.conf.eth1.ignore_routes_with_linkdown')).toBe('0');
  });

  test('allocator down: fallback to main with metric = ifindex, status says degraded; the daemon takes it over when it starts', async () => {
    await rh.stopDaemon();
    const started = Date.now();
    await bed.host.ifup('eth1', { env: {} });
    const ifindex = (await bed.host.links()).find((l) => l.ifname === 'eth1')!.ifindex;
    const main = await bed.host.ipJson<{ dst: string; dev: string; metric?: number; protocol?: string }[]>(['-N', '-4', 'route', 'show', 'table', 'main', 'dev', 'eth1']);
    expect(main.map((r) => `${r.dst} ${r.protocol} ${r.metric ?? 0}`).sort()).toEqual([`10.0.1.0/24 201 ${ifindex}`, `default 201 ${ifindex}`]);
    const s = (await rh.status()).find((x) => x.ifname === 'eth1' && x.family === 4)!;
    expect(s).toMatchObject({ degraded: true, table: 0 });
    expect(await bed.host.ping(bed.internet.address4, { from: ADDR.eth1 })).toBe(true);
    // The daemon's first pass takes the degraded address over (docs/routing.md, adoption): leased, fallback gone.
    await rh.startDaemon();
    const after = (await waitFor('eth1 leased', async () => (await rh.status()).find((x) => x.ifname === 'eth1' && x.family === 4 && !x.degraded)))!;
    expect(after.table).toBeGreaterThan(0);
    expect(await tableRoutes(bed.host, 'main')).not.toContainEqual(expect.stringContaining('dev eth1'));
    // Its gateway is the one the hook had put in main: the table keeps it once that fallback is gone (main has no router of
    // eth1 now, which an ordinary adoption would follow: under load the next pass took the default route away).
    await new Promise((r) => setTimeout(r, 1000));
    expect(await tableRoutes(bed.host, after.table)).toContain(`default via 10.0.1.1 dev eth1 src ${ADDR.eth1} ours`);
    expect(await bed.host.ping(bed.internet.address4, { from: ADDR.eth1, count: 3 })).toBe(true);
    // The hook runs again (a renew, a repeated ifup): the same table, nothing in main.
    const r = await rh.hook({ IFACE: 'eth1', ADDRFAM: 'inet', METHOD: 'static', MODE: 'start', PHASE: 'post-up', IF_ADDRESS: '10.0.1.2/24', IF_GATEWAY: '10.0.1.1' });
    expect(r.exitCode).toBe(0);
    expect((await rh.status()).find((x) => x.ifname === 'eth1' && x.family === 4)).toMatchObject({ degraded: false, table: after.table });
    expect(await tableRoutes(bed.host, 'main')).not.toContainEqual(expect.stringContaining('dev eth1'));
    expect(Date.now() - started).toBeLessThan(40_000);
  });
});
