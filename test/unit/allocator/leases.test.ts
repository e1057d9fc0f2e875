import { describe, expect, it } from 'vitest';
import { LeaseTable, type LeaseKeyText } from '../../../lib/allocator/leases.js';

const rules = { tableMin: 100, tableMax: 104, leaseTime: 60 };
const v4 = (n: number, ifname = `eth${n}`): LeaseKeyText => ({ ifname, address: `192.0.2.${n}`, addr_family: 4 });
const v6 = (n: number, ifname = `eth${n}`): LeaseKeyText => ({ ifname, address: `2001:db8::${n}`, addr_family: 6 });
const tableOf = (t: LeaseTable, key: LeaseKeyText, now = 0) => {
  const r = t.request(key, now);
  return r.ok ? r.lease.table : 0;
};

describe('LeaseTable', () => {
  it('hands out the lowest free table, in order', () => {
    const t = new LeaseTable(rules);
    expect([1, 2, 3].map((n) => tableOf(t, v4(n)))).toEqual([100, 101, 102]);
  });

  it('gives the same key its table back and extends the expiry', () => {
    const t = new LeaseTable(rules);
    const first = t.request({ ...v4(1), tag: 'a' }, 1000);
    tableOf(t, v4(2), 1000);
    const again = t.request(v4(1), 1030);
    expect(first).toMatchObject({ ok: true, isNew: true, lease: { table: 100, lease_expires: 1060, tag: 'a' } });
    expect(again).toMatchObject({ ok: true, isNew: false, lease: { table: 100, lease_expires: 1090, tag: 'a' } });
    expect(t.size).toBe(2);
  });

  it('treats the same address on another interface as another lease (USB modems sharing 192.168.8.100)', () => {
    const t = new LeaseTable(rules);
    expect(tableOf(t, v4(1, 'usb0'))).toBe(100);
    expect(tableOf(t, v4(1, 'usb1'))).toBe(101);
  });

  it('allocates IPv4 and IPv6 independently', () => {
    const t = new LeaseTable(rules);
    expect(tableOf(t, v4(1))).toBe(100);
    expect(tableOf(t, v6(1))).toBe(100);
    expect(tableOf(t, v6(2))).toBe(101);
    expect(tableOf(t, v4(2))).toBe(101);
  });

  it('refuses when the range is exhausted, and serves again after a release', () => {
    const t = new LeaseTable(rules);
    for (let n = 1; n <= 5; n++) expect(tableOf(t, v4(n))).toBe(99 + n);
    const full = t.request(v4(6), 0);
    expect(full).toMatchObject({ ok: false, error: 'no free table in 100-104 for IPv4' });
    expect(tableOf(t, v6(6))).toBe(100); // the other family is not affected
    expect(t.release(v4(3))).toMatchObject({ table: 102 });
    expect(t.release(v4(3))).toBeUndefined();
    expect(tableOf(t, v4(6))).toBe(102);
  });

  it('reuses the lowest released table first', () => {
    const t = new LeaseTable(rules);
    for (let n = 1; n <= 4; n++) tableOf(t, v4(n));
    t.release(v4(3));
    t.release(v4(1));
    expect([tableOf(t, v4(7)), tableOf(t, v4(8)), tableOf(t, v4(9))]).toEqual([100, 102, 104]);
  });

  it('expires leases nobody renewed, and only those', () => {
    const t = new LeaseTable(rules);
    tableOf(t, v4(1), 0); // expires 60
    tableOf(t, v4(2), 30); // expires 90
    tableOf(t, v4(1), 50); // renewed: expires 110
    expect(t.expire(90).map((l) => l.ifname)).toEqual(['eth2']);
    expect(t.list().map((l) => [l.ifname, l.table])).toEqual([['eth1', 100]]);
    expect(tableOf(t, v4(3), 90)).toBe(101);
  });

  it('reclaims expired leases when the range is full instead of refusing', () => {
    const t = new LeaseTable(rules);
    for (let n = 1; n <= 5; n++) tableOf(t, v4(n), n); // eth1 expires first (61)
    const r = t.request(v4(6), 61);
    expect(r).toMatchObject({ ok: true, lease: { table: 100 } });
    expect(r.expired.map((l) => l.ifname)).toEqual(['eth1']);
  });

  it('never gives one table to two live leases of a family (randomised)', () => {
    const t = new LeaseTable({ tableMin: 1000, tableMax: 1049, leaseTime: 10 });
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    for (let step = 0; step < 5000; step++) {
      const key = rand(2) ? v4(rand(80)) : v6(rand(80));
      const op = rand(10);
      if (op < 6) t.request(key, step);
      else if (op < 9) t.release(key);
      else t.expire(step);
      const live = t.list();
      for (const family of [4, 6]) {
        const tables = live.filter((l) => l.addr_family === family).map((l) => l.table);
        expect(new Set(tables).size).toBe(tables.length);
        expect(tables.every((x) => x >= 1000 && x <= 1049)).toBe(true);
      }
    }
  });

  it('loads stored leases, keeps their tables, and reports conflicts', () => {
    const t = new LeaseTable(rules);
    const problems = t.load([
      { ...v4(1), table: 101, lease_expires: 100 },
      { ...v4(2), table: 101, lease_expires: 100 },
      { ...v4(1), table: 103, lease_expires: 100 },
      { ...v4(3), table: 9999, lease_expires: 100 }, // outside today's range: kept
    ]);
    expect(problems).toEqual([
      'lease for eth2 192.0.2.2 dropped: table 101 already leased (IPv4)',
      'duplicate lease for eth1 192.0.2.1 dropped (table 103)',
    ]);
    expect(tableOf(t, v4(1))).toBe(101);
    expect(tableOf(t, v4(3))).toBe(9999);
    expect([tableOf(t, v4(4)), tableOf(t, v4(5))]).toEqual([100, 102]);
    t.release(v4(3)); // 9999 is never handed out again
    expect([tableOf(t, v4(6)), tableOf(t, v4(7)), tableOf(t, v4(8))]).toEqual([103, 104, 0]);
  });

  it('stays fast with a large range (no per-table scans)', () => {
    const t = new LeaseTable({ tableMin: 1, tableMax: 4_000_000_000, leaseTime: 10 });
    const started = performance.now();
    for (let n = 0; n < 20_000; n++) t.request({ ifname: 'e', address: `10.0.${n >> 8}.${n & 255}`, addr_family: 4 }, 0);
    for (let n = 0; n < 20_000; n += 2) t.release({ ifname: 'e', address: `10.0.${n >> 8}.${n & 255}`, addr_family: 4 });
    expect(tableOf(t, { ifname: 'x', address: '10.9.9.9', addr_family: 4 })).toBe(1);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
