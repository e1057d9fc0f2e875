// Events of hooks that worked alone, with the single executable in a test
// bed: real ifup and ifdown run the if-up.d / if-post-down.d hook while no
// daemon runs, and while the daemon is stopped by SIGSTOP (wedged: the hook
// waits 10 s, then works alone). When the daemon starts, or resumes, a
// recording event script sees what the hooks changed meanwhile, with the
// interface, family, address, table and rank the kernel shows and a reason
// naming the hook; a daemon restarted with nothing changed reports nothing.

import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestBed, waitFor, type TestBed } from '../helpers/testbed.js';
import { ourRules, setUpRoutingHost, type RoutingHost } from './routing-host.js';

let bed: TestBed;
let rh: RoutingHost;

const INTERFACES = `
iface eth0 inet static
    address 10.91.0.2/24
    gateway 10.91.0.1

iface eth1 inet static
    address 10.92.0.2/24
    gateway 10.92.0.1
`;
const RECORD = '#!/bin/sh\necho "$MHR_EVENT|$MHR_IFACE|$MHR_FAMILY|$MHR_ADDRESS|$MHR_TABLE|$MHR_RANK|$MHR_REASON" >> /run/events-alone.log\n';

interface Recorded { type: string; iface: string; family: string; address: string; table: string; rank: string; reason: string }
const recorded = (): Recorded[] => {
  const file = bed.host.path('/run/events-alone.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => {
    const [type, iface, family, address, table, rank, reason] = l.split('|') as [string, string, string, string, string, string, string];
    return { type, iface, family, address, table, rank, reason };
  });
};
/** The recorded events after the `from`th, health aside, once the last one is `until`. */
async function since(from: number, until: (e: Recorded) => boolean): Promise<Recorded[]> {
  await waitFor('the recorded events', () => (recorded().slice(from).some(until) ? true : undefined), 20_000, 100)
    .catch((err: Error) => { throw new Error(`${err.message}: ${JSON.stringify(recorded().slice(from))}`); });
  await new Promise((r) => setTimeout(r, 1500)); // a pass's events come together: nothing more after a quiet while
  return recorded().slice(from);
}
/** The table and the band rank (31000 + rank) of an address, as `ip rule` shows them. */
async function kernelOf(address: string): Promise<{ table: string; rank: string }> {
  const rules = await ourRules(bed.host);
  const table = rules.find((r) => r.includes(` from ${address} `))?.split(' lookup ')[1] ?? '';
  const band = rules.find((r) => /^31\d\d\d lookup /.test(r) && r.endsWith(` lookup ${table}`));
  return { table, rank: band ? String(Number(band.split(' ')[0]) - 31000) : '' };
}
const short = (e: Recorded) => `${e.type} ${e.iface}`.trim();

beforeAll(async () => {
  bed = await createTestBed({
    name: 'evalone',
    routers: [
      { hostIfname: 'eth0', ipv4: { subnet: '10.91.0.0/24', address: '10.91.0.1' } },
      { hostIfname: 'eth1', ipv4: { subnet: '10.92.0.0/24', address: '10.92.0.1' } },
    ],
  });
  await bed.host.writeEtc('multihomed-routing/events.d/10-record', RECORD, 0o755);
  rh = await setUpRoutingHost(bed, INTERFACES, 'interface_priority = eth0 eth1 *\n');
}, 120_000);

afterAll(async () => {
  rh?.daemon?.kill('SIGCONT');
  await rh?.stopDaemon().catch(() => {});
  bed?.destroy();
});

