import { describe, expect, it } from 'vitest';
import type { WireLease } from '../../../lib/allocator/protocol.js';
import { parseConfig } from '../../../lib/config/parse.js';
import { parseInterfaceAddress } from '../../../lib/net/address.js';
import { isSlaacAddress, raGateways } from '../../../lib/plan/ra.js';
import type { KernelState, Link } from '../../../lib/state/types.js';
import { checkFails, reconcile, type WatchMemory } from '../../../lib/watch/reconcile.js';
import type { Snapshot } from '../../../lib/state/records.js';
import { link, state } from '../plan/fake-kernel.js';

const config = parseConfig('');
const NOW = 1_000_000;
const empty = (): WatchMemory => ({ held: new Set(), snapshots: new Map() });
const lease = (ifname: string, address: string, table: number, left = 3600, family: 4 | 6 = 4): WireLease => ({ ifname, address, addr_family: family, table, lease_expires: NOW + left });

// eth0 10.0.0.2/24 managed in table 10000 (complete), eth1 10.1.0.2/24 in 10001.
const rules = (a: string, p: string, dev: string, t: number, rank: number) => [
  `10000 from ${a} lookup ${t} proto 201`, `15000 oif ${dev} lookup ${t} proto 201`, `20000 to ${p} lookup ${t} proto 201`, `${31000 + rank} lookup ${t} proto 201`,
];
const routes = (a: string, p: string, gw: string, dev: string, t: number) => [
  `${p} dev ${dev} table ${t} proto 201 scope 253 src ${a}`, `default via ${gw} dev ${dev} table ${t} proto 201 src ${a}`,
];
// main's suppress rule, one per family (a family without a table does not mind one).
const SUPPRESS = ['30000 lookup main suppress_prefixlength 0 proto 201', '-6 30000 lookup main suppress_prefixlength 0 proto 201'];
const host = (over: { links?: Link[]; routes?: string[]; rules?: string[] } = {}): KernelState =>
  state({
    links: over.links ?? [link(1, 'lo', '127.0.0.1/8'), link(2, 'eth0', '10.0.0.2/24'), link(3, 'eth1', '10.1.0.2/24')],
    routes: over.routes ?? [...routes('10.0.0.2', '10.0.0.0/24', '10.0.0.1', 'eth0', 10000), ...routes('10.1.0.2', '10.1.0.0/24', '10.1.0.1', 'eth1', 10001)],
    rules: [...(over.rules ?? [...rules('10.0.0.2', '10.0.0.0/24', 'eth0', 10000, 0), ...rules('10.1.0.2', '10.1.0.0/24', 'eth1', 10001, 1)]), ...SUPPRESS],
  });
const leases = [lease('eth0', '10.0.0.2', 10000), lease('eth1', '10.1.0.2', 10001)];
const run = (s: KernelState, ls = leases, memory = empty(), records?: Snapshot[]) =>
  reconcile({ state: s, leases: ls, config, memory, now: NOW, manageSlaac: true, ...(records ? { records } : {}) });
const summary = (r: ReturnType<typeof run>) =>
  r.actions.map((a) => (a.kind === 'event' ? `${a.event.kind} ${a.event.ifname}${a.event.kind !== 'interface-gone' ? ` ${a.event.address.address.text}` : ''}` : `${a.kind} ${'lease' in a ? a.lease.ifname : a.ifname}`));

