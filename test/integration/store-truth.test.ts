// The kernel is the truth (issue 17, item 4): when the lease store and the
// kernel disagree, a live address never loses its routing. Reproduced with
// the real daemon in a namespace: a kill -9 right after the reply to a
// pipelined EXPIRE + BOUND (the store write is deferred, STORE_SOON_MS), a
// damaged store salvaged with wrong tables, and a lease handed out while the
// kernel routes another live address through its table.

import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { encodeJob } from '../../lib/dispatch/wire.js';
import { parseInterfaceAddress } from '../../lib/net/address.js';
import type { RoutingEvent } from '../../lib/plan/event.js';
import { createTestBed, waitFor, type TestBed } from '../helpers/testbed.js';
import { cli, CONFIG, exchange, ourRules, setUpRoutingHost, tableRoutes, type RoutingHost } from './routing-host.js';

const A = { IFACE: 'eth0', ADDRFAM: 'inet', METHOD: 'static', MODE: 'start', PHASE: 'post-up', IF_ADDRESS: '192.0.2.10/24', IF_GATEWAY: '192.0.2.1' };
const B = { ...A, IFACE: 'eth1', IF_ADDRESS: '203.0.113.5/24', IF_GATEWAY: '203.0.113.1' };
const STORE = '/run/multihomed-routing/leases.json';

