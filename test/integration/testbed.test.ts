// The namespace test bed itself: real dhclient gets a lease from a router's
// dnsmasq, the host reaches the internet only through its routers, a router
// drops sources that are not behind it, each router's DNS answers with its
// own value and logs the query, and teardown leaves nothing behind.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isAlive, listNetns, NETNS_ETC, sweepStale } from '../helpers/cleanup.js';
import { createTestBed, type TestBed } from '../helpers/testbed.js';

const NAME = 'testbed';

describe('namespace test bed', () => {
  let bed: TestBed;
  const machineResolvConf = fs.readFileSync('/etc/resolv.conf', 'utf8');
  const machineHook = '/etc/dhcp/dhclient-enter-hooks.d/testbed';
  const machineHadHook = fs.existsSync(machineHook);

  beforeAll(async () => {
    bed = await createTestBed({
      name: NAME,
      routers: [
        {
          hostIfname: 'eth0',
          ipv4: { subnet: '192.168.1.0/24', address: '192.168.1.1' },
          ipv6: { subnet: '2001:db8:1::/64', address: '2001:db8:1::1' },
          dhcp: { range: ['192.168.1.100', '192.168.1.150'], leaseTime: '2m' },
          dns: { records: { 'which.test': ['192.0.2.10'] } },
        },
        {
          // The same subnet and router address as eth0's, on its own segment.
          hostIfname: 'wlan1',
          ipv4: { subnet: '192.168.1.0/24', address: '192.168.1.1' },
          dns: { records: { 'which.test': ['192.0.2.11'] } },
        },
      ],
    });
  });

  afterAll(() => bed?.destroy());

  let leased = '';

  test('real dhclient in the host gets a lease from dnsmasq in the router', async () => {
    // An enter hook in the host's own /etc/dhcp, sourced by the real dhclient-script.
    await bed.host.writeEtc(
      'dhcp/dhclient-enter-hooks.d/testbed',
      'echo "$reason $interface $TESTBED_VAR" >> /run/testbed-hook.log\n',
    );
    const dh = await bed.host.dhclient('eth0', { env: { TESTBED_VAR: 'from-e' } });
    expect(dh.pid()).toBeGreaterThan(1);
    const v4 = await bed.host.addresses('eth0', 4);
    expect(v4).toHaveLength(1);
    expect(v4[0]).toMatchObject({ family: 'inet', prefixlen: 24, dynamic: true });
    leased = v4[0]!.local;
    expect(leased).toMatch(/^192\.168\.1\.(1[0-4]\d|150)$/);
    // dhclient-script configured the default route and wrote the host's resolv.conf (only the host's).
    expect(await bed.host.routes('main')).toContainEqual(
      expect.objectContaining({ dst: 'default', gateway: '192.168.1.1', dev: 'eth0' }),
    );
    expect(await bed.host.readFile('/etc/resolv.conf')).toContain('nameserver 192.168.1.1');
    expect(fs.readFileSync('/etc/resolv.conf', 'utf8')).toBe(machineResolvConf);
    expect(await bed.host.readFile('/run/testbed-hook.log')).toMatch(/^PREINIT eth0 from-e\nBOUND eth0 from-e\n/);
    expect(fs.existsSync(machineHook)).toBe(machineHadHook);
    expect(bed.routers[0]!.dnsmasq!.log()).toMatch(new RegExp(`DHCPACK\\(lan\\) ${leased.replace(/\./g, '\\.')}`));
  });

  test('the host reaches the internet through its router, and only through it', async () => {
    expect(await bed.host.ping(bed.internet.address4)).toBe(true);
    await bed.routers[0]!.setLan(false);
    try {
      expect(await bed.host.ping(bed.internet.address4, { timeoutS: 1 })).toBe(false);
    } finally {
      await bed.routers[0]!.setLan(true);
    }
    expect(await bed.host.ping(bed.internet.address4, { count: 1, timeoutS: 3 })).toBe(true);
  });

  test('a router forwards only sources that are behind it (IPv4 rp_filter, IPv6 nftables)', async () => {
    const r0 = bed.routers[0]!;
    await bed.host.exec(['ip', 'addr', 'add', '10.99.0.5/24', 'dev', 'eth0']);
    expect(await bed.host.ping(bed.internet.address4, { from: leased })).toBe(true);
    const before = (await r0.netstat())['TcpExt.IPReversePathFilter']!;
    expect(await bed.host.ping(bed.internet.address4, { from: '10.99.0.5', timeoutS: 1 })).toBe(false);
    // It is the router's reverse-path filter that dropped it.
    expect((await r0.netstat())['TcpExt.IPReversePathFilter']).toBeGreaterThan(before);

    await bed.host.exec(['ip', 'addr', 'add', '2001:db8:1::50/64', 'dev', 'eth0']);
    await bed.host.exec(['ip', 'addr', 'add', '2001:db8:99::5/64', 'dev', 'eth0']);
    await bed.host.exec(['ip', '-6', 'route', 'replace', 'default', 'via', '2001:db8:1::1', 'dev', 'eth0']);
    expect(await bed.host.ping(bed.internet.address6, { from: '2001:db8:1::50' })).toBe(true);
    expect(await bed.host.ping(bed.internet.address6, { from: '2001:db8:99::5', timeoutS: 1 })).toBe(false);
    const ruleset = (await r0.exec(['nft', 'list', 'table', 'inet', 'mhr_edge'])).stdout;
    expect(ruleset).toMatch(/ip6 saddr != 2001:db8:1::\/64 counter packets [1-9]/);
  });

  test("each router's DNS answers with its own value and logs the query", async () => {
    // wlan1's router has the same subnet and address as eth0's: reach it with a rule, as the product will.
    await bed.host.exec(['ip', 'addr', 'add', '192.168.1.50/24', 'dev', 'wlan1']);
    await bed.host.exec(['ip', 'route', 'add', '192.168.1.0/24', 'dev', 'wlan1', 'src', '192.168.1.50', 'table', '100']);
    await bed.host.exec(['ip', 'rule', 'add', 'from', '192.168.1.50', 'lookup', '100', 'pref', '100']);

    expect(await bed.host.dnsQuery('192.168.1.1', 'which.test', { from: leased })).toEqual(['192.0.2.10']);
    expect(await bed.host.dnsQuery('192.168.1.1', 'which.test', { from: '192.168.1.50' })).toEqual(['192.0.2.11']);
    expect(bed.routers[0]!.dnsmasq!.queries()).toContainEqual({ type: 'A', name: 'which.test', from: leased });
    expect(bed.routers[1]!.dnsmasq!.queries()).toEqual([{ type: 'A', name: 'which.test', from: '192.168.1.50' }]);
  });

  test('real ifup and ifdown use the host\'s own /etc/network and /run/network', async () => {
    await bed.host.exec(['ip', 'link', 'add', 'dummy0', 'type', 'veth', 'peer', 'name', 'dummy0p']);
    await bed.host.writeEtc('network/interfaces', 'iface dummy0 inet static\n  address 10.77.0.1/24\n');
    await bed.host.ifup('dummy0');
    expect(await bed.host.addresses('dummy0', 4)).toMatchObject([{ local: '10.77.0.1', prefixlen: 24 }]);
    expect(fs.readFileSync(bed.host.path('/run/network/ifstate.dummy0'), 'utf8')).toBe('dummy0\n');
    await bed.host.ifdown('dummy0');
    expect(await bed.host.addresses('dummy0', 4)).toEqual([]);
  });

  test('teardown removes every namespace, /etc/netns entry, temp dir and process', async () => {
    const { namespaces, dirs, pids } = bed.resources();
    expect(namespaces.length).toBe(4);
    expect(pids.length).toBeGreaterThanOrEqual(4); // holder, 2 × dnsmasq, dhclient
    expect(pids.every(isAlive)).toBe(true);
    expect(dirs.some((d) => d.startsWith(`${NETNS_ETC}/`))).toBe(true);

    bed.destroy();
    bed.destroy(); // idempotent

    expect(listNetns().filter((n) => n.startsWith(bed.prefix))).toEqual([]);
    expect(fs.readdirSync(NETNS_ETC).filter((e) => e.includes(bed.prefix))).toEqual([]);
    expect(fs.readdirSync(os.tmpdir()).filter((e) => e.startsWith(bed.prefix))).toEqual([]);
    expect(pids.filter(isAlive)).toEqual([]);
    expect(fs.readFileSync('/etc/resolv.conf', 'utf8')).toBe(machineResolvConf);
  });
});

test("the sweep removes what a crashed run of the same file left, and nothing of a live run's", () => {
  // A pid that certainly belongs to no running process: one that has exited.
  const dead = spawnSync('true').pid!;
  const stale = `mhr-${NAME}-${dead}`;
  const live = `mhr-${NAME}-${process.pid}-sweepcheck`;
  const made = [
    path.join(NETNS_ETC, `${stale}-h`),
    path.join(NETNS_ETC, `.${stale}-h.work`),
    path.join(os.tmpdir(), `${stale}-abc`),
    path.join(os.tmpdir(), live),
  ];
  try {
    spawnSync('ip', ['netns', 'add', `${stale}-r0`]);
    for (const d of made) fs.mkdirSync(d, { recursive: true });

    const removed = sweepStale(NAME);

    expect(listNetns()).not.toContain(`${stale}-r0`);
    expect(removed).toContain(`netns ${stale}-r0`);
    expect(made.slice(0, 3).filter((d) => fs.existsSync(d))).toEqual([]);
    expect(fs.existsSync(path.join(os.tmpdir(), live))).toBe(true);
  } finally {
    spawnSync('ip', ['netns', 'delete', `${stale}-r0`]);
    for (const d of made) fs.rmSync(d, { recursive: true, force: true });
  }
});
