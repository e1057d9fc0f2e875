// Upstream health with real routers: router 0 loses its WAN (its LAN and the
// host's carrier stay up) and unbound traffic moves to router 1 within the
// default detection time, then back; one dropped probe round changes
// nothing; with every upstream dead the priority order stays; probes leave
// by their own router; targets that drop ICMP but answer DNS keep an uplink
// up; health_check = no sends nothing. The "internet" namespace holds the
// probe targets (1.1.1.1, 8.8.8.8 on lo) and a dnsmasq answering DNS there.
// Default timing (1 s rounds, down 3, up 4): the measured times are printed.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestBed, HEALTH_TARGETS, waitFor, type Router, type TestBed } from '../helpers/testbed.js';
import { CONFIG, cli, setUpRoutingHost, type RoutingHost } from './routing-host.js';

const TARGETS = ['1.1.1.1', '8.8.8.8'];
/** IPv6: answers ICMP only (the targets' dnsmasq listens on IPv4), so DNS falls back to ICMP. */
const TARGET6 = '2606:4700:4700::1111';
if (![...TARGETS, TARGET6].every((t) => HEALTH_TARGETS.includes(t))) throw new Error('the test bed holds the targets');
const A0 = '10.0.0.2';
const A1 = '10.1.0.2';
const INTERFACES = `
iface eth0 inet static
    address ${A0}/24
    gateway 10.0.0.1
iface eth1 inet static
    address ${A1}/24
    gateway 10.1.0.1
iface eth0 inet6 static
    address 2001:db8:10::2/64
    gateway 2001:db8:10::1
iface eth1 inet6 static
    address 2001:db8:11::2/64
    gateway 2001:db8:11::1
`;
// hc0: a local source the host masquerades (like a container bridge), never managed.
const CONFIG_TEXT = `health_check = yes\nhealth_targets = ${TARGETS.join(' ')} ${TARGET6}\nignore_interfaces = lo hc*\n`;
const NATED = '192.168.99.1';
const SERVER = `require('net').createServer((s) => s.on('data', () => {}).on('error', () => {})).listen(8080, '198.51.100.1')`;
// The client stays idle once connected: the kernel itself kills a masqueraded flow whose next packet
// leaves by another interface, so a packet sent between the re-ranking and the flush would leave the
// flush nothing to do (a test that failed now and then under load).
const CLIENT = `(function go() { let up = false; const s = require('net').connect({ host: '198.51.100.1', port: 8080, localAddress: '${NATED}' });
s.on('connect', () => { up = true; }); s.on('error', () => {}); s.on('close', () => (up ? process.exit(0) : setTimeout(go, 200))); })();`;

interface HealthJson { family?: number; state: string; since: number; last_rtt_ms?: number; loss?: number; answering: string[]; why?: string }

