import { describe, expect, it } from 'vitest';
import type { WireLease } from '../../../lib/allocator/protocol.js';
import { parseInterfaceAddress } from '../../../lib/net/address.js';
import { reclaimUnused, type Absence } from '../../../lib/watch/reclaim.js';
import type { Action } from '../../../lib/watch/reconcile.js';
import { link, state } from '../plan/fake-kernel.js';

const NOW = 1_000_000;
const GRACE = 120;
const lease = (ifname: string, address: string, table: number, expires = NOW + 3600): WireLease => ({ ifname, address, addr_family: 4, table, lease_expires: expires });
const kernel = state({ links: [link(1, 'lo', '127.0.0.1/8'), link(2, 'eth0', '10.0.0.2/24')] });
const run = (leases: WireLease[], absent: Map<string, Absence> = new Map(), now = NOW, actions: Action[] = []) =>
  reclaimUnused({ state: kernel, leases, absent, actions, now, graceS: GRACE });

describe('leases nobody uses are released after lease_reclaim_grace', () => {
  it('a lease whose address is on its interface is never tracked', () => {
    expect(run([lease('eth0', '10.0.0.2', 10000)])).toEqual({ releases: [], absent: new Map() });
  });

  it('an absent address starts the wait, is kept within it and released once it has passed', () => {
    const stale = lease('eth0', '10.0.0.9', 10001);
    const first = run([stale]);
    expect(first.releases).toEqual([]);
    expect(first.absent.get('4|eth0|10.0.0.9')).toEqual({ since: NOW, expires: stale.lease_expires });
    expect(first.recheckInS).toBe(GRACE);
    const within = run([stale], first.absent, NOW + GRACE - 1);
    expect(within.releases).toEqual([]);
    expect(within.recheckInS).toBe(1);
    const after = run([stale], within.absent, NOW + GRACE);
    expect(after.releases).toEqual([{ kind: 'release', lease: stale, why: `address 10.0.0.9 has not been on eth0 for ${GRACE} s (lease_reclaim_grace ${GRACE} s)` }]);
    expect(after.absent.size).toBe(0);
  });

  it('a request for the lease (its expiry moved) starts the wait again: a hook about to add its address keeps it', () => {
    const stale = lease('eth0', '10.0.0.9', 10001);
    const first = run([stale]);
    const renewed = { ...stale, lease_expires: stale.lease_expires + 100 };
    const r = run([renewed], first.absent, NOW + GRACE);
    expect(r.releases).toEqual([]);
    expect(r.absent.get('4|eth0|10.0.0.9')).toEqual({ since: NOW + GRACE, expires: renewed.lease_expires });
  });

  it('leases the pass already decides (an address-down, an interface gone, a release) are left to those', () => {
    const down: Action = {
      kind: 'event',
      event: { kind: 'address-down', source: 'kernel', ifname: 'eth0', address: parseInterfaceAddress('10.0.0.9/24'), manageAddress: false },
      check: { kind: 'address-absent', ifname: 'eth0', address: '10.0.0.9' },
      why: 'gone',
    };
    const gone: Action = { kind: 'event', event: { kind: 'interface-gone', source: 'kernel', ifname: 'eth7' }, check: { kind: 'interface-absent', ifname: 'eth7' }, why: 'gone' };
    const old = new Map([['4|eth0|10.0.0.9', { since: 0, expires: NOW + 3600 }], ['4|eth7|10.7.0.2', { since: 0, expires: NOW + 3600 }]]);
    const r = run([lease('eth0', '10.0.0.9', 10001), lease('eth7', '10.7.0.2', 10002)], old, NOW, [down, gone]);
    expect(r).toEqual({ releases: [], absent: new Map() });
  });
});
