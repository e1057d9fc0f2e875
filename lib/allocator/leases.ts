// The allocator's state and rules, with no I/O: which (ifname, address,
// family) holds which table until when. The clock is passed in. The server
// persists and serves this; unit tests drive it directly.
//
// Rules: the same key gets its table back (expiry extended); a new key gets
// the lowest free table of its family in [tableMin, tableMax]; no two live
// leases of one family share a table; IPv4 and IPv6 allocate independently.
// Each operation is O(log n) (a min-heap of freed tables plus a watermark of
// tables never handed out); expiry is one O(n) sweep.

import type { Family } from '../net/address.js';
import type { WireLease } from './protocol.js';

export interface LeaseKeyText {
  ifname: string;
  /** Canonical address text (parseIp(..).text). */
  address: string;
  addr_family: Family;
}

export interface LeaseRules {
  tableMin: number;
  tableMax: number;
  /** Seconds a lease lives unless renewed. */
  leaseTime: number;
}

export type RequestOutcome =
  | { ok: true; lease: WireLease; isNew: boolean; expired: WireLease[] }
  | { ok: false; error: string; expired: WireLease[] };

/** Binary min-heap of table numbers. */
class MinHeap {
  private readonly items: number[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): number | undefined {
    return this.items[0];
  }
  push(x: number): void {
    const a = this.items;
    a.push(x);
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (a[p]! <= a[i]!) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }
  pop(): number | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length && last !== undefined) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]! < a[m]!) m = l;
        if (r < a.length && a[r]! < a[m]!) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}

/** The tables of one family: which are used, and the lowest free one. */
class TablePool {
  readonly used = new Set<number>();
  private readonly freed = new MinHeap();
  /** Every free table in range is >= next or in `freed`. */
  private next: number;
  constructor(private readonly min: number, private readonly max: number) {
    this.next = min;
  }
  /** Marks a table used (loading a store); false when it already is. */
  claim(table: number): boolean {
    if (this.used.has(table)) return false;
    this.used.add(table);
    return true;
  }
  /** Takes the lowest free table, or undefined when the range is full. */
  take(): number | undefined {
    while (this.freed.size && this.used.has(this.freed.peek()!)) this.freed.pop();
    while (this.next <= this.max && this.used.has(this.next)) this.next++;
    let table: number | undefined;
    if (this.freed.size) table = this.freed.pop();
    else if (this.next <= this.max) table = this.next++;
    if (table !== undefined) this.used.add(table);
    return table;
  }
  give(table: number): void {
    if (!this.used.delete(table)) return;
    // Tables outside the range (kept from a store written under another
    // config) are never handed out again.
    if (table >= this.min && table < this.next && table <= this.max) this.freed.push(table);
  }
}

const keyOf = (k: LeaseKeyText): string => `${k.addr_family}|${k.ifname}|${k.address}`;

export class LeaseTable {
  private readonly leases = new Map<string, WireLease>();
  private readonly pools: Record<Family, TablePool>;

  constructor(private readonly rules: LeaseRules) {
    this.pools = { 4: new TablePool(rules.tableMin, rules.tableMax), 6: new TablePool(rules.tableMin, rules.tableMax) };
  }

  get size(): number {
    return this.leases.size;
  }

  /**
   * Adds leases read from the store. Returns a description of each one
   * dropped because its key or its table was already taken.
   */
  load(leases: readonly WireLease[]): string[] {
    const problems: string[] = [];
    for (const lease of leases) {
      const key = keyOf(lease);
      if (this.leases.has(key)) {
        problems.push(`duplicate lease for ${lease.ifname} ${lease.address} dropped (table ${lease.table})`);
      } else if (!this.pools[lease.addr_family].claim(lease.table)) {
        problems.push(`lease for ${lease.ifname} ${lease.address} dropped: table ${lease.table} already leased (IPv${lease.addr_family})`);
      } else {
        this.leases.set(key, { ...lease });
      }
    }
    return problems;
  }

