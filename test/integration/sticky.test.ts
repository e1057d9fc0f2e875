// Forwarded connections stay on the uplink they first left by (issue 13,
// failback): a LAN behind the host (a bridge, a client namespace, the host
// masquerading it as a small router does), two uplinks (eth1 first in
// priority, eth2), no pins. A TCP flow opened while eth1's carrier is down
// leaves by eth2, masqueraded to eth2's address; when eth1 comes back, the
// band prefers eth1 again but that flow must go on through eth2. Counted at
// the routers (prerouting, before their rp_filter), both directions.

import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestBed, type PlainNetns, type TestBed } from '../helpers/testbed.js';
import { routerCounters, wireContainer } from '../helpers/forward-bed.js';
import { cli, setUpRoutingHost, type RoutingHost } from './routing-host.js';

const INTERFACES = `
iface eth1 inet static
    address 10.62.1.2/24
    gateway 10.62.1.1
iface eth2 inet static
    address 10.62.2.2/24
    gateway 10.62.2.1
`;
const A1 = '10.62.1.2';
const A2 = '10.62.2.2';
const CLIENT_ADDRESS = '172.19.0.2';
const PORT = 7000;

// Each router counts the flow's packets: towards the internet (from the host) and back (from the internet).
const COUNT_RULES = `
table inet mhr_count {
  counter up { }
  counter down { }
  chain pre {
    type filter hook prerouting priority raw; policy accept;
    iifname "lan" tcp dport ${PORT} counter name "up"
    iifname "wan" tcp sport ${PORT} counter name "down"
  }
}
`;
// The host as a LAN's router: masquerade whatever leaves the LAN for elsewhere.
const LAN_NAT = `
table ip lan_nat {
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr 172.19.0.0/16 oifname != "br-lan" masquerade
  }
}
`;
const ECHO_SERVER = `require('net').createServer((s) => s.on('error', () => {}).pipe(s)).listen(${PORT}, '198.51.100.1')`;
// A long-lived connection: a byte every 200 ms, echoed back; it says each connect and the bytes echoed so far, and reconnects when its connection dies.
const CLIENT = `let got = 0; (function go() { const s = require('net').connect({ host: '198.51.100.1', port: ${PORT} }); let t;
s.on('connect', () => { console.log('connected'); t = setInterval(() => s.write('x'), 200); });
s.on('data', (d) => { got += d.length; console.log('echoed ' + got); });
s.on('error', (e) => console.log('error ' + e.code)); s.on('close', () => { clearInterval(t); setTimeout(go, 200); }); })();`;
// One short connection: connects, gets its bytes echoed, leaves.
const ONE_SHOT = `const s = require('net').connect({ host: '198.51.100.1', port: ${PORT} }, () => s.write('new'));
s.on('data', () => { s.destroy(); process.exit(0); }); s.on('error', () => process.exit(1)); setTimeout(() => process.exit(2), 5000);`;

interface Flow { src: string; replyDst: string; mark: number }

