// Forwarded traffic on a container host (issue 13): two uplinks (eth1 first
// in priority, eth2), Docker's bridges simulated with the statements Docker
// itself leaves in nftables (iptables-nft's `ip nat` and `ip filter` tables:
// DOCKER chains, masquerade, a published port), a container namespace behind
// each bridge. Counted at the routers, in prerouting before their rp_filter.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { deleteNetns } from '../helpers/cleanup.js';
import { DOCKER_RULES, rulesetWithoutOurs } from '../helpers/docker-rules.js';
import { createTestBed, type TestBed } from '../helpers/testbed.js';
import { routerCounters, wireContainer } from '../helpers/forward-bed.js';
import { cli, EXE, setUpRoutingHost, type RoutingHost } from './routing-host.js';

const INTERFACES = `
iface eth1 inet static
    address 10.61.1.2/24
    gateway 10.61.1.1
iface eth2 inet static
    address 10.61.2.2/24
    gateway 10.61.2.1
`;

// Each router counts what reaches it from the host, before its rp_filter.
const COUNT_RULES = `
table inet mhr_count {
  counter echo { }
  counter web { }
  chain pre {
    type filter hook prerouting priority raw; policy accept;
    iifname "lan" icmp type echo-request counter name "echo"
    iifname "lan" tcp sport 8080 counter name "web"
  }
}
`;