describe('events of hooks that worked alone', () => {
  let eth0: { table: string; rank: string };

  test('with the daemon: ifup eth0 is configured through it', async () => {
    await bed.host.ifup('eth0');
    expect((await since(0, (e) => e.type === 'uplink-changed')).map(short)).toEqual(['daemon-started', 'address-configured eth0', 'uplink-changed eth0']);
    eth0 = await kernelOf('10.91.0.2');
    expect(eth0.table).not.toBe('');
    expect(recorded()[1]!.reason).toBe(`routed through table ${eth0.table}`);
  });

  test('no daemon: ifdown eth0 and ifup eth1 work alone; the daemon started next emits what they did, naming them', async () => {
    await rh.stopDaemon();
    const from = recorded().length;
    expect(recorded().at(-1)!.type).toBe('daemon-stopping');
    await bed.host.ifdown('eth0');
    expect(await kernelOf('10.91.0.2')).toEqual({ table: '', rank: '' });
    // No allocator to lease from: the hook retries it, then routes the address through main (degraded).
    await bed.host.ifup('eth1');
    expect(await ourRules(bed.host)).toContain('10000 from 10.92.0.2 lookup 254');
    expect(recorded().length).toBe(from); // nothing emits while no daemon runs

    await rh.startDaemon();
    const events = await since(from, (e) => e.type === 'uplink-changed');
    // The daemon's first pass adopts eth1's address into a table: it had none.
    const eth1 = await kernelOf('10.92.0.2');
    expect(eth1.table).not.toBe('');
    const alone = 'the ifupdown hook working alone (no daemon is running)';
    expect(events.filter((e) => !e.type.startsWith('health-'))).toEqual([
      { type: 'daemon-started', iface: '', family: '', address: '', table: '', rank: '', reason: expect.stringMatching(/^pid \d+$/) as string },
      { type: 'address-removed', iface: 'eth0', family: '4', address: '10.91.0.2', table: eth0.table, rank: eth0.rank, reason: `table ${eth0.table} and its rules removed by ${alone}` },
      { type: 'address-adopted', iface: 'eth1', family: '4', address: '10.92.0.2', table: eth1.table, rank: eth1.rank, reason: `${alone} left the address without a table: the daemon adopted it` },
      { type: 'uplink-changed', iface: 'eth1', family: '4', address: '10.92.0.2', table: eth1.table, rank: eth1.rank, reason: 'unbound IPv4 traffic now via eth1 (was eth0)' },
    ]);
  });

  test('a daemon restarted with nothing changed meanwhile reports nothing but its stop and start', async () => {
    const from = recorded().length;
    await rh.stopDaemon();
    await rh.startDaemon();
    await since(from, (e) => e.type === 'daemon-started');
    await new Promise((r) => setTimeout(r, 2000)); // the watcher's first passes
    expect(recorded().slice(from).map(short)).toEqual(['daemon-stopping', 'daemon-started']);
  });

  test('daemon wedged (SIGSTOP): ifup eth0 waits 10 s, works alone; the daemon, resumed, emits it with why', async () => {
    const from = recorded().length;
    rh.daemon!.kill('SIGSTOP');
    let ms: number;
    try {
      const t0 = Date.now();
      await bed.host.ifup('eth0');
      ms = Date.now() - t0;
    } finally {
      rh.daemon!.kill('SIGCONT');
    }
    expect(ms).toBeGreaterThanOrEqual(10_000);
    const events = await since(from, (e) => e.iface === 'eth0');
    console.log(`wedged daemon: ifup took ${ms} ms`);
    // No allocator it could ask (the daemon is the allocator): main's routes, until an event with a lease.
    expect(events.filter((e) => e.iface === 'eth0')).toEqual([{
      type: 'address-degraded', iface: 'eth0', family: '4', address: '10.91.0.2', table: '', rank: '',
      reason: 'no table lease: the address uses main\'s routes until one is free (set by the ifupdown hook working alone: the daemon took the event but did not answer within 10000 ms)',
    }]);
    expect(await ourRules(bed.host)).toContain('10000 from 10.91.0.2 lookup 254');
    expect(readFileSync(rh.daemon!.logFile, 'utf8')).toMatch(/event dropped: the hook stopped waiting for it and worked alone/);
  });
});
