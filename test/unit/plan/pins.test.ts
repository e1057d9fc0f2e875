import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lib/config/parse.js';
import { parseInterfaceAddress, parseIp } from '../../../lib/net/address.js';
import type { Change } from '../../../lib/plan/change.js';
import type { AddressDown, AddressUp } from '../../../lib/plan/event.js';
import { planEvent } from '../../../lib/plan/plan.js';
import { describeChange } from '../../../lib/plan/render.js';
import type { KernelState } from '../../../lib/state/types.js';
import { applyToState, link, state } from './fake-kernel.js';

const cmd = (c: Change) => describeChange(c).replace(/ {2}#.*$/, '');
const up = (ifname: string, address: string, gw: string): AddressUp => ({
  kind: 'address-up', source: 'ifupdown', ifname, address: parseInterfaceAddress(address), gateways: [parseIp(gw)], routes: [], manageAddress: false,
});
const down = (ifname: string, address: string): AddressDown => ({ kind: 'address-down', source: 'ifupdown', ifname, address: parseInterfaceAddress(address), manageAddress: false });

// Two uplinks and a container bridge; eth1 outranks eth2 in the band.
const host = state({
  links: [link(2, 'eth1', '192.0.2.10/24'), link(3, 'eth2', '198.51.100.10/24'), link(4, 'docker0', '172.17.0.1/16'), link(5, 'br-1a2b', '172.18.0.1/16')],
  routes: ['192.0.2.0/24 dev eth1 proto 2 scope 253 src 192.0.2.10', '198.51.100.0/24 dev eth2 proto 2 scope 253 src 198.51.100.10'],
});

function bringUp(config: ReturnType<typeof parseConfig>): KernelState {
  let s = host;
  for (const [e, t] of [[up('eth2', '198.51.100.10/24', '198.51.100.1'), 10002], [up('eth1', '192.0.2.10/24', '192.0.2.1'), 10001]] as const) {
    s = applyToState(s, planEvent({ state: s, event: e, config, table: t }).changes);
  }
  return s;
}
const pinRules = (s: KernelState) =>
  s.rules.filter((r) => r.priority >= 30200 && r.priority < 31000).sort((a, b) => a.priority - b.priority)
    .map((r) => `${r.priority} ${r.iif ? `iif ${r.iif}` : `from ${r.src!.text}`} ${r.action ?? `lookup ${r.table}`}`);

describe('pinning forwarded traffic to uplinks', () => {
  it('pins a bridge to a lower-priority uplink, whatever the bring-up order', () => {
    const s = bringUp(parseConfig('pin = docker0:eth2'));
    expect(pinRules(s)).toEqual(['30200 iif docker0 lookup 10002']);
  });

  it('several targets in band order, a prefix source of its own family, strict last', () => {
    const s = bringUp(parseConfig('pin = br-*:eth*:strict 10.50.0.0/24:eth2 2001:db8:50::/64:eth2'));
    expect(pinRules(s)).toEqual([
      '30200 iif br-1a2b lookup 10001', '30201 iif br-1a2b lookup 10002', '30202 iif br-1a2b unreachable',
      '30203 from 10.50.0.0/24 lookup 10002',
    ]);
  });

  it('the pinned uplink going away takes its rule; strict keeps the traffic stopped', () => {
    const config = parseConfig('pin = docker0:eth2:strict');
    const s = bringUp(config);
    const plan = planEvent({ state: s, event: down('eth2', '198.51.100.10/24'), config, table: 0 });
    const after = applyToState(s, plan.changes);
    expect(pinRules(after)).toEqual(['30200 iif docker0 unreachable']);
    // The same event again plans nothing more.
    expect(planEvent({ state: after, event: down('eth2', '198.51.100.10/24'), config, table: 0 }).changes.map(cmd)).toEqual([]);
  });

  it('renders rules the kernel takes, and an address rule never mistakes a pin for its own', () => {
    const config = parseConfig('pin = 10.50.0.0/24:eth1:strict');
    const s = bringUp(config);
    const again = planEvent({ state: s, event: up('eth1', '192.0.2.10/24', '192.0.2.1'), config, table: 10001 });
    expect(again.changes.map(cmd)).toEqual([]);
    const first = planEvent({ state: host, event: up('eth1', '192.0.2.10/24', '192.0.2.1'), config, table: 10001 }).changes.map(cmd);
    expect(first).toContain('ip -4 rule add pref 30200 from 10.50.0.0/24 lookup 10001 protocol 201');
    expect(first).toContain('ip -4 rule add pref 30201 from 10.50.0.0/24 unreachable protocol 201');
  });

  it('no pins, no pin rules', () => {
    expect(pinRules(bringUp(parseConfig('')))).toEqual([]);
  });
});
