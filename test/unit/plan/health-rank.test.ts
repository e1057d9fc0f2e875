// Upstream health only changes the ORDER of the unbound band: a down uplink
// ranks after every healthy one, all down keeps plain priority order.

import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lib/config/parse.js';
import { parseInterfaceAddress, parseIp } from '../../../lib/net/address.js';
import type { AddressUp, PlanEvent } from '../../../lib/plan/event.js';
import { planEvent } from '../../../lib/plan/plan.js';
import { healthKey, rankTables } from '../../../lib/plan/ranking.js';
import type { KernelState } from '../../../lib/state/types.js';
import { applyToState, link, state } from './fake-kernel.js';

const config = parseConfig('');
const up = (ifname: string, address: string, gw: string): AddressUp => ({
  kind: 'address-up', source: 'ifupdown', ifname, address: parseInterfaceAddress(address), gateways: [parseIp(gw)], routes: [], manageAddress: false,
});
const UPLINKS = [['eth0', '10.0.0.2/24', '10.0.0.1', 10010], ['eth1', '10.1.0.2/24', '10.1.0.1', 10020], ['wlan0', '10.2.0.2/24', '10.2.0.1', 10030]] as const;
const rerank: PlanEvent = { kind: 'rerank', source: 'health', family: 4, ifname: 'eth0' };
const downOf = (...names: string[]) => new Set(names.map((n) => healthKey(4, n, UPLINKS.find((u) => u[0] === n)![1].split('/')[0]!)));

/** The band (rules at rule_pref_default and after), as interface names in rule order. */
function band(s: KernelState): string[] {
  const byTable = new Map<number, string>(UPLINKS.map((u) => [u[3], u[0]]));
  return s.rules
    .filter((r) => r.priority >= config.prefDefault && r.priority < config.prefDefault + 1000)
    .sort((a, b) => a.priority - b.priority)
    .map((r) => byTable.get(r.table!)!);
}

function managed(): KernelState {
  let s = state({ links: UPLINKS.map((u, i) => link(2 + i, u[0], u[1])) });
  for (const [ifname, a, gw, table] of UPLINKS) s = applyToState(s, planEvent({ state: s, event: up(ifname, a, gw), config, table }).changes);
  return s;
}

describe('health in the band order', () => {
  it('rankTables: down after healthy (by priority among themselves); all down: plain priority', () => {
    const items = [{ ifname: 'eth0', address: 1n, table: 1, down: true }, { ifname: 'eth1', address: 2n, table: 2, down: true }, { ifname: 'wlan0', address: 3n, table: 3 }];
    expect([...rankTables(config.interfacePriority, items)].sort((a, b) => a[1] - b[1]).map(([t]) => t)).toEqual([3, 1, 2]);
    const all = items.map((i) => ({ ...i, down: true }));
    expect([...rankTables(config.interfacePriority, all)].sort((a, b) => a[1] - b[1]).map(([t]) => t)).toEqual([1, 2, 3]);
  });

  it.each([
    [[], ['eth0', 'eth1', 'wlan0']],
    [['eth0'], ['eth1', 'wlan0', 'eth0']],
    [['eth0', 'eth1'], ['wlan0', 'eth0', 'eth1']],
    [['eth0', 'eth1', 'wlan0'], ['eth0', 'eth1', 'wlan0']],
  ])('down %j → band %j, and a second rerank changes nothing', (down, want) => {
    const s0 = managed();
    const plan = planEvent({ state: s0, event: rerank, config, table: 0, down: downOf(...down) });
    const s1 = applyToState(s0, plan.changes);
    expect(band(s1)).toEqual(want);
    expect(planEvent({ state: s1, event: rerank, config, table: 0, down: downOf(...down) }).changes).toEqual([]);
    // the other rules (from, oif, to) are never touched: bound traffic and probes keep using a down uplink
    expect(plan.changes.every((c) => c.kind === 'del-rule' || c.kind === 'add-rule')).toBe(true);
    expect(s1.rules.filter((r) => r.priority < config.prefDefault)).toEqual(s0.rules.filter((r) => r.priority < config.prefDefault));
  });

  it('says why a down uplink moved', () => {
    const plan = planEvent({ state: managed(), event: rerank, config, table: 0, down: downOf('eth0') });
    expect(plan.changes.find((c) => c.subject.ifname === 'eth0' && c.kind === 'add-rule')!.reason).toMatch(/upstream is down/);
  });

  it('an address-up of a down uplink keeps it after the healthy ones; recovery restores the order', () => {
    const s0 = managed();
    const s1 = applyToState(s0, planEvent({ state: s0, event: up('eth0', '10.0.0.2/24', '10.0.0.1'), config, table: 10010, down: downOf('eth0') }).changes);
    expect(band(s1)).toEqual(['eth1', 'wlan0', 'eth0']);
    const s2 = applyToState(s1, planEvent({ state: s1, event: rerank, config, table: 0, down: new Set() }).changes);
    expect(band(s2)).toEqual(['eth0', 'eth1', 'wlan0']);
  });
});
