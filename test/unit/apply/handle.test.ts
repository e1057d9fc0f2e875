import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TableAllocator } from '../../../lib/apply/allocator.js';
import { familiesRead, handleEvent } from '../../../lib/apply/handle.js';
import { parseConfig } from '../../../lib/config/parse.js';
import type { IpChannel, IpTable } from '../../../lib/exec/ip-channel.js';
import { CommandError } from '../../../lib/exec/run.js';
import { createLogger } from '../../../lib/log/log.js';
import { parseInterfaceAddress, parseIp, type Family, type IpAddress } from '../../../lib/net/address.js';
import type { RoutingEvent } from '../../../lib/plan/event.js';

// handleEvent with its side effects injected: kernel state from the recorded
// fixtures (served by a fake ip channel that records the batches it is asked
// to apply), a fake allocator.

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/state/${name}`, import.meta.url), 'utf8').trim();
const linksOnly = JSON.stringify((JSON.parse(fixture('addr.json')) as { addr_info?: unknown }[]).map(({ addr_info: _, ...l }) => l));
const READ: Record<Family, Record<IpTable, string>> = {
  4: { links: linksOnly, addresses: fixture('addr.json'), routes: fixture('route4.json'), rules: fixture('rule4.json') },
  6: { links: linksOnly, addresses: fixture('addr.json'), routes: fixture('route6.json'), rules: fixture('rule6.json') },
};

function kernel(opts: { failApplies?: number } = {}) {
  const applied: string[] = [];
  const forced: string[] = [];
  let reads = 0;
  /** The families of every state read, in order. */
  const readFamilies: number[] = [];
  let failures = opts.failApplies ?? 0;
  const ip: IpChannel = {
    async read(family, tables) {
      reads++;
      readFamilies.push(family);
      return Object.fromEntries(tables.map((t) => [t, READ[family][t]])) as Record<(typeof tables)[number], string>;
    },
    async apply(family, commands, o = {}) {
      const text = commands.map((c) => `${c.join(' ')}\n`).join('');
      if (o.force) {
        forced.push(text);
        return { ran: commands.length };
      }
      if (failures > 0) {
        failures--;
        const result = { command: ['ip', `-${family}`, '-batch', '-'], exitCode: 1, signal: null, stdout: '', stderr: 'RTNETLINK answers: File exists\nCommand failed -:2\n', durationMs: 1 };
        return { ran: 1, error: new CommandError(result) };
      }
      applied.push(text);
      return { ran: commands.length };
    },
    close: () => {},
  };
  return { ip, applied, forced, reads: () => reads, readFamilies };
}

function allocator(table: number, delayMs = 0) {
  const calls: string[] = [];
  const a: TableAllocator = {
    async requestTable({ ifname, address }: { ifname: string; address: IpAddress }) {
      calls.push(`request ${ifname} ${address.text}`);
      await new Promise((r) => setTimeout(r, delayMs));
      return table;
    },
    async releaseTable({ ifname, address }) {
      calls.push(`release ${ifname} ${address.text}`);
      return true;
    },
    async peekTable({ ifname, address }) {
      calls.push(`peek ${ifname} ${address.text}`);
      return table;
    },
  };
  return { a, calls };
}

let dirs: string[] = [];
afterEach(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); dirs = []; });
function deps(ip: IpChannel, alloc: TableAllocator, dryRun = false) {
  const runDir = mkdtempSync(join(tmpdir(), 'mhr-handle-'));
  const procSys = mkdtempSync(join(tmpdir(), 'mhr-proc-'));
  dirs.push(runDir, procSys);
  const lines: string[] = [];
  const printed: string[] = [];
  const config = { ...parseConfig(''), runDir };
  const log = createLogger({ source: 'test', write: (l) => lines.push(l) });
  return { d: { config, log, dryRun, ip, allocator: alloc, procSys, out: (t: string) => printed.push(t) }, lines, printed };
}

const upEth2: RoutingEvent = {
  kind: 'address-up', source: 'ifupdown', ifname: 'eth2', address: parseInterfaceAddress('203.0.113.10/24'),
  gateways: [parseIp('203.0.113.1')], routes: [], manageAddress: false,
};

describe('handleEvent', () => {
  it('leases, plans and applies in one batch, logging one line per change', async () => {
    const k = kernel();
    const { a, calls } = allocator(10007);
    const { d, lines } = deps(k.ip, a);
    const r = await handleEvent(upEth2, d);
    // 8 for eth2 and gone0, and 3 of the upgrade: eth1's old `iif lo` band rule moves to 31000, main's suppress rule comes.
    expect(r).toEqual({ table: 10007, degraded: false, changes: 11 });
    // gone0 (a detached oif rule of ours: the interface vanished) is cleaned up and its lease released.
    expect(calls).toEqual(['request eth2 203.0.113.10']);
    expect(k.applied).toHaveLength(1);
    expect(k.applied[0]).toContain('rule del pref 15000 oif gone0 lookup 10002 protocol 201');
    expect(k.applied[0]).not.toContain('lookup 10002 protocol 201\nrule add');
    expect(k.applied[0]).toContain('rule add pref 10000 from 203.0.113.10/32 lookup 10007 protocol 201');
    // eth1's table 10000 (eth1 outranks eth2) stays first; eth2 is second in the band.
    expect(k.applied[0]).toContain('rule add pref 31001 lookup 10007 protocol 201');
    expect(k.applied[0]).toContain('rule del pref 91000 iif lo lookup 10000 protocol 201\n');
    expect(k.applied[0]).toContain('rule add pref 31000 lookup 10000 protocol 201\n');
    expect(k.applied[0]).toContain('rule add pref 30000 lookup main suppress_prefixlength 0 protocol 201\n');
    expect(lines.filter((l) => l.includes('iface=eth2') && l.includes('table=10007') && l.includes('do='))).toHaveLength(7);
    expect(lines.filter((l) => l.includes('iface=gone0') && l.includes('interface gone0 is gone'))).toHaveLength(1);
    expect(lines.at(-1)).toMatch(/routing updated iface=eth2 address=203.0.113.10\/24 table=10007 changes=11/);
  });

  it('without a lease: fallback in main, degraded, logged as an error', async () => {
    const k = kernel();
    const { d, lines } = deps(k.ip, allocator(0).a);
    const r = await handleEvent(upEth2, d);
    expect(r.degraded).toBe(true);
    expect(k.applied[0]).toMatch(/route add default via 203.0.113.1 dev eth2 table 254 proto 201 src 203.0.113.10 metric \d+/);
    expect(lines.some((l) => /error: no routing table lease: fallback .*degraded/.test(l))).toBe(true);
  });

  it('keeps the table the kernel already has when the allocator has none to give', async () => {
    const k = kernel();
    const { d } = deps(k.ip, allocator(0).a);
    const up: RoutingEvent = { ...upEth2, ifname: 'eth1', address: parseInterfaceAddress('198.51.100.10/24'), gateways: [parseIp('198.51.100.1')] } as RoutingEvent;
    const r = await handleEvent(up, d);
    expect(r).toMatchObject({ table: 10000, degraded: false });
  });

  it('address down: removes our rules and routes and releases the lease', async () => {
    const k = kernel();
    const { a, calls } = allocator(0);
    const { d } = deps(k.ip, a);
    const r = await handleEvent({ kind: 'address-down', source: 'ifupdown', ifname: 'eth1', address: parseInterfaceAddress('198.51.100.10/24'), manageAddress: false }, d);
    expect(r.changes).toBeGreaterThan(0);
    expect(k.applied[0]).toContain('rule del pref 10000 from 198.51.100.10/32 lookup 10000 protocol 201');
    expect(k.applied[0]).not.toMatch(/lookup (52|300|254)\b/);
    expect(calls).toEqual(['release eth1 198.51.100.10']);
  });

  it('dry run: peeks at the lease, prints the plan, applies nothing', async () => {
    const k = kernel();
    const { a, calls } = allocator(10007);
    const { d, printed } = deps(k.ip, a, true);
    const r = await handleEvent(upEth2, d);
    expect(calls).toEqual(['peek eth2 203.0.113.10']);
    expect(k.applied).toEqual([]);
    expect(printed).toHaveLength(r.changes);
    expect(printed).toContainEqual(expect.stringMatching(/^ip -4 route add 203.0.113.0\/24 dev eth2 table 10007 .*  # on-link prefix route for traffic leaving through eth2\n$/));
  });

  it('a failed batch is undone, state read again and the plan applied once more', async () => {
    const k = kernel({ failApplies: 1 });
    const { d, lines } = deps(k.ip, allocator(10007).a);
    const r = await handleEvent(upEth2, d);
    expect(r.changes).toBe(11);
    expect(k.forced).toEqual(['rule add pref 15000 oif gone0 lookup 10002 protocol 201\n']); // the undo of line 1
    expect(k.reads()).toBe(2); // one read per attempt (one family)
    expect(lines.some((l) => l.includes('applying the plan failed: undoing what ran'))).toBe(true);
  });

  it('two failures: everything undone, the error thrown for the hook to log', async () => {
    const k = kernel({ failApplies: 2 });
    const { d } = deps(k.ip, allocator(10007).a);
    await expect(handleEvent(upEth2, d)).rejects.toThrow(/routing for eth2 .* not changed/);
    expect(k.applied).toEqual([]);
    expect(k.forced).toHaveLength(2);
  });

  it('a slow allocator does not hold the lock: state is read again after the lease', async () => {
    const k = kernel();
    const { d } = deps(k.ip, allocator(10007, 450).a);
    const r = await handleEvent(upEth2, d);
    expect(r.table).toBe(10007);
    expect(k.reads()).toBe(2);
  });

  it.each([
    ['an address-up', upEth2],
    ['an address-down', { kind: 'address-down', source: 'ifupdown', ifname: 'eth2', address: upEth2.address, manageAddress: false }],
    ['an interface gone', { kind: 'interface-gone', source: 'udev', ifname: 'eth2' }],
  ] as [string, RoutingEvent][])('%s reads the state of the families familiesRead names', async (_, event) => {
    const k = kernel();
    const { d } = deps(k.ip, allocator(10007).a);
    await handleEvent(event, d);
    expect(new Set(k.readFamilies)).toEqual(new Set(familiesRead(event)));
  });

  it.each([
    ['skips (the interface does not exist)', { ...upEth2, ifname: 'eth9' } as RoutingEvent, 0],
    ['skips (a link-local address)', { ...upEth2, address: parseInterfaceAddress('fe80::1/64'), gateways: [] } as RoutingEvent, 0],
    ['fails twice', upEth2, 2],
  ])('a lease the event does not use goes back when it %s', async (_, event, failApplies) => {
    const k = kernel({ failApplies });
    const { a, calls } = allocator(10007);
    const { d } = deps(k.ip, a);
    const done = handleEvent(event, d);
    if (failApplies) await expect(done).rejects.toThrow(/not changed/);
    else expect(await done).toEqual({ table: 0, degraded: false, changes: 0 });
    const key = `${event.ifname} ${event.kind === 'address-up' ? event.address.address.text : ''}`;
    expect(calls).toEqual([`request ${key}`, `release ${key}`]);
  });

  it('a lease the kernel already routes the address through stays, even when the event fails', async () => {
    const k = kernel({ failApplies: 2 });
    const { a, calls } = allocator(10000);
    const { d } = deps(k.ip, a);
    const up: RoutingEvent = { ...upEth2, ifname: 'eth1', address: parseInterfaceAddress('198.51.100.10/24'), gateways: [parseIp('203.0.113.99')] } as RoutingEvent;
    await expect(handleEvent(up, d)).rejects.toThrow(/not changed/);
    expect(calls).toEqual(['request eth1 198.51.100.10']);
  });

  it('ignored interfaces cost nothing', async () => {
    const k = kernel();
    const { a, calls } = allocator(10007);
    const { d } = deps(k.ip, a);
    expect(await handleEvent({ ...upEth2, ifname: 'docker0' } as RoutingEvent, d)).toEqual({ table: 0, degraded: false, changes: 0 });
    expect(calls).toEqual([]);
    expect(k.reads()).toBe(0);
  });
});
