// The band (`from all lookup T` at 31000+rank, after main's suppress rule at
// 30000) on the test bed, with the single executable, the daemon and real
// programs: unbound IPv6 of a host with two SLAAC uplinks (dnsmasq RA),
// IPv4 forwarded for a Docker-style container behind docker0 (masquerade as
// Docker sets it) and for a LAN client (the host as a small router). Which
// uplink traffic took is read where an operator would count it: the
// forwarding counters of each uplink's router.
//
//   ctr 172.17.0.2 ─ docker0 ┐                 ┌ eth1 ─ r0 (first in interface_priority)
//                            ├─ host (ip_fwd) ─┤                                         ├─ internet
//   lan 10.99.0.2  ─ lan0 ───┘                 └ eth2 ─ r1 (its RA comes first)

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestBed, waitFor, type PlainNetns, type Router, type TestBed } from '../helpers/testbed.js';
import { CONFIG as CONFIG_PATH, EXE, ROOT, cli, ourRules, setUpRoutingHost, type RoutingHost } from './routing-host.js';
import { rulesetWithoutOurs } from '../helpers/docker-rules.js';

let bed: TestBed;
let rh: RoutingHost;
const INTERNET4 = '198.51.100.1';
const INTERNET6 = '2001:db8:ffff::1';
const SLAAC = { mode: 'slaac' as const, raParam: '3,60', leaseTime: '10m' };
const CONFIG = 'interface_priority = eth1 eth2\nignore_interfaces = lo docker* veth* lan0\n';

/** Packets a router forwarded, IPv4 (/proc/net/snmp) or IPv6 (/proc/net/snmp6). */
async function forwarded(r: Router | PlainNetns, family: 4 | 6): Promise<number> {
  if (family === 4) return (await r.netstat())['Ip.ForwDatagrams']!;
  const text = (await r.exec(['cat', '/proc/net/snmp6'])).stdout;
  return Number(/^Ip6OutForwDatagrams\s+(\d+)/m.exec(text)![1]);
}

/** Pings from `from` (a namespace) and says which routers forwarded it: 'r0', 'r1' (or both, or none). */
async function leftBy(from: { ping: (to: string, o?: { count?: number; timeoutS?: number }) => Promise<boolean> }, to: string, family: 4 | 6, routers = bed.routers): Promise<string> {
  const before = await Promise.all(routers.map((r) => forwarded(r, family)));
  const ok = await from.ping(to, { count: 3, timeoutS: 2 });
  const after = await Promise.all(routers.map((r) => forwarded(r, family)));
  const used = routers.map((_, i) => (after[i]! - before[i]! >= 6 ? `r${i}` : '')).filter(Boolean);
  return ok ? used.join('+') || 'none' : `no reply (${used.join('+') || 'none'})`;
}

const devOf = async (to: string) => (await bed.host.routeGet(to)).dev;

beforeAll(async () => {
  bed = await createTestBed({
    name: 'band',
    routers: [
      // eth1's router sends no RA yet: eth2's announces first.
      { hostIfname: 'eth1', ipv4: { subnet: '10.81.1.0/24', address: '10.81.1.1' }, ipv6: { subnet: '2001:db8:81:1::/64', address: '2001:db8:81:1::1' } },
      { hostIfname: 'eth2', ipv4: { subnet: '10.81.2.0/24', address: '10.81.2.1' }, ipv6: { subnet: '2001:db8:81:2::/64', address: '2001:db8:81:2::1' }, dhcp6: SLAAC },
    ],
    extraNamespaces: ['ctr', 'lan'],
  });
}, 120_000);

afterAll(async () => {
  await rh?.stopDaemon().catch(() => {});
  bed?.destroy();
});