describe('reconcile', () => {
  it('a converged host needs nothing; present addresses are held', () => {
    const r = run(host());
    expect(r.actions).toEqual([]);
    expect([...r.memory.held].sort()).toEqual(['4|eth0|10.0.0.2', '4|eth1|10.1.0.2']);
    expect(r.memory.snapshots.get('4|eth1|10.1.0.2')).toMatchObject({ table: 10001, gateways: ['10.1.0.1'], address: '10.1.0.2/24', keepMain: false });
  });

  it('interface gone → one interface-gone, checked under the lock', () => {
    const s = host({ links: [link(2, 'eth0', '10.0.0.2/24')], routes: routes('10.0.0.2', '10.0.0.0/24', '10.0.0.1', 'eth0', 10000) });
    const r = run(s);
    expect(summary(r)).toEqual(['interface-gone eth1']);
    const a = r.actions[0]!;
    expect(a.kind === 'event' && checkFails(a.check, s, config)).toBeUndefined();
    expect(a.kind === 'event' && checkFails(a.check, host(), config)).toMatch(/exists again/);
  });

  it('address deleted → address-down with its prefix; not when it is back', () => {
    const s = host({ links: [link(2, 'eth0', '10.0.0.2/24'), link(3, 'eth1')] });
    const r = run(s);
    expect(summary(r)).toEqual(['address-down eth1 10.1.0.2']);
    const a = r.actions[0]!;
    expect(a.kind === 'event' && a.event.kind === 'address-down' && a.event.address.prefix.text).toBe('10.1.0.0/24');
    expect(a.kind === 'event' && checkFails(a.check, host(), config)).toMatch(/back on eth1/);
  });

  it('table flushed by link down/up → address-up rebuilt from the snapshot (or the hook\'s record), not while down', () => {
    const first = run(host());
    const flushed = host({ routes: routes('10.0.0.2', '10.0.0.0/24', '10.0.0.1', 'eth0', 10000) });
    const r = run(flushed, leases, first.memory);
    expect(summary(r)).toEqual(['address-up eth1 10.1.0.2']);
    const a = r.actions[0]!;
    expect(a.kind === 'event' && a.event.kind === 'address-up' && a.event.gateways.map((g) => g.text)).toEqual(['10.1.0.1']);
    expect(a.kind === 'event' && a.event.source).toBe('ifupdown');
    const down = { ...flushed, links: flushed.links.map((l) => (l.ifname === 'eth1' ? { ...l, up: false } : l)) };
    expect(run(down, leases, first.memory).actions).toEqual([]);
    // a fresh daemon has no snapshot, the hook's record serves
    const record: Snapshot = { ifname: 'eth1', family: 4, address: '10.1.0.2/24', table: 10001, gateways: ['10.1.0.9'], routes: [], keepMain: true, slaac: false };
    const fromRecord = run(flushed, leases, empty(), [record]).actions[0]!;
    expect(fromRecord.kind === 'event' && fromRecord.event.kind === 'address-up' && [fromRecord.event.source, fromRecord.event.gateways[0]!.text]).toEqual(['NetworkManager', '10.1.0.9']);
    expect(run(flushed, leases, empty()).actions).toEqual([]); // nothing known: not invented
  });

  it('leases: renewed past half-life, released when a held address went without an entry, left to expiry when never held', () => {
    const ls = [lease('eth0', '10.0.0.2', 10000, 1000), lease('eth1', '10.1.0.2', 10001), lease('eth9', '10.9.0.2', 10009), lease('eth8', '10.8.0.2', 10008)];
    const memory = empty();
    memory.held.add('4|eth9|10.9.0.2');
    expect(summary(run(host(), ls, memory))).toEqual(['renew eth0', 'release eth9']);
  });

  it('an entry the lease store does not know claims its table', () => {
    expect(summary(run(host(), [leases[0]!]))).toEqual(['claim eth1']);
  });

  it('SLAAC address → address-up (kernel) with the RA default; again when the routers change; expired RA routes do not count', () => {
    const slaac = { address: parseInterfaceAddress('2001:db8:1::5/64'), scope: 0, flags: ['dynamic', 'mngtmpaddr'], validLifetime: 100 };
    const eth0: Link = { ...link(2, 'eth0'), addresses: [slaac, { address: parseInterfaceAddress('2001:db8:1::77/128'), scope: 0, flags: ['dynamic'] }] };
    const ra = ['default via fe80::1 dev eth0 proto 9 metric 1024'];
    const s = state({ links: [eth0], routes: ra });
    s.routes[0]!.expires = 10;
    expect(isSlaacAddress(eth0.addresses[1]!)).toBe(false); // dhclient's DHCPv6 /128
    const r = reconcile({ state: s, leases: [], config, memory: empty(), now: NOW, manageSlaac: true });
    expect(summary(r)).toEqual(['address-up eth0 2001:db8:1::5']);
    const a = r.actions[0]!;
    expect(a.kind === 'event' && a.event.kind === 'address-up' && [a.event.source, a.event.gateways.map((g) => g.text)]).toEqual(['kernel', ['fe80::1']]);
    expect(r.recheckInS).toBe(10);
    s.routes[0]!.expires = -3;
    expect(raGateways(s, 'eth0')).toEqual([]);
    expect(reconcile({ state: s, leases: [], config, memory: empty(), now: NOW, manageSlaac: false }).actions).toEqual([]);
    // managed, routers changed: the table's default goes
    const managed = state({
      links: [eth0],
      routes: [...ra, '2001:db8:1::/64 dev eth0 table 10000 proto 201 src 2001:db8:1::5 metric 1024', 'default via fe80::1 dev eth0 table 10000 proto 201 src 2001:db8:1::5 metric 1024'],
      rules: ['-6 10000 from 2001:db8:1::5 lookup 10000 proto 201', '-6 15000 oif eth0 lookup 10000 proto 201', '-6 20000 to 2001:db8:1::/64 lookup 10000 proto 201', '-6 31000 lookup 10000 proto 201', SUPPRESS[1]!],
    });
    managed.routes[0]!.expires = 0;
    const again = reconcile({ state: managed, leases: [lease('eth0', '2001:db8:1::5', 10000, 3600, 6)], config, memory: empty(), now: NOW, manageSlaac: true });
    expect(summary(again)).toEqual(['address-up eth0 2001:db8:1::5']);
    expect(again.actions[0]!.kind === 'event' && again.actions[0]!.why).toMatch(/routers changed \(none\)/);
  });

  it("main's suppress rule missing: every address of the family is planned again (its event adds the rule)", () => {
    const s = host();
    s.rules = s.rules.filter((r) => !(r.family === 4 && r.suppressPrefixLength === 0));
    const memory = run(host()).memory;
    expect(summary(run(s, leases, memory))).toEqual(['address-up eth0 10.0.0.2', 'address-up eth1 10.1.0.2']);
  });

  it('band rules of an older version (`iif lo` at 91000+): planned again on the first pass, from the hooks\' records after a restart', () => {
    const old = host({ rules: [...rules('10.0.0.2', '10.0.0.0/24', 'eth0', 10000, 0), ...rules('10.1.0.2', '10.1.0.0/24', 'eth1', 10001, 1)].map((r) => r.replace(/^3100(\d) /, '9100$1 iif lo ')) });
    expect(old.rules.filter((r) => r.iif === 'lo').map((r) => r.priority)).toEqual([91000, 91001]);
    const records = [...run(host()).memory.snapshots.values()];
    const r = run(old, leases, empty(), records);
    expect(summary(r)).toEqual(['address-up eth0 10.0.0.2', 'address-up eth1 10.1.0.2']);
    expect(r.actions[0]!.kind === 'event' && r.actions[0]!.why).toMatch(/old `iif lo` one/);
  });

  it('an old SLAAC band rule with no snapshot (daemon restart): planned again from the address and the RA', () => {
    const slaac = { address: parseInterfaceAddress('2001:db8:1::5/64'), scope: 0, flags: ['dynamic', 'mngtmpaddr'], validLifetime: 100 };
    const eth0: Link = { ...link(2, 'eth0'), addresses: [slaac] };
    const s = state({
      links: [eth0],
      routes: ['default via fe80::1 dev eth0 proto 9 metric 1024', '2001:db8:1::/64 dev eth0 table 10000 proto 201 src 2001:db8:1::5 metric 1024', 'default via fe80::1 dev eth0 table 10000 proto 201 src 2001:db8:1::5 metric 1024'],
      rules: ['-6 10000 from 2001:db8:1::5 lookup 10000 proto 201', '-6 15000 oif eth0 lookup 10000 proto 201', '-6 20000 to 2001:db8:1::/64 lookup 10000 proto 201', '-6 91000 iif lo lookup 10000 proto 201'],
    });
    const r = reconcile({ state: s, leases: [lease('eth0', '2001:db8:1::5', 10000, 3600, 6)], config, memory: empty(), now: NOW, manageSlaac: true });
    expect(summary(r)).toEqual(['address-up eth0 2001:db8:1::5']);
    expect(r.actions[0]!.kind === 'event' && r.actions[0]!.event.kind === 'address-up' && r.actions[0]!.event.gateways.map((g) => g.text)).toEqual(['fe80::1']);
  });
});