describe('forwarded connections stay on the uplink they started on', () => {
  let bed: TestBed;
  let rh: RoutingHost;
  let lan: PlainNetns;

  const counters = (i: number) => routerCounters(bed.routers[i]!);
  const unboundDev = async () => (await bed.host.routeGet(bed.internet.address4)).dev;
  /** Conntrack's entries of the test's port: original source, reply destination (the NAT address), mark. */
  const flows = async (): Promise<Flow[]> => {
    const out = (await bed.host.exec(['conntrack', '-L', '-p', 'tcp', '--dport', String(PORT)], { reject: false })).stdout;
    return out.split('\n').filter((l) => l.includes(`dport=${PORT}`)).map((l) => {
      const dsts = [...l.matchAll(/dst=(\S+)/g)].map((m) => m[1]!);
      return { src: /src=(\S+)/.exec(l)![1]!, replyDst: dsts[1]!, mark: Number(/mark=(\d+)/.exec(l)?.[1] ?? 0) };
    });
  };
  /** The mark our fwmark rule gives an uplink's table (status --forwarding). */
  const markOf = async (ifname: string) => {
    const out = (await cli(bed.host, ['status', '--forwarding'])).stdout;
    const m = new RegExp(`fwmark (0x[0-9a-f]+)/0x1f00 lookup \\d+ \\(${ifname}, IPv4\\)`).exec(out);
    if (!m) throw new Error(`no mark for ${ifname} in:\n${out}`);
    return Number(m[1]);
  };

  beforeAll(async () => {
    bed = await createTestBed({
      name: 'sticky',
      routers: [
        { hostIfname: 'eth1', ipv4: { subnet: '10.62.1.0/24', address: '10.62.1.1' } },
        { hostIfname: 'eth2', ipv4: { subnet: '10.62.2.0/24', address: '10.62.2.1' } },
      ],
      extraNamespaces: ['lan'],
    });
    lan = bed.extra.lan!;
    for (const r of bed.routers) await r.exec(['nft', '-f', '-'], { input: COUNT_RULES });
    await wireContainer(bed.host, lan.name, 'br-lan', '172.19.0', 'vethlan');
    await bed.host.setSysctl({ 'net.ipv4.ip_forward': 1 });
    await bed.host.exec(['nft', '-f', '-'], { input: LAN_NAT });
    bed.internet.spawn([process.execPath, '-e', ECHO_SERVER], { logName: 'echo-server' });
    rh = await setUpRoutingHost(bed, INTERFACES, 'interface_priority = eth1 eth2\n');
    await bed.host.ifup('eth2');
    await bed.host.ifup('eth1');
  });
  afterAll(async () => {
    await rh?.stopDaemon();
    bed?.destroy();
  });

  test('failback: a connection opened while eth1 was down goes on through eth2, both ways; a new one takes eth1', async () => {
    // The marks are synced right behind the hooks' jobs.
    await expect.poll(async () => (await bed.host.exec(['nft', 'list', 'tables'])).stdout, { timeout: 5000 }).toContain('multihomed_routing');
    const [mark1, mark2] = [await markOf('eth1'), await markOf('eth2')];
    await bed.routers[0]!.setLan(false);
    const client = lan.spawn([process.execPath, '-e', CLIENT], { logName: 'client' });
    const log = () => fs.readFileSync(client.logFile, 'utf8');
    const echoed = () => Number(/echoed (\d+)\n$/.exec(log())?.[1] ?? 0);
    const connects = () => (log().match(/^connected$/gm) ?? []).length;
    try {
      try {
        await expect.poll(unboundDev, { timeout: 5000 }).toBe('eth2');
        await expect.poll(echoed, { timeout: 10_000 }).toBeGreaterThan(3);
        // Masqueraded to eth2's address, and marked for eth2 by our forward chain.
        expect((await flows()).filter((f) => f.src === CLIENT_ADDRESS)).toEqual([{ src: CLIENT_ADDRESS, replyDst: A2, mark: mark2 }]);
      } finally {
        await bed.routers[0]!.setLan(true);
      }
      await expect.poll(unboundDev, { timeout: 5000 }).toBe('eth1');
      const [before1, before2, n] = [await counters(0), await counters(1), echoed()];
      await expect.poll(echoed, { timeout: 10_000 }).toBeGreaterThan(n + 5);
      const [after1, after2] = [await counters(0), await counters(1)];
      expect(after2.up).toBeGreaterThan(before2.up!);
      expect(after2.down).toBeGreaterThan(before2.down!);
      expect([after1.up, after1.down]).toEqual([before1.up, before1.down]);
      expect(connects()).toBe(1);

      // A new connection from the same client follows the band: eth1, its own mark.
      const r = await lan.exec([process.execPath, '-e', ONE_SHOT], { reject: false, timeoutMs: 10_000 });
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      expect((await counters(0)).up).toBeGreaterThan(after1.up!);
      expect((await flows()).filter((f) => f.src === CLIENT_ADDRESS && f.replyDst === A1).map((f) => f.mark)).toContain(mark1);

      // The host's own connections are not forwarded: never marked.
      const own = await bed.host.exec([process.execPath, '-e', ONE_SHOT], { reject: false, timeoutMs: 10_000 });
      expect(own.exitCode, own.stdout + own.stderr).toBe(0);
      const hostFlows = (await flows()).filter((f) => f.src === A1);
      expect(hostFlows.length).toBeGreaterThan(0);
      expect(hostFlows.every((f) => f.mark === 0)).toBe(true);

      // The flow stuck to eth2 loses eth2's carrier: its entry goes (the daemon's flush at the failover,
      // or the kernel's own at its next packet, whichever comes first) and it reconnects through eth1.
      await bed.routers[1]!.setLan(false);
      try {
        await expect.poll(connects, { timeout: 10_000 }).toBeGreaterThan(1);
        const [b1, m] = [await counters(0), echoed()];
        await expect.poll(echoed, { timeout: 10_000 }).toBeGreaterThan(m + 3);
        expect((await counters(0)).down).toBeGreaterThan(b1.down!);
        const live = (await flows()).filter((f) => f.src === CLIENT_ADDRESS);
        expect(live.some((f) => f.replyDst === A2)).toBe(false);
        expect(live.some((f) => f.replyDst === A1 && f.mark === mark1)).toBe(true);
      } finally {
        await bed.routers[1]!.setLan(true);
      }
    } finally {
      client.kill();
    }
  }, 60_000);
});
