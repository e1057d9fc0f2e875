// planCleanup: after any sequence of events, cleanup leaves no rule or route of
// ours, puts back what the hooks moved out of main, and restores saved sysctls.

import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lib/config/parse.js';
import { parseInterfaceAddress, parseIp } from '../../../lib/net/address.js';
import { planCleanup } from '../../../lib/plan/cleanup.js';
import type { Change } from '../../../lib/plan/change.js';
import type { AddressUp } from '../../../lib/plan/event.js';
import { planEvent } from '../../../lib/plan/plan.js';
import { describeChange } from '../../../lib/plan/render.js';
import type { KernelState } from '../../../lib/state/types.js';
import { applyToState, link, state, strictSysctls } from './fake-kernel.js';

const config = parseConfig('');
const cmd = (c: Change) => describeChange(c).replace(/ {2}#.*$/, '');

function up(ifname: string, address: string, gateways: string[], source: AddressUp['source'] = 'ifupdown'): AddressUp {
  return {
    kind: 'address-up', source, ifname, address: parseInterfaceAddress(address),
    gateways: gateways.map((g) => parseIp(g)), routes: [], manageAddress: false,
  };
}
const sys = strictSysctls;
const ours = (s: KernelState) => [
  ...s.rules.filter((r) => r.protocol === config.protocol),
  ...s.routes.filter((r) => r.protocol === config.protocol),
];
const mainRoutes = (s: KernelState) =>
  s.routes.filter((r) => r.table === 254).map((r) => `${r.dst.text} ${r.gateway?.text ?? ''} ${r.dev} proto ${r.protocol} metric ${r.metric}`).sort();

function cleanup(s: KernelState) {
  const saved = Object.keys(s.sysctls).filter((i) => Object.keys(s.sysctls[i]!.saved).length);
  return planCleanup({ state: s, config, savedSysctlInterfaces: saved });
}

describe('planCleanup', () => {
  // Two uplinks with the same 192.168.8.0/24 (two modems), and eth0: as ifupdown left them.
  const before = state({
    links: [link(1, 'lo', '127.0.0.1/8'), link(2, 'eth0', '192.0.2.10/24'), link(3, 'usb0', '192.168.8.100/24'), link(4, 'usb1', '192.168.8.100/24')],
    routes: [
      '192.0.2.0/24 dev eth0 proto 2 scope 253 src 192.0.2.10',
      'default via 192.0.2.1 dev eth0 proto 3',
      '192.168.8.0/24 dev usb0 proto 2 scope 253 src 192.168.8.100',
    ],
    rules: ['5270 fwmark lookup 52'],
    sysctls: { ...sys('eth0'), ...sys('usb0'), ...sys('usb1') },
  });
  let s = before;
  const tables = { eth0: 10000, usb0: 10001, usb1: 10002 };
  for (const [ifname, address, gw] of [['eth0', '192.0.2.10/24', '192.0.2.1'], ['usb0', '192.168.8.100/24', '192.168.8.1'], ['usb1', '192.168.8.100/24', '192.168.8.1']] as const) {
    s = applyToState(s, planEvent({ state: s, event: up(ifname, address, [gw]), config, table: tables[ifname] }).changes);
  }

  it('removes every rule and route of ours and puts main back, ordered by interface priority', () => {
    expect(ours(s).length).toBeGreaterThan(10);
    const plan = cleanup(s);
    const after = applyToState(s, plan.changes);
    expect(ours(after)).toEqual([]);
    // main's suppress rule goes too (removed, not reported as left alone).
    expect(s.rules.filter((r) => r.suppressPrefixLength === 0)).toHaveLength(1);
    expect(plan.changes.map((c) => describeChange(c).replace(/ {2}#.*$/, ''))).toContain('ip -4 rule del pref 30000 lookup main suppress_prefixlength 0 protocol 201');
    expect(plan.untouched).toEqual([]);
    expect(plan.entries.map((e) => e.table).sort()).toEqual([10000, 10001, 10002]);
    // The foreign rule is untouched.
    expect(after.rules.some((r) => r.priority === 5270)).toBe(true);
    expect(mainRoutes(after)).toEqual([
      '0.0.0.0/0 192.0.2.1 eth0 proto 3 metric 0',
      '0.0.0.0/0 192.168.8.1 usb0 proto 3 metric 1',
      '0.0.0.0/0 192.168.8.1 usb1 proto 3 metric 2',
      '192.0.2.0/24  eth0 proto 2 metric 0',
      '192.168.8.0/24  usb0 proto 2 metric 0',
      '192.168.8.0/24  usb1 proto 2 metric 1',
    ]);
  });

  it('restores the sysctls it saved and forgets them', () => {
    expect(s.sysctls.eth0!.current['net/ipv4/conf/eth0/rp_filter']).toBe('2');
    const after = applyToState(s, cleanup(s).changes);
    for (const i of ['eth0', 'usb0', 'usb1']) {
      expect(after.sysctls[i]!.current).toEqual(before.sysctls[i]!.current);
      expect(after.sysctls[i]!.saved).toEqual({});
    }
  });

  it('leaves what is already in main alone (NetworkManager kept its routes) and plans nothing twice', () => {
    let nm = state({
      links: [link(1, 'lo', '127.0.0.1/8'), link(2, 'eth0', '192.0.2.10/24')],
      routes: ['192.0.2.0/24 dev eth0 proto 2 scope 253 src 192.0.2.10 metric 100', 'default via 192.0.2.1 dev eth0 proto 3 metric 100'],
    });
    nm = applyToState(nm, planEvent({ state: nm, event: up('eth0', '192.0.2.10/24', ['192.0.2.1'], 'NetworkManager'), config, table: 10000 }).changes);
    const plan = cleanup(nm);
    expect(plan.changes.filter((c) => c.kind === 'add-route').map(cmd)).toEqual([]);
    const after = applyToState(nm, plan.changes);
    expect(mainRoutes(after)).toEqual(mainRoutes(state({ routes: ['192.0.2.0/24 dev eth0 proto 2 scope 253 src 192.0.2.10 metric 100', 'default via 192.0.2.1 dev eth0 proto 3 metric 100'] })));
    expect(cleanup(after).changes).toEqual([]);
  });

  it('on a host without anything of ours plans nothing', () => {
    expect(cleanup(before).changes).toEqual([]);
  });
});
