import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lib/config/parse.js';
import { parseInterfaceAddress } from '../../../lib/net/address.js';
import type { KernelState, Link } from '../../../lib/state/types.js';
import { kernelGateways } from '../../../lib/watch/adopt.js';
import { checkFails, reconcile, type WatchMemory } from '../../../lib/watch/reconcile.js';
import { link, state } from '../plan/fake-kernel.js';

const config = parseConfig('');
const NOW = 1_000_000;
const empty = (): WatchMemory => ({ held: new Set(), snapshots: new Map() });
const pass = (s: KernelState, memory: WatchMemory, nowMs: number, takeOver = false, manageSlaac = true) =>
  reconcile({ state: s, leases: [], config, memory, now: NOW, manageSlaac, adopt: { nowMs, takeOver } });
const adopted = (r: ReturnType<typeof pass>) =>
  r.actions.flatMap((a) => (a.kind === 'event' && a.event.kind === 'address-up' && a.event.adopted ? [`${a.event.ifname} ${a.event.address.address.text} via ${a.event.gateways.map((g) => g.text).join(',') || '-'}`] : []));

// eth1 got 10.1.0.7/24 from somewhere (NetworkManager, networkd, by hand); main has its default via 10.1.0.1.
const main = ['default via 10.1.0.1 dev eth1 proto 16 metric 600', 'default via 10.1.0.254 dev eth1 proto 3 metric 100', 'default via 10.2.0.1 dev eth2 proto 3', '10.1.0.0/24 dev eth1 proto 2 scope 253 src 10.1.0.7'];
const host = (links: Link[] = [link(1, 'lo', '127.0.0.1/8'), link(3, 'eth1', '10.1.0.7/24')], routes = main) => state({ links, routes });