describe('store and kernel disagree: the kernel wins, no live address loses its routing', () => {
  let bed: TestBed;
  let rh: RoutingHost;
  let socket: string;
  const hook = (env: Record<string, string>) => cli(bed.host, ['--verbose', 'ifupdown'], env);
  const tableOf = (stderr: string, ifname: string) => Number(new RegExp(`routing updated iface=${ifname} address=\\S+ table=(\\d+)`).exec(stderr)?.[1]);
  const leases = async () => JSON.parse((await cli(bed.host, ['lease', 'list', '--json'])).stdout) as { ifname: string; address: string; table: number }[];
  /**
   * What an operator checks for B: the rules looking up its table (the
   * band rule's preference moves with the other uplinks, so only its
   * presence counts) and the table's routes.
   */
  const routingOfB = async (table: number) => {
    const rules = (await ourRules(bed.host)).filter((r) => r.endsWith(` lookup ${table}`));
    return {
      own: rules.filter((r) => /from 203\.0\.113\.5|oif eth1|to 203\.0\.113\.0\/24/.test(r)),
      band: rules.filter((r) => !/from 203|oif eth1|to 203/.test(r)).length,
      routes: await tableRoutes(bed.host, table),
    };
  };
  const ip = (...args: string[]) => bed.host.exec(['ip', ...args]);
  /** Restarts the daemon after a kill -9 and returns what it logged while starting. */
  async function restartAfterKill(store: string | undefined): Promise<string> {
    rh.daemon!.kill('SIGKILL');
    await rh.daemon!.exited;
    if (store !== undefined) fs.writeFileSync(bed.host.path(STORE), store);
    const logFile = rh.daemon!.logFile;
    const before = fs.statSync(logFile).size;
    await rh.startDaemon();
    const newLines = () => fs.readFileSync(logFile, 'utf8').slice(before);
    await waitFor('the daemon listens', () => newLines().includes('allocator listening'), 10_000, 50);
    return newLines();
  }

  beforeAll(async () => {
    bed = await createTestBed({ name: 'storetruth', routers: [] });
    rh = await setUpRoutingHost(bed, '', 'lease_reclaim_grace = 2\n');
    socket = bed.host.path('/run/multihomed-routing/allocator/allocator.sock');
    for (const [dev, peer] of [['eth0', 'eth0peer'], ['eth1', 'eth1peer']]) {
      await ip('link', 'add', dev!, 'type', 'veth', 'peer', 'name', peer!);
      await ip('link', 'set', dev!, 'up');
      await ip('link', 'set', peer!, 'up');
    }
  });
  afterAll(() => bed?.destroy());

  test('kill -9 right after a pipelined EXPIRE + BOUND reply: the restarted daemon gives the table to the live address, and the next event of the old one leaves it alone', async () => {
    await ip('addr', 'add', '192.0.2.10/24', 'dev', 'eth0');
    const ta = tableOf((await hook(A)).stderr, 'eth0');
    expect(ta).toBeGreaterThan(0);
    await waitFor('the lease of eth0 on disk', () => fs.readFileSync(bed.host.path(STORE), 'utf8').includes('"192.0.2.10"'), 5000, 20);
    const storeBefore = fs.readFileSync(bed.host.path(STORE), 'utf8');

    // dhclient's EXPIRE removed eth0's address, a BOUND brought eth1's: one job, both events, answered before the store is written.
    await ip('addr', 'del', '192.0.2.10/24', 'dev', 'eth0');
    await ip('addr', 'add', '203.0.113.5/24', 'dev', 'eth1');
    const events: RoutingEvent[] = [
      { kind: 'address-down', source: 'ifupdown', ifname: 'eth0', address: parseInterfaceAddress('192.0.2.10/24'), manageAddress: false },
      { kind: 'address-up', source: 'ifupdown', ifname: 'eth1', address: parseInterfaceAddress('203.0.113.5/24'), gateways: [parseInterfaceAddress('203.0.113.1/32').address], routes: [], manageAddress: false },
    ];
    const reply = JSON.parse(await exchange(socket, `${JSON.stringify(encodeJob({ hook: 'ifupdown', dryRun: false, verbose: true, events }, CONFIG, Date.now() + 10_000))}\n`)) as { lines: string[]; error?: string };
    expect(reply.error).toBeUndefined();
    const tb = tableOf(reply.lines.join('\n'), 'eth1');
    expect(tb).toBe(ta); // eth0's table, freed in memory, went to eth1
    // kill -9 now; the deferred write is due within 50 ms: the store it leaves is the one from before the job.
    const started = await restartAfterKill(storeBefore);
    expect(started).toMatch(new RegExp(`store lease dropped: the kernel routes a live address through its table .*ifname=eth0 address=192\\.0\\.2\\.10 table=${ta}`));
    expect(started).toMatch(new RegExp(`lease claimed: .*ifname=eth1 address=203\\.0\\.113\\.5 table=${ta}`));
    expect(await leases()).toEqual([expect.objectContaining({ ifname: 'eth1', address: '203.0.113.5', table: ta })]);
    const before = await routingOfB(ta);
    expect(before.own).toHaveLength(3);
    expect(before.band).toBe(1);
    expect(before.routes).toContain('default via 203.0.113.1 dev eth1 src 203.0.113.5 ours');

    // eth0's address comes back: its event gets another table, eth1's routing is untouched
    await ip('addr', 'add', '192.0.2.10/24', 'dev', 'eth0');
    const r = await hook(A);
    const again = tableOf(r.stderr, 'eth0');
    expect(again).toBeGreaterThan(0);
    expect(again).not.toBe(ta);
    expect(await routingOfB(ta)).toEqual(before);
    expect(await tableRoutes(bed.host, again)).toContain('default via 192.0.2.1 dev eth0 src 192.0.2.10 ours');
  });

  test('a damaged store salvaged with swapped tables and table 255: both live addresses keep theirs, 255 is refused', async () => {
    const byIf = Object.fromEntries((await leases()).map((l) => [l.ifname, l.table]));
    const [ta, tb] = [byIf.eth0!, byIf.eth1!];
    const before = { rules: await ourRules(bed.host), a: await tableRoutes(bed.host, ta), b: await tableRoutes(bed.host, tb) };
    const line = (ifname: string, address: string, table: number) => JSON.stringify({ ifname, address, addr_family: 4, table, lease_expires: Math.floor(Date.now() / 1000) + 3600 });
    // truncated (no closing bracket): salvaged line by line
    const damaged = `{"version":1,"leases":[\n${line('eth0', '192.0.2.10', tb)},\n${line('eth1', '203.0.113.5', ta)},\n${line('eth9', '192.0.2.99', 255)},\n`;
    const started = await restartAfterKill(damaged);
    expect(started).toMatch(/lease store .* is damaged: .*eth9 192\.0\.2\.99 dropped: table 255 is one of the kernel's own/);
    expect(started).toMatch(/store lease dropped/);
    expect((await leases()).map((l) => [l.ifname, l.table]).sort()).toEqual([['eth0', ta], ['eth1', tb]]);
    // the next events of both change nothing
    expect((await hook(A)).stderr).toMatch(/routing already in place .*changes=0/);
    expect((await hook(B)).stderr).toMatch(/routing already in place .*changes=0/);
    expect({ rules: await ourRules(bed.host), a: await tableRoutes(bed.host, ta), b: await tableRoutes(bed.host, tb) }).toEqual(before);
  });

  test('leases nobody uses (requests of hooks that died, whose address never came) are released after lease_reclaim_grace; one requested again is kept while it is', async () => {
    const list = async () => (JSON.parse(await exchange(socket, '{"version":1,"cmd":"list"}\n')) as { leases: { ifname: string; address: string }[] }).leases;
    const before = (await list()).map((l) => `${l.ifname} ${l.address}`).sort();
    const request = (i: number) => exchange(socket, `${JSON.stringify({ version: 1, cmd: 'request', ifname: 'eth0', address: `10.88.0.${i}`, addr_family: 4 })}\n`);
    for (let i = 1; i <= 50; i++) expect(JSON.parse(await request(i)).table).toBeGreaterThan(0);
    expect(await list()).toHaveLength(before.length + 50);
    await ip('addr', 'add', '10.88.1.1/24', 'dev', 'eth0'); // a pass now: the wait starts
    // 10.88.0.1 is asked for again every 0.5 s (a hook about to add it): kept meanwhile
    const t0 = Date.now();
    while (Date.now() - t0 < 4000) {
      await request(1);
      await new Promise((res) => setTimeout(res, 500));
    }
    const mid = (await list()).map((l) => l.address);
    expect(mid).toContain('10.88.0.1');
    expect(mid.filter((a) => a.startsWith('10.88.0.'))).toEqual(['10.88.0.1']);
    await ip('addr', 'del', '10.88.1.1/24', 'dev', 'eth0');
    await waitFor('the lease count back to what it was', async () => (await list()).length === before.length, 10_000, 200);
    expect((await list()).map((l) => `${l.ifname} ${l.address}`).sort()).toEqual(before);
    expect(fs.readFileSync(rh.daemon!.logFile, 'utf8')).toMatch(/repaired: address 10\.88\.0\.7 has not been on eth0 for \d+ s \(lease_reclaim_grace 2 s\): lease of table \d+ released/);
  });

  test('a lease the allocator hands out while the kernel routes another live address through it is not used: the table goes to its owner', async () => {
    const tb = (await leases()).find((l) => l.ifname === 'eth1')!.table;
    const before = await routingOfB(tb);
    await ip('link', 'add', 'eth2', 'type', 'veth', 'peer', 'name', 'eth2peer');
    try {
      await ip('link', 'set', 'eth2', 'up');
      await ip('addr', 'add', '100.64.9.5/24', 'dev', 'eth2');
      await new Promise((res) => setTimeout(res, 1000)); // the watcher's pass for these changes is over
      // eth1's lease is lost while its routing stays (what a lost store write leaves), and eth2's address asks before the watcher looks again
      expect((await cli(bed.host, ['lease', 'release', '-4', '--ifname', 'eth1', '--address', '203.0.113.5'])).exitCode).toBe(0);
      const r = await hook({ ...A, IFACE: 'eth2', IF_ADDRESS: '100.64.9.5/24', IF_GATEWAY: '100.64.9.1' });
      expect(r.stderr).toMatch(new RegExp(`the leased table is the kernel's for another live address .*table=${tb} owner="eth1 203\\.0\\.113\\.5"`));
      const tc = tableOf(r.stderr, 'eth2');
      expect(tc).toBeGreaterThan(0);
      expect(tc).not.toBe(tb);
      expect(await routingOfB(tb)).toEqual(before);
      expect((await leases()).find((l) => l.ifname === 'eth1')?.table).toBe(tb);
      await hook({ ...A, IFACE: 'eth2', IF_ADDRESS: '100.64.9.5/24', IF_GATEWAY: '100.64.9.1', MODE: 'stop', PHASE: 'post-down' });
    } finally {
      await ip('link', 'del', 'eth2');
    }
  });
});
