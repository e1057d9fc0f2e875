import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import tmp from 'tmp';
import { describe, expect, it } from 'vitest';
import { claimFromKernel, kernelLeases, tableTakenBy, type KernelLease } from '../../../lib/allocator/kernel-claims.js';
import { LeaseTable } from '../../../lib/allocator/leases.js';
import { startAllocator } from '../../../lib/allocator/allocator.js';
import { parseConfig } from '../../../lib/config/parse.js';
import { createLogger } from '../../../lib/log/log.js';
import { link, state } from '../plan/fake-kernel.js';

const config = parseConfig('table_range = 10000-10009');
const NOW = 1_000_000;

// eth0 10.0.0.2 in table 10000 (complete), eth1 10.1.0.2 in 10003 (only its
// `from` rule and a route left), a table outside the range, a `from` rule of
// another protocol, and an entry without an address (a route only).
const kernel = state({
  links: [link(1, 'lo', '127.0.0.1/8'), link(2, 'eth0', '10.0.0.2/24'), link(3, 'eth1', '10.1.0.2/24'), link(4, 'eth2', '10.2.0.2/24')],
  routes: [
    '10.0.0.0/24 dev eth0 table 10000 proto 201 scope 253 src 10.0.0.2',
    'default via 10.0.0.1 dev eth0 table 10000 proto 201 src 10.0.0.2',
    'default via 10.1.0.1 dev eth1 table 10003 proto 201 src 10.1.0.2',
    'default via 10.2.0.1 dev eth2 table 20000 proto 201 src 10.2.0.2',
  ],
  rules: [
    '10000 from 10.0.0.2 lookup 10000 proto 201',
    '15000 oif eth0 lookup 10000 proto 201',
    '20000 to 10.0.0.0/24 lookup 10000 proto 201',
    '31000 lookup 10000 proto 201',
    '10000 from 10.1.0.2 lookup 10003 proto 201',
    '10000 from 10.2.0.2 lookup 20000 proto 201',
    '10000 from 10.9.0.2 lookup 10005 proto boot',
  ],
});