describe('adoption', () => {
  it('waits adopt_grace_ms for a hook, then adopts with main\'s default routers of that interface, best metric first', () => {
    const first = pass(host(), empty(), 0);
    expect(first.actions).toEqual([]);
    expect(first.adoptInMs).toBe(2000);
    const early = pass(host(), first.memory, 1500);
    expect(adopted(early)).toEqual([]);
    expect(early.adoptInMs).toBe(500);
    const due = pass(host(), early.memory, 2000);
    expect(adopted(due)).toEqual(['eth1 10.1.0.7 via 10.1.0.254,10.1.0.1']);
    const a = due.actions[0]!;
    expect(a.kind === 'event' && a.event.kind === 'address-up' && [a.event.source, a.event.manageAddress, a.event.adopted]).toEqual(['kernel', false, 'no hook reported it within 2000 ms: adopted']);
    // Checked again under the routing lock: gone, or a hook made it complete meanwhile.
    expect(a.kind === 'event' && checkFails(a.check, host([link(3, 'eth1')]), config)).toMatch(/no longer on eth1/);
  });

  it('the daemon\'s first pass takes over what is present without waiting', () => {
    const r = pass(host(), empty(), 0, true);
    expect(adopted(r)).toEqual(['eth1 10.1.0.7 via 10.1.0.254,10.1.0.1']);
    const a = r.actions[0]!;
    expect(a.kind === 'event' && a.event.kind === 'address-up' && a.event.adopted).toMatch(/present when the daemon started/);
  });

  it('adopt_grace_ms = 0 adopts in the pass that sees the address', () => {
    const r = reconcile({ state: host(), leases: [], config: { ...config, adoptGraceMs: 0 }, memory: empty(), now: NOW, manageSlaac: true, adopt: { nowMs: 5, takeOver: false } });
    expect(adopted(r)).toEqual(['eth1 10.1.0.7 via 10.1.0.254,10.1.0.1']);
  });

  it('not adopted: ignored, down or carrier-less interfaces, names a hook would refuse, link-local, tentative, deprecated, privacy and SLAAC addresses', () => {
    const v6 = (text: string, flags: string[], scope = 0) => ({ address: parseInterfaceAddress(text), scope, flags });
    const links: Link[] = [
      link(2, 'docker0', '172.17.0.1/16'),
      link(3, 'veth12ab', '10.9.0.1/24'),
      { ...link(4, 'eth2', '10.2.0.5/24'), carrier: false },
      { ...link(5, 'eth3', '10.3.0.5/24'), up: false },
      link(6, 'x$(reboot)', '10.4.0.5/24'),
      link(7, 'eth4', '169.254.7.7/16'),
      link(9, 'ppp0', '10.64.64.1/32'), // no default router: nothing to put in a table
      {
        ...link(8, 'eth5'),
        addresses: [
          v6('fe80::5/64', [], 253),
          v6('2001:db8:5::1/64', ['tentative']),
          v6('2001:db8:5::2/64', ['dadfailed']),
          v6('2001:db8:5::3/64', ['deprecated']),
          v6('2001:db8:5::4/64', ['temporary', 'dynamic']),
          v6('2001:db8:5::5/64', ['dynamic', 'mngtmpaddr']), // SLAAC: the SLAAC path's (off here)
        ],
      },
    ];
    const r = pass(state({ links }), empty(), 0, true, false);
    expect(r.actions).toEqual([]);
    expect(r.adoptInMs).toBeUndefined();
  });

  it('a DHCPv6 /128 and a hand-added IPv6 address are adopted with the RA routers and other defaults of the interface', () => {
    const eth1: Link = { ...link(3, 'eth1'), addresses: [{ address: parseInterfaceAddress('2001:db8:1::77/128'), scope: 0, flags: ['dynamic'] }, { address: parseInterfaceAddress('2001:db8:1::9/64'), scope: 0, flags: [] }] };
    const s = state({ links: [eth1], routes: ['default via fe80::1 dev eth1 proto 9 metric 1024', 'default via fe80::2 dev eth1 proto 9 metric 1024'] });
    expect(adopted(pass(s, empty(), 0, true))).toEqual(['eth1 2001:db8:1::77 via fe80::1,fe80::2', 'eth1 2001:db8:1::9 via fe80::1,fe80::2']);
    s.routes[1]!.expires = 0; // an expired RA route no longer counts
    expect(kernelGateways(s, 'eth1', 6, config.protocol).map((g) => g.text)).toEqual(['fe80::1']);
  });

  it('an address whose entry went while it stayed (a hook took it down) is left alone until it goes and comes back', () => {
    const entry = state({
      links: [link(3, 'eth1', '10.1.0.7/24')],
      routes: [...main, '10.1.0.0/24 dev eth1 table 10001 proto 201 scope 253 src 10.1.0.7', 'default via 10.1.0.1 dev eth1 table 10001 proto 201 src 10.1.0.7'],
      rules: ['10000 from 10.1.0.7 lookup 10001 proto 201', '15000 oif eth1 lookup 10001 proto 201', '20000 to 10.1.0.0/24 lookup 10001 proto 201', '31000 lookup 10001 proto 201', '30000 lookup main suppress_prefixlength 0 proto 201'],
    });
    const managed = pass(entry, empty(), 0, true);
    expect(adopted(managed)).toEqual([]);
    let memory = pass(host(), managed.memory, 100).memory; // the hook's down event removed the entry
    for (const t of [5000, 60_000]) {
      const r = pass(host(), memory, t);
      expect(r.actions).toEqual([]);
      memory = r.memory;
    }
    memory = pass(host([link(3, 'eth1')]), memory, 61_000).memory; // the address went
    const back = pass(host(), memory, 62_000);
    expect(back.actions).toEqual([]);
    expect(adopted(pass(host(), back.memory, 64_000))).toEqual(['eth1 10.1.0.7 via 10.1.0.254,10.1.0.1']);
  });

  it('an adopted entry follows main\'s default routers of its interface; a hook\'s entry does not', () => {
    const table = ['10.1.0.0/24 dev eth1 table 10001 proto 201 scope 253 src 10.1.0.7', 'default via 10.1.0.1 dev eth1 table 10001 proto 201 src 10.1.0.7'];
    const rules = ['10000 from 10.1.0.7 lookup 10001 proto 201', '15000 oif eth1 lookup 10001 proto 201', '20000 to 10.1.0.0/24 lookup 10001 proto 201', '31000 lookup 10001 proto 201', '30000 lookup main suppress_prefixlength 0 proto 201'];
    const s = (mainDefault: string) => state({ links: [link(3, 'eth1', '10.1.0.7/24')], routes: [...table, mainDefault], rules });
    const record = (adopted?: string) => ({ ifname: 'eth1', family: 4 as const, address: '10.1.0.7/24', table: 10001, gateways: ['10.1.0.1'], routes: [], keepMain: false, slaac: false, ...(adopted ? { adopted } : {}) });
    const run = (st: KernelState, adopted?: string) =>
      reconcile({ state: st, leases: [], config, memory: empty(), records: [record(adopted)], now: NOW, manageSlaac: true, adopt: { nowMs: 0, takeOver: false } }).actions.filter((a) => a.kind === 'event');
    expect(run(s('default via 10.1.0.1 dev eth1 proto 16 metric 600'), 'taken over')).toEqual([]);
    const moved = run(s('default via 10.1.0.9 dev eth1 proto 16 metric 600'), 'taken over');
    expect(moved.map((a) => a.kind === 'event' && a.event.kind === 'address-up' && [a.why, a.check.kind, a.event.gateways.map((g) => g.text), a.event.adopted])).toEqual([
      ["main's default routers of eth1 changed (10.1.0.9)", 'address-present', ['10.1.0.9'], 'taken over'],
    ]);
    expect(run(s('default via 10.1.0.9 dev eth1 proto 16 metric 600'))).toEqual([]); // the hook's: its events decide
  });

  it('a degraded address (a hook without a table lease) is taken over with its fallback\'s gateway and routes, and keeps them once the fallback is gone', () => {
    // What the ifupdown hook working alone left (lib/plan/specs.ts, fallback): metric = ifindex, our protocol, source A; no record.
    const fallback = ['10.1.0.0/24 dev eth1 proto 201 scope 253 src 10.1.0.7 metric 3', 'default via 10.1.0.1 dev eth1 proto 201 src 10.1.0.7 metric 3', '10.77.0.0/16 via 10.1.0.5 dev eth1 proto 201 src 10.1.0.7 metric 3'];
    const other = 'default via 10.1.0.254 dev eth1 proto 3 metric 100'; // main's own router of eth1, not the hook's
    const degraded = state({ links: [link(3, 'eth1', '10.1.0.7/24')], routes: [...fallback, other], rules: ['10000 from 10.1.0.7 lookup main proto 201'] });
    const r = pass(degraded, empty(), 0, true);
    expect(adopted(r)).toEqual(['eth1 10.1.0.7 via 10.1.0.1']);
    const e = r.actions[0]!.kind === 'event' ? r.actions[0]!.event : undefined;
    expect(e?.kind === 'address-up' && [e.fromFallback, e.routes.map((x) => `${x.destination.network.text}/${x.destination.length} via ${x.gateway?.text}`)]).toEqual([true, ['10.77.0.0/16 via 10.1.0.5']]);
    expect(r.actions[0]!.kind === 'event' && r.actions[0]!.why).toMatch(/gateways from its hook's fallback in main: 10\.1\.0\.1\)$/);
    // An address that merely shares the interface: main's routers, never a fallback of ours.
    expect(kernelGateways(degraded, 'eth1', 4, config.protocol).map((g) => g.text)).toEqual(['10.1.0.254']);

    // Its table built, the fallback gone: main's routers of eth1 (10.1.0.254, or none) are not the entry's to follow.
    const table = ['10.1.0.0/24 dev eth1 table 10001 proto 201 scope 253 src 10.1.0.7', 'default via 10.1.0.1 dev eth1 table 10001 proto 201 src 10.1.0.7'];
    const rules = ['10000 from 10.1.0.7 lookup 10001 proto 201', '15000 oif eth1 lookup 10001 proto 201', '20000 to 10.1.0.0/24 lookup 10001 proto 201', '31000 lookup 10001 proto 201', '30000 lookup main suppress_prefixlength 0 proto 201'];
    const record = { ifname: 'eth1', family: 4 as const, address: '10.1.0.7/24', table: 10001, gateways: ['10.1.0.1'], routes: [], keepMain: false, slaac: false, adopted: 'taken over' };
    for (const main of [[], [other]]) {
      const s = state({ links: [link(3, 'eth1', '10.1.0.7/24')], routes: [...table, ...main], rules });
      const run = (fromFallback: boolean) =>
        reconcile({ state: s, leases: [], config, memory: empty(), records: [{ ...record, ...(fromFallback ? { fromFallback } : {}) }], now: NOW, manageSlaac: true, adopt: { nowMs: 0, takeOver: false } }).actions.filter((a) => a.kind === 'event').map((a) => a.why);
      expect(run(true)).toEqual([]);
      expect(run(false)).toEqual([`main's default routers of eth1 changed (${main.length ? '10.1.0.254' : 'none'})`]); // an ordinary adoption follows main
    }
  });

  it('adoption off (no adopt input): nothing waits, nothing is adopted', () => {
    const r = reconcile({ state: host(), leases: [], config, memory: empty(), now: NOW, manageSlaac: true });
    expect(r.actions).toEqual([]);
    expect(r.adoptInMs).toBeUndefined();
  });
});