  /** Grants or renews the lease of `key`; `now` in unix seconds. */
  request(key: LeaseKeyText & { tag?: string }, now: number): RequestOutcome {
    const expires = now + this.rules.leaseTime;
    const existing = this.leases.get(keyOf(key));
    if (existing) {
      existing.lease_expires = expires;
      if (key.tag !== undefined) existing.tag = key.tag;
      return { ok: true, lease: { ...existing }, isNew: false, expired: [] };
    }
    const pool = this.pools[key.addr_family];
    let expired: WireLease[] = [];
    let table = pool.take();
    if (table === undefined) {
      expired = this.expire(now);
      table = pool.take();
    }
    if (table === undefined) {
      return {
        ok: false,
        error: `no free table in ${this.rules.tableMin}-${this.rules.tableMax} for IPv${key.addr_family}`,
        expired,
      };
    }
    const lease: WireLease = {
      ifname: key.ifname,
      address: key.address,
      addr_family: key.addr_family,
      table,
      lease_expires: expires,
    };
    if (key.tag !== undefined) lease.tag = key.tag;
    this.leases.set(keyOf(key), lease);
    return { ok: true, lease: { ...lease }, isNew: true, expired };
  }

  /**
   * Gives `key` exactly `table` when nobody holds that table (the kernel
   * already routes the address through it, e.g. after the store was lost):
   * the existing lease of the key is renewed instead; undefined when the
   * table is someone else's or outside the range.
   */
  claim(key: LeaseKeyText & { tag?: string }, table: number, now: number): WireLease | undefined {
    const existing = this.leases.get(keyOf(key));
    if (existing) return this.request(key, now).ok ? { ...existing } : undefined;
    if (table < this.rules.tableMin || table > this.rules.tableMax) return undefined;
    if (!this.pools[key.addr_family].claim(table)) return undefined;
    const lease: WireLease = { ifname: key.ifname, address: key.address, addr_family: key.addr_family, table, lease_expires: now + this.rules.leaseTime };
    if (key.tag !== undefined) lease.tag = key.tag;
    this.leases.set(keyOf(key), lease);
    return { ...lease };
  }

  /**
   * Gives `key` exactly `table` because the kernel routes the live address
   * through it (the kernel is the truth, kernel-claims.ts): whoever the
   * store says holds that table, and any other table of `key`, lose their
   * lease. Returns the new lease and the leases dropped; undefined when the
   * table is outside the range (never handed out, so never claimed).
   */
  reassign(key: LeaseKeyText, table: number, now: number): { lease: WireLease; dropped: WireLease[] } | undefined {
    if (table < this.rules.tableMin || table > this.rules.tableMax) return undefined;
    const dropped: WireLease[] = [];
    for (const [k, lease] of this.leases) {
      const holdsTable = lease.addr_family === key.addr_family && lease.table === table;
      if (holdsTable && k === keyOf(key)) {
        this.request(key, now); // already its: renewed
        return { lease: { ...lease }, dropped: [] };
      }
      if (holdsTable || k === keyOf(key)) dropped.push(lease);
    }
    for (const lease of dropped) this.release(lease);
    return { lease: this.claim(key, table, now)!, dropped };
  }

  /** The lease of `key`, if any (a copy). */
  get(key: LeaseKeyText): WireLease | undefined {
    const lease = this.leases.get(keyOf(key));
    return lease && { ...lease };
  }

  /** Ends the lease of `key`; returns it, or undefined when there was none. */
  release(key: LeaseKeyText): WireLease | undefined {
    const k = keyOf(key);
    const lease = this.leases.get(k);
    if (!lease) return undefined;
    this.leases.delete(k);
    this.pools[lease.addr_family].give(lease.table);
    return { ...lease };
  }

  /** Removes every lease that expired before `now`; returns them. */
  expire(now: number): WireLease[] {
    const gone: WireLease[] = [];
    for (const [k, lease] of this.leases) {
      if (lease.lease_expires <= now) {
        this.leases.delete(k);
        this.pools[lease.addr_family].give(lease.table);
        gone.push(lease);
      }
    }
    return gone;
  }

  /** All leases, by family then table. */
  list(): WireLease[] {
    return [...this.leases.values()]
      .map((l) => ({ ...l }))
      .sort((a, b) => a.addr_family - b.addr_family || a.table - b.table);
  }
}