describe('the leases the kernel shows', () => {
  it('every table of ours in range with an interface and an address, complete or not', () => {
    expect(kernelLeases(kernel, config)).toEqual([
      { ifname: 'eth0', address: '10.0.0.2', family: 4, table: 10000, live: true },
      { ifname: 'eth1', address: '10.1.0.2', family: 4, table: 10003, live: true },
    ]);
  });

  it('claims what the store lacks, keeps what it has, reports a table another key holds', () => {
    const table = new LeaseTable(config);
    table.load([{ ifname: 'eth1', address: '10.1.0.2', addr_family: 4, table: 10003, lease_expires: NOW + 60 }]);
    const found = [...kernelLeases(kernel, config), { ifname: 'eth7', address: '10.7.0.2', family: 4 as const, table: 10003, live: false }];
    const { claimed, conflicts, dropped } = claimFromKernel(table, found, NOW);
    expect(dropped).toEqual([]);
    expect(claimed).toEqual([{ ifname: 'eth0', address: '10.0.0.2', addr_family: 4, table: 10000, lease_expires: NOW + config.leaseTime }]);
    expect(conflicts).toEqual([{ ifname: 'eth7', address: '10.7.0.2', family: 4, table: 10003, live: false }]);
    // the store's lease is untouched, and a new address gets neither table
    expect(table.list().find((l) => l.ifname === 'eth1')!.lease_expires).toBe(NOW + 60);
    const next = table.request({ ifname: 'eth5', address: '10.5.0.2', addr_family: 4 }, NOW);
    expect(next.ok && next.lease.table).toBe(10001);
  });

  it('a live address owns the table the kernel routes it through: the store lease giving it to another key is dropped', () => {
    // The store after a kill -9 in the deferred-write window: eth9's lease of
    // 10003 was released and eth1 got it in memory, the file still says eth9;
    // eth0's lease sits on another table than the kernel's.
    const table = new LeaseTable(config);
    table.load([
      { ifname: 'eth9', address: '10.9.0.2', addr_family: 4, table: 10003, lease_expires: NOW + 60 },
      { ifname: 'eth0', address: '10.0.0.2', addr_family: 4, table: 10001, lease_expires: NOW + 60 },
    ]);
    const { claimed, dropped, conflicts } = claimFromKernel(table, kernelLeases(kernel, config), NOW);
    expect(conflicts).toEqual([]);
    expect(dropped.map((l) => [l.ifname, l.table])).toEqual([['eth9', 10003]]);
    expect(claimed.map((l) => [l.ifname, l.table])).toEqual([['eth0', 10000], ['eth1', 10003]]);
    expect(table.list().map((l) => [l.ifname, l.table])).toEqual([['eth0', 10000], ['eth1', 10003]]);
    // eth9 comes back: a free table, not the one eth1 is routed through; 10001 (eth0's old lease) is free again
    const back = table.request({ ifname: 'eth9', address: '10.9.0.2', addr_family: 4 }, NOW);
    expect(back.ok && back.lease.table).toBe(10001);
  });

  it('tableTakenBy names the live owner of a table, never the asker, never a stale entry', () => {
    expect(tableTakenBy(kernel, config, 4, 10003, { ifname: 'eth9', address: '10.9.0.2' })).toEqual({ ifname: 'eth1', address: '10.1.0.2' });
    expect(tableTakenBy(kernel, config, 4, 10003, { ifname: 'eth1', address: '10.1.0.2' })).toBeUndefined();
    expect(tableTakenBy(kernel, config, 4, 10004, { ifname: 'eth9', address: '10.9.0.2' })).toBeUndefined();
    expect(tableTakenBy(kernel, config, 6, 10003, { ifname: 'eth9', address: '10.9.0.2' })).toBeUndefined();
    const gone = state({ links: [link(1, 'lo'), link(3, 'eth1')], rules: ['10000 from 10.1.0.2 lookup 10003 proto 201', '15000 oif eth1 lookup 10003 proto 201'] });
    expect(tableTakenBy(gone, config, 4, 10003, { ifname: 'eth9', address: '10.9.0.2' })).toBeUndefined();
  });

  it('an empty kernel claims nothing', () => {
    const table = new LeaseTable(config);
    expect(claimFromKernel(table, kernelLeases(state({ links: [link(1, 'lo')] }), config), NOW)).toEqual({ claimed: [], dropped: [], conflicts: [] });
    expect(table.size).toBe(0);
  });
});

describe('the allocator claims them before it listens', () => {
  const start = async (kernel: () => Promise<KernelLease[]>) => {
    const dir = tmp.dirSync({ prefix: 'mhr-claims-', unsafeCleanup: true });
    const lines: string[] = [];
    const service = await startAllocator({
      config: { ...config, storePath: join(dir.name, 'leases.json') },
      log: createLogger({ source: 'test', write: (l) => lines.push(l) }),
      now: () => NOW,
      kernelLeases: kernel,
    });
    return { dir, lines, service, stored: () => readFileSync(join(dir.name, 'leases.json'), 'utf8') };
  };

  it('claimed leases are held and on disk when the allocator is started (before the daemon listens)', async () => {
    const a = await start(async () => kernelLeases(kernel, config));
    try {
      expect(a.service.table.list().map((l) => [l.ifname, l.table])).toEqual([['eth0', 10000], ['eth1', 10003]]);
      expect(a.stored()).toContain('"address":"10.1.0.2"');
      expect(a.lines.join('\n')).toMatch(/lease claimed: .* ifname=eth1 address=10\.1\.0\.2 table=10003/);
      expect(a.lines.join('\n')).toMatch(/leases loaded .* leases=2 claimed_from_kernel=2/);
    } finally {
      await a.service.close();
      a.dir.removeCallback();
    }
  });

  it('a kernel that cannot be read: a warning, and the store alone decides', async () => {
    const a = await start(() => Promise.reject(new Error('ip: not found')));
    try {
      expect(a.service.table.size).toBe(0);
      expect(a.lines.join('\n')).toMatch(/warn: could not read which tables the kernel uses: leases come from the store alone error="?ip: not found/);
      const r = await a.service.serve({ version: 1, cmd: 'request', ifname: 'eth0', address: '10.0.0.2', addr_family: 4 });
      expect(r.table).toBe(10000);
    } finally {
      await a.service.close();
      a.dir.removeCallback();
    }
  });
});