describe('forwarded traffic: pins, published ports, Docker untouched', () => {
  let bed: TestBed;
  const containers: string[] = [];

  /** A bridge on the host with a container namespace behind it (its address .2, the bridge .1). */
  async function container(bridge: string, net: string, n: number): Promise<string> {
    const ns = `${bed.prefix}-c${n}`;
    containers.push(ns);
    await execa('ip', ['netns', 'add', ns]);
    await wireContainer(bed.host, ns, bridge, net, `veth${n}`);
    return ns;
  }

  const inContainer = (ns: string, argv: string[]) => execa('ip', ['netns', 'exec', ns, ...argv], { reject: false, timeout: 20_000 });
  const pingFrom = async (ns: string) => (await inContainer(ns, ['ping', '-n', '-c', '1', '-W', '2', bed.internet.address4])).exitCode === 0;
  const counters = (i: number) => routerCounters(bed.routers[i]!);
  /** The host's ruleset without counters' values and without our table: Docker's part. */
  const othersRuleset = () => rulesetWithoutOurs(bed.host);

  let rh: RoutingHost;
  let docker0: string;
  let web: string;
  let dockerBefore: string;

  beforeAll(async () => {
    bed = await createTestBed({
      name: 'forward',
      routers: [
        { hostIfname: 'eth1', ipv4: { subnet: '10.61.1.0/24', address: '10.61.1.1' } },
        { hostIfname: 'eth2', ipv4: { subnet: '10.61.2.0/24', address: '10.61.2.1' } },
      ],
    });
    for (const r of bed.routers) await r.exec(['nft', '-f', '-'], { input: COUNT_RULES });
    // Router 2 forwards its port 8080 to the host, like a home router.
    await bed.routers[1]!.exec(['nft', '-f', '-'], {
      input: 'table ip mhr_pf {\n chain pre {\n  type nat hook prerouting priority dstnat; policy accept;\n  iifname "wan" tcp dport 8080 dnat to 10.61.2.2\n }\n}\n',
    });
    docker0 = await container('docker0', '172.17.0', 1);
    web = await container('br-web', '172.18.0', 2);
    // A libvirt-style network whose NAT rule is missing.
    for (const argv of [['ip', 'link', 'add', 'virbr0', 'type', 'bridge'], ['ip', 'address', 'add', '192.168.122.1/24', 'dev', 'virbr0'], ['ip', 'link', 'set', 'virbr0', 'up']]) await bed.host.exec(argv);
    await bed.host.setSysctl({ 'net.ipv4.ip_forward': 1 });
    await bed.host.exec(['nft', '-f', '-'], { input: DOCKER_RULES });
    dockerBefore = await othersRuleset();
    rh = await setUpRoutingHost(bed, INTERFACES, 'interface_priority = eth1 eth2\npin = docker0:eth2:strict br-web:eth1,eth2\n');
    await bed.host.ifup('eth2');
    await bed.host.ifup('eth1');
  });
  afterAll(() => {
    for (const ns of containers) deleteNetns(ns);
    bed?.destroy();
  });

  test('a pinned bridge leaves by its uplink although eth1 has priority', async () => {
    expect((await bed.host.routeGet(bed.internet.address4)).dev).toBe('eth1');
    const [before1, before2] = [await counters(0), await counters(1)];
    expect(await pingFrom(docker0)).toBe(true);
    expect((await counters(1)).echo).toBeGreaterThan(before2.echo!);
    expect((await counters(0)).echo).toBe(before1.echo);
    const status = await cli(bed.host, ['status']);
    expect(status.stdout).toContain('pin docker0:eth2:strict (IPv4): now via eth2');
    expect(status.stdout).toMatch(/rule 30200: iif docker0 lookup \d+/);
  });

  test('strict: with eth2 down nothing of the pinned bridge leaves by eth1', async () => {
    // A continuous ping, one connection marked for eth2 (sticky), goes on across the outage: its mark must not lead it elsewhere either.
    const ping = spawn('ip', ['netns', 'exec', docker0, 'ping', '-n', '-i', '0.2', '-w', '20', bed.internet.address4], { stdio: 'ignore' });
    const marked = async () => /mark=[1-9]/.test((await bed.host.exec(['conntrack', '-L', '-p', 'icmp', '--src', '172.17.0.2'], { reject: false })).stdout);
    await expect.poll(marked, { timeout: 5000 }).toBe(true);
    await bed.routers[1]!.setLan(false);
    try {
      const before1 = await counters(0);
      expect(await pingFrom(docker0)).toBe(false);
      expect((await counters(0)).echo).toBe(before1.echo);
      const status = await cli(bed.host, ['status', '--forwarding']);
      expect(status.stdout).toContain('STOPPED (strict, pinned uplinks down)');
    } finally {
      await bed.routers[1]!.setLan(true);
      ping.kill();
    }
    await expect.poll(() => pingFrom(docker0), { timeout: 10_000 }).toBe(true);
  });

  test('a port published on the host, reached through uplink 2, answers through uplink 2', async () => {
    // The web container is pinned to eth1: without the reply marks its answers would leave there.
    spawn('ip', ['netns', 'exec', web, process.execPath, '-e', "require('http').createServer((q, s) => s.end('hello from web')).listen(80)"], { detached: true, stdio: 'ignore' }).unref();
    const [before1, before2] = [await counters(0), await counters(1)];
    const url = `http://${bed.routers[1]!.wanAddress4}:8080/`;
    const get = async () => (await bed.internet.exec(['curl', '-s', '--max-time', '3', url], { reject: false })).stdout;
    await expect.poll(get, { timeout: 10_000 }).toBe('hello from web');
    expect((await counters(1)).web).toBeGreaterThan(before2.web!);
    expect((await counters(0)).web).toBe(before1.web);
    const status = await cli(bed.host, ['status', '--forwarding']);
    const eth2Mark = Number(/replies: 30100: from all fwmark (0x[12]00)\/0x1f00 lookup \d+ \(eth2, IPv4\)/.exec(status.stdout)?.[1]);
    expect(eth2Mark).toBeGreaterThan(0);
    // The DNATed connection keeps the mark of the uplink it came in on (the sticky marks of forwarded connections never replace it).
    const entries = (await bed.host.exec(['conntrack', '-L', '-p', 'tcp', '--orig-dst', '10.61.2.2', '--orig-port-dst', '8080'])).stdout.split('\n').filter((l) => l.includes('dport=8080'));
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.map((l) => Number(/mark=(\d+)/.exec(l)?.[1]))).toEqual(entries.map(() => eth2Mark));
  });

  // The kernel itself kills a masqueraded entry whose output interface changed, at
  // the entry's next packet (that packet is dropped); the daemon flushes them at
  // the carrier loss (lib/conntrack/flush.ts). This shows the outcome both give.
  test('carrier loss of eth1: flows masqueraded out of it go on through eth2', async () => {
    // A continuous ping from the web container is one conntrack entry, masqueraded to eth1's address.
    const ping = spawn('ip', ['netns', 'exec', web, 'ping', '-n', '-i', '0.2', '-w', '30', bed.internet.address4], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    ping.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const replies = () => (out.match(/bytes from/g) ?? []).length;
    const flows = async (address: string) => (await bed.host.exec(['conntrack', '-L', '-f', 'ipv4', '--src-nat', '--reply-dst', address], { reject: false })).stdout;
    try {
      await expect.poll(replies, { timeout: 5000 }).toBeGreaterThan(2);
      expect(await flows('10.61.1.2')).toContain('172.18.0.2');
      await bed.routers[0]!.setLan(false);
      try {
        await expect.poll(() => flows('10.61.2.2'), { timeout: 10_000 }).toContain('172.18.0.2');
        const n = replies();
        await expect.poll(replies, { timeout: 10_000 }).toBeGreaterThan(n + 3);
        expect(await flows('10.61.1.2')).not.toContain('172.18.0.2');
      } finally {
        await bed.routers[0]!.setLan(true);
      }
    } finally {
      ping.kill();
    }
  });

  test('doctor names the bridge whose NAT is missing, in plain words with the fix, and no other', async () => {
    const r = await cli(bed.host, ['doctor', '--json', '--probe4', bed.internet.address4]);
    const { findings } = JSON.parse(r.stdout) as { findings: { id: string; subject: string; what: string; fix: string[] }[] };
    const forward = findings.filter((f) => f.id.startsWith('forward-'));
    expect(forward.find((f) => f.id === 'forward-no-nat')).toMatchObject({ subject: 'virbr0 192.168.122.0/24', what: expect.stringContaining('no masquerade rule covers it') });
    expect(forward.filter((f) => !f.subject.startsWith('virbr0 '))).toEqual([]);
  });

  test('marks only while the host forwards: the daemon follows ip_forward at its next pass', async () => {
    const marks = async () => ((await bed.host.exec(['ip', 'rule', 'show'])).stdout.match(/fwmark/g) ?? []).length;
    const tables = async () => (await bed.host.exec(['nft', 'list', 'tables'])).stdout;
    expect(await marks()).toBe(2);
    // A link event (a runtime adding a bridge) is what wakes the watcher.
    const nudge = (n: number) => bed.host.exec(['ip', 'link', 'add', `nudge${n}`, 'type', 'bridge']);
    await bed.host.setSysctl({ 'net.ipv4.ip_forward': 0 });
    await nudge(1);
    await expect.poll(marks, { timeout: 5000 }).toBe(0);
    await expect.poll(tables, { timeout: 5000 }).not.toContain('multihomed_routing');
    await bed.host.setSysctl({ 'net.ipv4.ip_forward': 1 });
    await nudge(2);
    await expect.poll(marks, { timeout: 5000 }).toBe(2);
    await expect.poll(tables, { timeout: 5000 }).toContain('multihomed_routing');
  });

  test("Docker's tables are as Docker left them, after events and cleanup", async () => {
    expect(await othersRuleset()).toBe(dockerBefore);
    await bed.host.ifdown('eth2');
    await bed.host.ifup('eth2');
    expect(await othersRuleset()).toBe(dockerBefore);
    const r = await cli(bed.host, ['cleanup']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await bed.host.exec(['ip', 'rule', 'show'])).stdout).not.toContain('proto 201');
    expect((await bed.host.exec(['nft', 'list', 'tables'])).stdout).not.toContain('multihomed_routing');
    expect(await othersRuleset()).toBe(dockerBefore);
  });

  test('without nft: said once, routing and pins work, no mark rules', async () => {
    // After the cleanup above: addresses still on eth1 and eth2, nothing of ours.
    await bed.host.setSysctl({ 'net.ipv4.ip_forward': 1 });
    await rh.stopDaemon();
    await bed.host.exec(['mkdir', '-p', '/run/nonft']);
    await bed.host.exec(['ln', '-sf', '/usr/sbin/ip', '/run/nonft/ip']);
    rh.daemon = bed.host.spawn(['env', 'PATH=/run/nonft', EXE, 'daemon'], { logName: 'daemon-nonft' });
    const sock = '/run/multihomed-routing/allocator/allocator.sock';
    await expect.poll(async () => (await bed.host.exec(['test', '-S', sock], { reject: false })).exitCode, { timeout: 5000 }).toBe(0);
    const up = (ifname: string, n: number) => rh.hook({ IFACE: ifname, ADDRFAM: 'inet', METHOD: 'static', MODE: 'start', PHASE: 'post-up', IF_ADDRESS: `10.61.${n}.2/24`, IF_GATEWAY: `10.61.${n}.1` });
    await up('eth2', 2);
    await up('eth1', 1);
    // The daemon updates the marks after answering the hook: its own log says it, once.
    const said = () => (fs.readFileSync(rh.daemon!.logFile, 'utf8').match(/nft not found/g) ?? []).length;
    await expect.poll(said, { timeout: 5000 }).toBe(1);
    const rules = (await bed.host.exec(['ip', 'rule', 'show'])).stdout;
    expect(rules).toMatch(/30200:\s+from all iif docker0 lookup \d+ proto 201/);
    expect(rules).not.toContain('fwmark');
    expect((await bed.host.exec(['nft', 'list', 'tables'])).stdout).not.toContain('multihomed_routing');
    expect(await pingFrom(docker0)).toBe(true);
    await rh.stopDaemon();
  });
});
