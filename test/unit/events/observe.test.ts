import { describe, expect, test } from 'vitest';
import { diff, type Managed, type Snapshot } from '../../../lib/events/observe.js';
import { createEmitter } from '../../../lib/events/emitter.js';
import { eventEnv, formatEvent } from '../../../lib/events/event.js';

const m = (ifname: string, address: string, table: number, rank?: number): Managed => ({ family: 4, ifname, address, table, ...(rank !== undefined ? { rank } : {}) });
const snap = (list: Managed[], top?: string, degraded: [string, string | undefined][] = []): Snapshot => ({
  managed: new Map(list.map((x) => [`4|${x.ifname}|${x.address}`, x])),
  degraded: new Map(degraded),
  top: new Map(top ? [[4, top]] : []),
});
const types = (events: { type: string; iface?: string }[]) => events.map((e) => `${e.type} ${e.iface ?? ''}`.trim());

describe('diff of two snapshots', () => {
  const a = m('eth0', '10.0.0.2', 10000, 0);
  const b = m('eth1', '10.1.0.2', 10001, 1);
  test('a new address, then the band\'s first uplink', () => {
    expect(types(diff(snap([]), snap([a], '4|eth0|10.0.0.2')))).toEqual(['address-configured eth0', 'uplink-changed eth0']);
  });
  test('adopted when the watcher said so', () => {
    expect(types(diff(snap([a]), snap([a, b]), new Set(['4|eth1|10.1.0.2'])))).toEqual(['address-adopted eth1']);
  });
  test('failover names both uplinks; nothing left says so', () => {
    const out = diff(snap([a, b], '4|eth0|10.0.0.2'), snap([a, b], '4|eth1|10.1.0.2'));
    expect(out).toEqual([{ type: 'uplink-changed', iface: 'eth1', family: 4, address: '10.1.0.2', table: 10001, rank: 1, reason: 'unbound IPv4 traffic now via eth1 (was eth0)' }]);
    expect(diff(snap([b], '4|eth1|10.1.0.2'), snap([]))).toMatchObject([{ type: 'address-removed', iface: 'eth1' }, { type: 'uplink-changed', reason: 'no uplink carries unbound IPv4 traffic (was eth1)' }]);
  });
  test('a degraded address, once', () => {
    const d: [string, string | undefined][] = [['4|10.2.0.2', 'eth2']];
    expect(diff(snap([]), snap([], undefined, d))).toMatchObject([{ type: 'address-degraded', iface: 'eth2', address: '10.2.0.2' }]);
    expect(diff(snap([], undefined, d), snap([], undefined, d))).toEqual([]);
  });
  test('same state: no events', () => {
    expect(diff(snap([a, b], '4|eth0|10.0.0.2'), snap([a, b], '4|eth0|10.0.0.2'))).toEqual([]);
  });
});

describe('emitter', () => {
  test('keeps the last N in order and hands each to subscribers; a throwing one harms nobody', () => {
    let t = 0;
    const em = createEmitter(3, () => ++t);
    const got: string[] = [];
    em.subscribe(() => { throw new Error('x'); });
    const off = em.subscribe((e) => got.push(e.reason));
    for (const r of ['a', 'b', 'c', 'd']) em.emit({ type: 'daemon-started', reason: r });
    off();
    em.emit({ type: 'daemon-stopping', reason: 'e' });
    expect(em.recent().map((e) => e.reason)).toEqual(['c', 'd', 'e']);
    expect(got).toEqual(['a', 'b', 'c', 'd']);
    expect(em.emitted).toBe(5);
  });
  test('variables and the readable line', () => {
    const e = { type: 'health-down' as const, time: 0, iface: 'eth0', family: 4 as const, address: '10.0.0.2', table: 10000, reason: '3 rounds lost' };
    expect(eventEnv(e)).toEqual({ MHR_EVENT: 'health-down', MHR_TIME: '1970-01-01T00:00:00.000Z', MHR_IFACE: 'eth0', MHR_FAMILY: '4', MHR_ADDRESS: '10.0.0.2', MHR_TABLE: '10000', MHR_RANK: '', MHR_REASON: '3 rounds lost' });
    expect(formatEvent(e)).toBe('1970-01-01T00:00:00.000Z health-down eth0 IPv4 10.0.0.2 table 10000: 3 rounds lost');
  });
});