describe('upstream health', () => {
  let bed: TestBed;
  let rh: RoutingHost;
  let r0: Router;
  let r1: Router;

  const unboundDev = async (family: 4 | 6 = 4) => (await bed.host.routeGet(family === 4 ? bed.internet.address4 : bed.internet.address6)).dev;
  const health = async (family: 4 | 6 = 4): Promise<Record<string, HealthJson | undefined>> => {
    const list = (await rh.status()) as unknown as { ifname: string; family: number; health?: HealthJson }[];
    return Object.fromEntries(list.filter((a) => a.family === family).map((a) => [a.ifname, a.health]));
  };
  const stateOf = async (ifname: string, family: 4 | 6 = 4) => (await health(family))[ifname]?.state;
  const daemonLog = () => {
    const f = path.join(bed.dir, 'host', 'daemon.out');
    return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '';
  };
  /** The router's link towards the internet, seen from the internet: down = the router's WAN is dead, its LAN is not. */
  const setWan = (r: Router, up: boolean) => bed.internet.exec(['ip', 'link', 'set', r.internetIfname, up ? 'up' : 'down']);
  const nft = (r: Router, script: string) => r.exec(['nft', '-f', '-'], { input: script });
  /** Probe packets from `source` counted at a router (before anything else sees them). */
  const counted = async (r: Router, source: string): Promise<number> => {
    const j = JSON.parse((await r.exec(['nft', '-j', 'list', 'table', 'inet', 'hcount'])).stdout) as { nftables: { rule?: { expr: { match?: { right?: unknown }; counter?: { packets: number } }[] } }[] };
    let n = 0;
    for (const item of j.nftables) {
      const expr = item.rule?.expr ?? [];
      if (expr.some((e) => e.match?.right === source)) n += expr.find((e) => e.counter)?.counter?.packets ?? 0;
    }
    return n;
  };

  beforeAll(async () => {
    bed = await createTestBed({
      name: 'health',
      routers: [
        { hostIfname: 'eth0', ipv4: { subnet: '10.0.0.0/24', address: '10.0.0.1' }, ipv6: { subnet: '2001:db8:10::/64', address: '2001:db8:10::1' } },
        { hostIfname: 'eth1', ipv4: { subnet: '10.1.0.0/24', address: '10.1.0.1' }, ipv6: { subnet: '2001:db8:11::/64', address: '2001:db8:11::1' } },
      ],
    });
    [r0, r1] = [bed.routers[0]!, bed.routers[1]!];
    // The targets are on the internet's lo (testbed.ts HEALTH_TARGETS).
    // DNS at the targets: no upstream, so it answers REFUSED, which is an answer.
    bed.internet.spawn(['dnsmasq', '-k', '--no-resolv', '--no-hosts', '--conf-file=/dev/null', '--bind-interfaces', `--listen-address=${TARGETS.join(',')}`, '--user=root', '--pid-file='], { logName: 'target-dns' });
    for (const r of [r0, r1]) {
      const rules = [A0, A1].map((a) => `ip saddr ${a} ip daddr { ${TARGETS.join(', ')} } counter`).join('\n');
      await nft(r, `table inet hcount {\n chain pre {\n  type filter hook prerouting priority -300;\n${rules}\n }\n}\ntable inet hdrop {\n chain drops {\n  type filter hook forward priority -10;\n }\n}\n`);
    }
    rh = await setUpRoutingHost(bed, INTERFACES, CONFIG_TEXT);
    await bed.host.ifup('eth1');
    await bed.host.ifup('eth0');
    const allUp = async () => (await stateOf('eth0')) === 'up' && (await stateOf('eth1')) === 'up' && (await stateOf('eth0', 6)) === 'up' && (await stateOf('eth1', 6)) === 'up';
    await waitFor('both uplinks up, both families', allUp, 15_000, 200);
  });
  afterAll(() => bed?.destroy());

  test('both up: status shows health, RTT, loss and the targets answering; unbound traffic takes eth0', async () => {
    const h = (await health()).eth0!;
    expect(h).toMatchObject({ state: 'up', loss: 0 });
    expect(h.answering.length).toBe(1);
    expect(TARGETS).toContain(h.answering[0]);
    expect(h.last_rtt_ms).toBeGreaterThan(0);
    expect(await unboundDev()).toBe('eth0');
    const text = (await cli(bed.host, ['status'])).stdout;
    expect(text).toMatch(/health, view at .*\n(.*\n)* {2}eth0 10\.0\.0\.2: up since .*, rtt [\d.]+ ms, loss 0% \(1 min\), answering: /);
  });

  test('router 0 loses its WAN: unbound traffic moves to eth1 within the detection time, bound traffic still uses eth0, and back after recovery', async () => {
    const band = async () => (await bed.host.rules()).filter((r) => r.protocol === '201' && !r.src && !r.dst && !r.oif).length;
    const before = await band();
    const t0 = Date.now();
    await setWan(r0, false);
    let failover = 0;
    let failback = 0;
    try {
      await waitFor('unbound traffic via eth1', async () => (await unboundDev()) === 'eth1', 10_000, 50);
      failover = Date.now() - t0;
      expect(await stateOf('eth0')).toBe('down');
      // Each family is probed on its own: IPv6 moves too (its target answers ICMP only).
      await waitFor('unbound IPv6 via eth1', async () => (await unboundDev(6)) === 'eth1', 5000, 50);
      expect(await stateOf('eth0', 6)).toBe('down');
      expect(await bed.host.ping(bed.internet.address6)).toBe(true);
      expect(await band()).toBe(before); // re-ranked, nothing withdrawn
      expect(await bed.host.ping(bed.internet.address4)).toBe(true);
      // Bound traffic (and the probes) still leave by eth0.
      expect((await bed.host.routeGet(bed.internet.address4, { from: A0 })).dev).toBe('eth0');
      const probes = await counted(r0, A0);
      await new Promise((res) => setTimeout(res, 2100));
      expect(await counted(r0, A0)).toBeGreaterThan(probes);
      expect(daemonLog()).toMatch(/eth0 10\.0\.0\.2: down after 3 rounds lost \((1\.1\.1\.1|8\.8\.8\.8)(, (1\.1\.1\.1|8\.8\.8\.8))?\); unbound traffic now via eth1/);
      const doctor = await cli(bed.host, ['doctor']);
      expect(doctor.stdout).toMatch(/WARNING \[upstream-down\] eth0 10\.0\.0\.2\n\s+The upstream behind eth0 10\.0\.0\.2 is down since/);
    } finally {
      const t1 = Date.now();
      await setWan(r0, true);
      await waitFor('unbound traffic back on eth0', async () => (await unboundDev()) === 'eth0', 15_000, 50);
      failback = Date.now() - t1;
      await waitFor('unbound IPv6 back on eth0', async () => (await unboundDev(6)) === 'eth0', 10_000, 50);
    }
    expect(await stateOf('eth0')).toBe('up');
    expect(daemonLog()).toMatch(/eth0 10\.0\.0\.2: up after 4 rounds answered .*; unbound traffic now via eth0/);
    console.log(`health: failover after WAN loss ${failover} ms (goal ≤ 5000), failback after WAN return ${failback} ms (goal ≤ 10000), default settings`);
    expect(failover).toBeLessThan(6000);
    expect(failback).toBeLessThan(11_000);
  }, 40_000);

  test('one dropped probe round at the router changes nothing', async () => {
    const since = (await health()).eth0!.since;
    await nft(r0, `add rule inet hdrop drops ip daddr { ${TARGETS.join(', ')} } drop\n`);
    await new Promise((res) => setTimeout(res, 1100)); // at most 2 rounds of 1 s lose their probe
    await r0.exec(['nft', 'flush', 'chain', 'inet', 'hdrop', 'drops']);
    await new Promise((res) => setTimeout(res, 3000));
    const h = (await health()).eth0!;
    expect(h.state).toBe('up');
    expect(h.since).toBe(since);
    expect(h.loss).toBeGreaterThan(0);
    expect(await unboundDev()).toBe('eth0');
  }, 20_000);

  test('targets that drop DNS fall back to ICMP, targets that then drop ICMP but answer DNS keep the uplink up; dropping both takes it down', async () => {
    const since = (await health()).eth0!.since;
    const drop = (what: string) => nft(r0, `add rule inet hdrop drops ip daddr { ${TARGETS.join(', ')} } ${what} drop\n`);
    const flush = () => r0.exec(['nft', 'flush', 'chain', 'inet', 'hdrop', 'drops']);
    try {
      await drop('udp dport 53');
      await new Promise((res) => setTimeout(res, 5000));
      expect((await health()).eth0).toMatchObject({ state: 'up', since });
      await flush(); // every target now answers by ICMP…
      await drop('meta l4proto icmp'); // …and stops: back to DNS
      await new Promise((res) => setTimeout(res, 5000));
      expect((await health()).eth0).toMatchObject({ state: 'up', since });
      await drop('udp dport 53');
      await waitFor('eth0 down', async () => (await stateOf('eth0')) === 'down', 8000, 100);
      expect(await unboundDev()).toBe('eth1');
    } finally {
      await flush();
    }
    await waitFor('eth0 up again', async () => (await stateOf('eth0')) === 'up', 12_000, 100);
    expect(await unboundDev()).toBe('eth0');
  }, 40_000);

  test('every upstream dead: plain priority order stays, nothing is withdrawn; recovery keeps it', async () => {
    const rulesBefore = (await bed.host.rules()).filter((r) => r.protocol === '201').length;
    await setWan(r0, false);
    await setWan(r1, false);
    try {
      await waitFor('both down', async () => (await stateOf('eth0')) === 'down' && (await stateOf('eth1')) === 'down', 12_000, 100);
      expect(await unboundDev()).toBe('eth0');
      expect((await bed.host.rules()).filter((r) => r.protocol === '201').length).toBe(rulesBefore);
      expect(daemonLog()).toMatch(/no uplink answers its probes: plain priority order stays/);
    } finally {
      await setWan(r1, true);
      await setWan(r0, true);
    }
    await waitFor('both up', async () => (await stateOf('eth0')) === 'up' && (await stateOf('eth1')) === 'up', 12_000, 100);
    expect(await unboundDev()).toBe('eth0');
  }, 40_000);

  test("each uplink's probes are counted at its own router only", async () => {
    expect(await counted(r0, A0)).toBeGreaterThan(0);
    expect(await counted(r1, A1)).toBeGreaterThan(0);
    expect(await counted(r0, A1)).toBe(0);
    expect(await counted(r1, A0)).toBe(0);
  });

  test('a TCP flow masqueraded through the dead uplink is flushed from conntrack at failover; a new one takes eth1', async () => {
    await bed.host.exec(['ip', 'link', 'add', 'hc0', 'type', 'veth', 'peer', 'name', 'hc1']);
    await bed.host.exec(['ip', 'addr', 'add', `${NATED}/32`, 'dev', 'hc0']);
    await bed.host.exec(['ip', 'link', 'set', 'hc0', 'up']);
    await bed.host.exec(['nft', '-f', '-'], { input: `table ip hnat {\n chain post {\n  type nat hook postrouting priority 100;\n  ip saddr ${NATED} masquerade\n }\n}\n` });
    const server = bed.internet.spawn([process.execPath, '-e', SERVER], { logName: 'tcp-server' });
    const flows = async (via: string) => (await bed.host.exec(['conntrack', '-L', '-p', 'tcp', '--dport', '8080', '--src-nat', '--reply-dst', via], { reject: false })).stdout.split('\n').filter((l) => l.includes('dport=8080')).length;
    const client = bed.host.spawn([process.execPath, '-e', CLIENT], { logName: 'tcp-client' });
    try {
      await waitFor('the flow masqueraded to eth0', async () => (await flows(A0)) > 0, 5000, 100);
      await setWan(r0, false);
      try {
        await waitFor('eth0 down', async () => (await stateOf('eth0')) === 'down', 8000, 100);
        await waitFor('the flush', () => /[1-9]\d* masqueraded flows of the failed uplink flushed from conntrack/.test(daemonLog()), 3000, 100);
        expect(await flows(A0)).toBe(0);
        // A new connection from the same source goes out (masqueraded) through eth1.
        await bed.host.exec([process.execPath, '-e', `require('net').connect({ host: '198.51.100.1', port: 8080, localAddress: '${NATED}' }).on('connect', function () { this.end(); }).on('close', () => process.exit(0))`], { timeoutMs: 5000 });
        expect(await flows(A1)).toBeGreaterThan(0);
      } finally {
        await setWan(r0, true);
      }
      await waitFor('eth0 up again', async () => (await stateOf('eth0')) === 'up', 12_000, 100);
    } finally {
      client.kill();
      server.kill();
      await bed.host.exec(['nft', 'delete', 'table', 'ip', 'hnat'], { reject: false });
      await bed.host.exec(['ip', 'link', 'del', 'hc0'], { reject: false });
    }
  }, 40_000);

  test('health_check = no: no probe packets at any router, no health in status', async () => {
    await rh.stopDaemon();
    await bed.host.writeEtc('multihomed-routing/multihomed-routing.conf', `syslog = no\nstore_path = /run/multihomed-routing/leases.json\n${CONFIG_TEXT.replace('health_check = yes', 'health_check = no')}`);
    try {
      await rh.startDaemon();
      const [c0, c1] = [await counted(r0, A0), await counted(r1, A1)];
      await new Promise((res) => setTimeout(res, 3000));
      expect([await counted(r0, A0), await counted(r1, A1)]).toEqual([c0, c1]);
      expect((await health()).eth0).toBeUndefined();
      expect((await cli(bed.host, ['config', 'check'])).exitCode).toBe(0);
    } finally {
      await rh.stopDaemon();
      await bed.host.writeEtc('multihomed-routing/multihomed-routing.conf', `syslog = no\nstore_path = /run/multihomed-routing/leases.json\n${CONFIG_TEXT}`);
      await rh.startDaemon();
    }
    expect(CONFIG).toMatch(/multihomed-routing.conf$/);
  }, 30_000);
});
