import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lib/config/parse.js';
import { marksOf } from '../../../lib/forward/sync.js';
import { renderTable, replaceScript } from '../../../lib/forward/ruleset.js';
import { parseIp } from '../../../lib/net/address.js';
import { Builder } from '../../../lib/plan/builder.js';
import { markUnit, planFwmarks } from '../../../lib/plan/fwmarks.js';
import { indexState } from '../../../lib/plan/index.js';
import { keptUplinks } from '../../../lib/plan/pins.js';
import { describeChange } from '../../../lib/plan/render.js';
import { applyToState, state } from '../plan/fake-kernel.js';

const config = parseConfig('interface_priority = eth1 eth2');
const uplinkRules = (ifname: string, address: string, table: number) => [
  `10000 from ${address}/32 lookup ${table} proto 201`, `15000 oif ${ifname} lookup ${table} proto 201`,
];
const two = state({ rules: [...uplinkRules('eth2', '10.61.2.2', 10002), ...uplinkRules('eth1', '10.61.1.2', 10001)] });

function plan(s: ReturnType<typeof state>) {
  const b = new Builder();
  planFwmarks(b, s, config, 4, keptUplinks(b, config, indexState(s, config), 4));
  return b.list();
}

describe('reply marks', () => {
  it('each uplink table gets the lowest free mark under the mask, once', () => {
    const changes = plan(two);
    expect(changes.map((c) => describeChange(c).replace(/ {2}#.*$/, ''))).toEqual([
      'ip -4 rule add pref 30100 fwmark 0x100/0x1f00 lookup 10001 protocol 201',
      'ip -4 rule add pref 30100 fwmark 0x200/0x1f00 lookup 10002 protocol 201',
    ]);
    expect(plan(applyToState(two, changes))).toEqual([]);
  });

  it('a mark stays with its table while it is managed, whatever comes and goes', () => {
    const marked = applyToState(two, plan(two));
    // eth1 goes: its mark rule goes, eth2 keeps 0x200; a new eth3 takes the freed 0x100.
    const withoutEth1 = { ...marked, rules: marked.rules.filter((r) => !(r.table === 10001 && !r.fwmark)) };
    const s = state({ rules: uplinkRules('eth3', '10.61.3.2', 10003) });
    const next = { ...withoutEth1, rules: [...withoutEth1.rules, ...s.rules.filter((r) => r.protocol === 201)] };
    const got = plan(next).map((c) => describeChange(c).replace(/ {2}#.*$/, ''));
    expect(got).toEqual([
      'ip -4 rule del pref 30100 fwmark 0x100/0x1f00 lookup 10001 protocol 201',
      'ip -4 rule add pref 30100 fwmark 0x100/0x1f00 lookup 10003 protocol 201',
    ]);
    expect(marksOf(applyToState(next, plan(next)), config).map((m) => `${m.ifname} ${m.mark.toString(16)}`)).toEqual(['eth3 100', 'eth2 200']);
  });

  it('mask arithmetic: the unit is the lowest bit', () => {
    expect([markUnit(0x1f00), markUnit(0x3000), markUnit(0xff000000), markUnit(1)]).toEqual([0x100, 0x1000, 0x1000000, 1]);
  });

  it('renders one table that only sets and reads our bits', () => {
    const text = renderTable([
      { family: 4, mark: 0x100, ifname: 'eth1', address: parseIp('10.61.1.2') },
      { family: 6, mark: 0x100, ifname: 'eth1', address: parseIp('2001:db8::2') },
      { family: 4, mark: 0x200, ifname: 'eth2' },
    ], 0x1f00)!;
    expect(text).toContain('iifname "eth1" ip daddr 10.61.1.2 ct state new ct mark set ct mark and 0xffffe0ff or 0x00000100');
    expect(text).toContain('iifname "eth1" ip6 daddr 2001:db8::2 ct state new');
    expect(text).toContain('iifname "eth2" meta nfproto ipv4 ct state new');
    expect(text).toContain('iifname != { "eth1", "eth2" } ct mark and 0x00001f00 == 0x00000200 meta mark set meta mark and 0xffffe0ff or 0x00000200');
    expect(renderTable([], 0x1f00)).toBeUndefined();
    expect(replaceScript(undefined)).toBe('table inet multihomed_routing\ndelete table inet multihomed_routing\n');
  });

  it('sticky: a new forwarded connection without our bits takes the mark of the uplink it leaves by, per family', () => {
    const text = renderTable([
      { family: 4, mark: 0x100, ifname: 'eth1', address: parseIp('10.61.1.2') },
      { family: 4, mark: 0x300, ifname: 'eth1', address: parseIp('10.62.1.2') },
      { family: 6, mark: 0x200, ifname: 'eth1', address: parseIp('2001:db8::2') },
      { family: 4, mark: 0x200, ifname: 'eth2', address: parseIp('10.61.2.2') },
    ], 0x1f00)!;
    const forward = text.slice(text.indexOf('  chain forward {'));
    expect(forward.split('\n').filter((l) => l.includes('ct mark set'))).toEqual([
      // eth1's two IPv4 tables lead out of the same interface: the lowest mark.
      '    meta nfproto ipv4 oifname "eth1" ct state new ct mark and 0x00001f00 == 0x00000000 ct mark set ct mark and 0xffffe0ff or 0x00000100 comment "forwarded connection stays on eth1"',
      '    meta nfproto ipv4 oifname "eth2" ct state new ct mark and 0x00001f00 == 0x00000000 ct mark set ct mark and 0xffffe0ff or 0x00000200 comment "forwarded connection stays on eth2"',
      '    meta nfproto ipv6 oifname "eth1" ct state new ct mark and 0x00001f00 == 0x00000000 ct mark set ct mark and 0xffffe0ff or 0x00000200 comment "forwarded connection stays on eth1"',
    ]);
    // The forward hook only: host-local traffic (output, postrouting) is never marked.
    expect(forward).toContain('type filter hook forward priority mangle; policy accept;');
    expect(text.match(/hook (\w+)/g)).toEqual(['hook prerouting', 'hook forward']);
    // The restore rule puts the sticky mark on the flow's later packets from behind the host.
    expect(text).toContain('iifname != { "eth1", "eth2" } ct mark and 0x00001f00 == 0x00000300 meta mark set meta mark and 0xffffe0ff or 0x00000300');
  });

  it('another mask: every rule reads and writes only its bits', () => {
    const text = renderTable([{ family: 4, mark: 0x1000, ifname: 'wwan0' }], 0x3000)!;
    expect(text).toContain('meta nfproto ipv4 oifname "wwan0" ct state new ct mark and 0x00003000 == 0x00000000 ct mark set ct mark and 0xffffcfff or 0x00001000');
    const masks = [...text.matchAll(/mark and (0x[0-9a-f]{8})/g)].map((m) => m[1]);
    expect(new Set(masks)).toEqual(new Set(['0x00003000', '0xffffcfff']));
  });
});