describe('forwarded traffic: a Docker-style container and a LAN client use the band', () => {
  const ctr = () => bed.extra.ctr!;
  const lan = () => bed.extra.lan!;

  it('before the uplinks are managed, the container reaches the internet (a stock host: default route in main)', async () => {
    const h = (argv: string[]) => bed.host.exec(argv);
    // The uplinks as a host without this tool has them: addresses, default via eth1 in main.
    for (const [dev, a] of [['eth1', '10.81.1.2/24'], ['eth2', '10.81.2.2/24']] as const) {
      await h(['ip', 'link', 'set', dev, 'up']);
      await h(['ip', 'addr', 'add', a, 'dev', dev]);
    }
    await h(['ip', 'route', 'add', 'default', 'via', '10.81.1.1', 'dev', 'eth1']);
    // What dockerd sets up: a bridge, a veth into the container, masquerade for everything not leaving by docker0.
    await h(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    await h(['ip', 'link', 'add', 'docker0', 'type', 'bridge']);
    await h(['ip', 'addr', 'add', '172.17.0.1/16', 'dev', 'docker0']);
    await h(['ip', 'link', 'set', 'docker0', 'up']);
    // Created from the container's side (the host's private /run hides the namespace names).
    await ctr().exec(['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'veth0c', 'netns', bed.host.name]);
    await h(['ip', 'link', 'set', 'veth0c', 'master', 'docker0', 'up']);
    await ctr().exec(['ip', 'addr', 'add', '172.17.0.2/16', 'dev', 'eth0']);
    await ctr().exec(['ip', 'link', 'set', 'eth0', 'up']);
    await ctr().exec(['ip', 'route', 'add', 'default', 'via', '172.17.0.1']);
    // A LAN behind the host, the host its router with masquerade.
    await lan().exec(['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'lan0', 'netns', bed.host.name]);
    await h(['ip', 'addr', 'add', '10.99.0.1/24', 'dev', 'lan0']);
    await h(['ip', 'link', 'set', 'lan0', 'up']);
    await lan().exec(['ip', 'addr', 'add', '10.99.0.2/24', 'dev', 'eth0']);
    await lan().exec(['ip', 'link', 'set', 'eth0', 'up']);
    await lan().exec(['ip', 'route', 'add', 'default', 'via', '10.99.0.1']);
    await bed.host.exec(['nft', '-f', '-'], {
      input: [
        'table ip nat {',
        '  chain POSTROUTING {',
        '    type nat hook postrouting priority srcnat; policy accept;',
        '    ip saddr 172.17.0.0/16 oifname != "docker0" masquerade',
        '    ip saddr 10.99.0.0/24 oifname != "lan0" masquerade',
        '  }',
        '}',
      ].join('\n'),
    });
    expect(await leftBy(ctr(), INTERNET4, 4)).toBe('r0');
    expect(await leftBy(lan(), INTERNET4, 4)).toBe('r0');
  });

  it('managed (hooks for both uplinks, daemon running): the container and the LAN still work, through the top-priority uplink', async () => {
    // Main's suppress rule and the band; the reply marks of a forwarding host (30100) are docs/forwarding.md's.
    const nftBefore = await rulesetWithoutOurs(bed.host);
    rh = await setUpRoutingHost(bed, '', CONFIG);
    for (const [dev, a, gw] of [['eth1', '10.81.1.2/24', '10.81.1.1'], ['eth2', '10.81.2.2/24', '10.81.2.1']] as const) {
      const r = await rh.hook({ IFACE: dev, ADDRFAM: 'inet', METHOD: 'static', MODE: 'start', PHASE: 'post-up', IF_ADDRESS: a, IF_GATEWAY: gw });
      expect(r.exitCode, r.stderr).toBe(0);
    }
    const rules = await ourRules(bed.host, 4);
    const t = Object.fromEntries((await rh.status()).filter((s) => s.family === 4).map((s) => [s.ifname, s.table]));
    expect(rules.filter((r) => /^(30000|31\d{3}) /.test(r))).toEqual(['30000 lookup main suppress_prefixlength 0', `31000 lookup ${t.eth1}`, `31001 lookup ${t.eth2}`]);
    // main keeps the container bridge and the LAN (more specific than a default), answered before the band.
    expect(await devOf('172.17.0.2')).toBe('docker0');
    expect(await devOf('10.99.0.2')).toBe('lan0');
    expect(await leftBy(ctr(), INTERNET4, 4)).toBe('r0');
    expect(await leftBy(lan(), INTERNET4, 4)).toBe('r0');
    // Docker's rules are not ours to touch (our own table holds the reply marks of a forwarding host: docs/forwarding.md).
    expect(await rulesetWithoutOurs(bed.host)).toBe(nftBefore);
  });

  it('carrier loss on eth1: forwarded traffic moves to eth2; back to eth1 when the carrier returns', async () => {
    const r0 = bed.routers[0]!;
    await r0.setLan(false);
    try {
      await expect.poll(() => leftBy(ctr(), INTERNET4, 4), { timeout: 10_000 }).toBe('r1');
      expect(await leftBy(lan(), INTERNET4, 4)).toBe('r1');
    } finally {
      await r0.setLan(true);
    }
    await expect.poll(() => leftBy(ctr(), INTERNET4, 4), { timeout: 10_000 }).toBe('r0');
    expect(await leftBy(lan(), INTERNET4, 4)).toBe('r0');
  });
});

describe('unbound IPv6 with two SLAAC uplinks follows interface_priority, not the order of the RAs', () => {
  const suppress6 = async () => (await ourRules(bed.host, 6)).filter((r) => r.includes('suppress'));
  const slaacOf = async (dev: string) => (await bed.host.addresses(dev, 6)).find((a) => a.scope === 'global' && a.dynamic)?.local;
  const raIn = async () => Number(/^Icmp6InRouterAdvertisements\s+(\d+)/m.exec((await bed.host.exec(['cat', '/proc/net/snmp6'])).stdout)![1]);

  it('eth2 announces first: its SLAAC address gets a table; unbound IPv6 leaves by eth2, the only uplink', async () => {
    const a2 = await waitFor('a SLAAC address on eth2', () => slaacOf('eth2'), 20_000, 200);
    await waitFor('its table', async () => (await ourRules(bed.host, 6)).some((r) => r.includes(`from ${a2}`)), 10_000, 100);
    expect(await suppress6()).toEqual(['30000 lookup main suppress_prefixlength 0']);
    expect(await leftBy(bed.host, INTERNET6, 6)).toBe('r1');
  });

  it('eth1 announces later: unbound IPv6 leaves by eth1 (first in interface_priority), though main holds both RA defaults', async () => {
    await bed.routers[0]!.restartDnsmasq({ dhcp6: SLAAC });
    const a1 = await waitFor('a SLAAC address on eth1', () => slaacOf('eth1'), 20_000, 200);
    await waitFor('its table', async () => (await ourRules(bed.host, 6)).some((r) => r.includes(`from ${a1}`)), 10_000, 100);
    const ra = (await bed.host.routes('main', 6)).filter((r) => r.dst === 'default' && r.protocol === 'ra').map((r) => r.dev).sort();
    expect(ra).toEqual(['eth1', 'eth2']);
    await expect.poll(() => devOf(INTERNET6), { timeout: 10_000 }).toBe('eth1');
    expect(await leftBy(bed.host, INTERNET6, 6)).toBe('r0');
    const t = Object.fromEntries((await rh.status()).filter((s) => s.family === 6).map((s) => [s.ifname, s.table]));
    expect((await ourRules(bed.host, 6)).filter((r) => /^(30000|31\d{3}) /.test(r))).toEqual(['30000 lookup main suppress_prefixlength 0', `31000 lookup ${t.eth1}`, `31001 lookup ${t.eth2}`]);
  });

  it('still so after several RAs from both routers', async () => {
    // dnsmasq's RA interval is 3 s here, but under load its timer slips: a generous wait for a few more.
    const seen = await raIn();
    await waitFor('three more RAs', async () => (await raIn()) >= seen + 3, 60_000, 250);
    expect(await devOf(INTERNET6)).toBe('eth1');
    expect(await leftBy(bed.host, INTERNET6, 6)).toBe('r0');
  }, 90_000);

  it('carrier loss on eth1: unbound IPv6 moves to eth2; back when the carrier returns', async () => {
    const r0 = bed.routers[0]!;
    await r0.setLan(false);
    try {
      await expect.poll(() => devOf(INTERNET6), { timeout: 10_000 }).toBe('eth2');
      expect(await leftBy(bed.host, INTERNET6, 6)).toBe('r1');
    } finally {
      await r0.setLan(true);
    }
    await expect.poll(() => devOf(INTERNET6), { timeout: 10_000 }).toBe('eth1');
    expect(await leftBy(bed.host, INTERNET6, 6)).toBe('r0');
  });

  it('still so after a daemon restart: the same rules, no rule moved', async () => {
    const before = [...(await ourRules(bed.host, 4)), ...(await ourRules(bed.host, 6))];
    await rh.stopDaemon();
    await rh.startDaemon();
    const seen = await raIn();
    await waitFor('two more RAs', async () => (await raIn()) >= seen + 2, 30_000, 250);
    expect([...(await ourRules(bed.host, 4)), ...(await ourRules(bed.host, 6))]).toEqual(before);
    expect(await leftBy(bed.host, INTERNET6, 6)).toBe('r0');
    expect(await leftBy(bed.extra.ctr!, INTERNET4, 4)).toBe('r0');
  });

  it('doctor reports nothing about main on this dual-stack SLAAC host', async () => {
    const r = await cli(bed.host, ['doctor', '--json']);
    const findings = (JSON.parse(r.stdout) as { findings: { id: string; subject: string }[] }).findings;
    expect(findings.filter((f) => f.id === 'main-default' || f.subject.startsWith('main'))).toEqual([]);
    expect(findings.filter((f) => f.id === 'incomplete')).toEqual([]);
  });

  it('cleanup removes the suppress rules with everything else; the container keeps working through main (last resort)', async () => {
    await rh.stopDaemon();
    const r = await bed.host.exec([EXE, 'cleanup'], { reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    expect([...(await ourRules(bed.host, 4)), ...(await ourRules(bed.host, 6))]).toEqual([]);
    expect(await leftBy(bed.extra.ctr!, INTERNET4, 4)).toBe('r0');
  });
});

// Two DHCPv6 uplinks (dhclient -6 with our enter hook, dnsmasq DHCPv6 + RA): the
// addresses are /128, their tables take the RA's gateways, main keeps the RA defaults.
describe('unbound IPv6 with two DHCPv6 uplinks (dhclient -6) follows interface_priority too', () => {
  let bed6: TestBed;
  let rh6: RoutingHost;
  const DHCP6 = (n: number) => ({ range: [`2001:db8:82:${n}::100`, `2001:db8:82:${n}::1ff`] as [string, string], leaseTime: '10m', raParam: '3,60' });
  const shim = readFileSync(join(ROOT, 'hooks/dhclient/shim.sh'), 'utf8').replace("'@EXECUTABLE@'", `'${EXE}'`).replace("'@CONFIG@'", `'${CONFIG_PATH}'`);
  const dev6 = async () => (await bed6.host.routeGet(INTERNET6)).dev;

  beforeAll(async () => {
    bed6 = await createTestBed({
      name: 'band6',
      routers: [
        // eth1's router starts without DHCPv6/RA: eth2's comes first.
        { hostIfname: 'eth1', ipv6: { subnet: '2001:db8:82:1::/64', address: '2001:db8:82:1::1' } },
        { hostIfname: 'eth2', ipv6: { subnet: '2001:db8:82:2::/64', address: '2001:db8:82:2::1' }, dhcp6: DHCP6(2) },
      ],
    });
    rh6 = await setUpRoutingHost(bed6, '', CONFIG);
    await bed6.host.writeEtc('dhcp/dhclient-enter-hooks.d/multihomed-routing', shim);
    for (const dev of ['eth1', 'eth2']) await bed6.host.exec(['ip', 'link', 'set', dev, 'up']);
  }, 120_000);

  afterAll(async () => {
    await rh6?.stopDaemon().catch(() => {});
    bed6?.destroy();
  });

  it('eth2 leases first, eth1 later: unbound IPv6 leaves by eth1; carrier loss moves it to eth2 and back; a daemon restart changes nothing', async () => {
    const raDefault = (dev: string) => waitFor(`the RA default of ${dev} in main`, async () => (await bed6.host.routes('main', 6)).some((r) => r.dst === 'default' && r.dev === dev && r.protocol === 'ra'), 20_000, 200);
    await raDefault('eth2');
    await bed6.host.dhclient('eth2', { family: 6 });
    await expect.poll(dev6, { timeout: 10_000 }).toBe('eth2');
    await bed6.routers[0]!.restartDnsmasq({ dhcp6: DHCP6(1) });
    await raDefault('eth1');
    await bed6.host.dhclient('eth1', { family: 6 });
    const v6 = await rh6.status();
    expect(v6.map((s) => `${s.ifname} ${s.family} ${s.degraded}`).sort()).toEqual(['eth1 6 false', 'eth2 6 false']);
    const t = Object.fromEntries(v6.map((s) => [s.ifname, s.table]));
    expect((await ourRules(bed6.host, 6)).filter((r) => /^(30000|31\d{3}) /.test(r))).toEqual(['30000 lookup main suppress_prefixlength 0', `31000 lookup ${t.eth1}`, `31001 lookup ${t.eth2}`]);
    await expect.poll(dev6, { timeout: 10_000 }).toBe('eth1');
    expect(await leftBy(bed6.host, INTERNET6, 6, bed6.routers)).toBe('r0');

    await bed6.routers[0]!.setLan(false);
    try {
      await expect.poll(dev6, { timeout: 10_000 }).toBe('eth2');
      expect(await leftBy(bed6.host, INTERNET6, 6, bed6.routers)).toBe('r1');
    } finally {
      await bed6.routers[0]!.setLan(true);
    }
    await expect.poll(dev6, { timeout: 10_000 }).toBe('eth1');

    const before = await ourRules(bed6.host, 6);
    await rh6.stopDaemon();
    await rh6.startDaemon();
    const raIn = async () => Number(/^Icmp6InRouterAdvertisements\s+(\d+)/m.exec((await bed6.host.exec(['cat', '/proc/net/snmp6'])).stdout)![1]);
    const seen = await raIn();
    await waitFor('four more RAs', async () => (await raIn()) >= seen + 4, 30_000, 250);
    expect(await ourRules(bed6.host, 6)).toEqual(before);
    expect(await leftBy(bed6.host, INTERNET6, 6, bed6.routers)).toBe('r0');
    const r = await cli(bed6.host, ['doctor', '--json']);
    const findings = (JSON.parse(r.stdout) as { findings: { id: string; subject: string }[] }).findings;
    expect(findings.filter((f) => f.id === 'main-default' || f.subject.startsWith('main') || f.id === 'incomplete')).toEqual([]);
  }, 180_000);
});
