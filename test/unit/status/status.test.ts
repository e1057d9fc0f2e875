import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lib/config/parse.js';
import { parseAddrJson, parseRouteJson, parseRuleJson } from '../../../lib/state/parse.js';
import { buildStatus, formatDns, formatStatus } from '../../../lib/status/status.js';
import type { KernelState } from '../../../lib/state/types.js';
import { link, state } from '../plan/fake-kernel.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/state/${name}`, import.meta.url), 'utf8');
const recorded: KernelState = {
  links: parseAddrJson(fixture('addr.json')),
  routes: [...parseRouteJson(fixture('route4.json'), 4), ...parseRouteJson(fixture('route6.json'), 6)],
  rules: [...parseRuleJson(fixture('rule4.json'), 4), ...parseRuleJson(fixture('rule6.json'), 6)],
  sysctls: {},
};
const config = parseConfig('');

describe('status', () => {
  it('lists every managed address with table, rules, routes and what is missing', () => {
    const list = buildStatus(recorded, config);
    expect(list.map((s) => `${s.ifname} ${s.family} ${s.address} ${s.table} ${s.degraded}`)).toEqual([
      'eth0 6 2001:db8:1::10/64 10001 false',
      'eth1 4 198.51.100.10/24 10000 false',
      'gone0 4 ? 10002 false',
    ]);
    const eth1 = list.find((s) => s.ifname === 'eth1')!;
    expect(eth1.rules).toEqual(['10000: from 198.51.100.10/32 lookup 10000', '15000: oif eth1 lookup 10000', '20000: to 198.51.100.0/24 lookup 10000', '91000: iif lo lookup 10000']);
    expect(eth1.routes).toEqual(['default via 198.51.100.1 dev eth1 src 198.51.100.10', '198.51.100.0/24 dev eth1 scope link src 198.51.100.10']);
    // A capture of an older version: its band rule is `iif lo` at 91000, no suppress rule yet.
    expect(eth1.problems).toEqual(['band rule of an older version (iif lo): the next event or the daemon moves it', 'no main suppress rule']);
    expect(list.find((s) => s.ifname === 'eth0')!.problems).toEqual(['no band rule', 'no main suppress rule']);
    expect(list.find((s) => s.ifname === 'gone0')!.problems).toEqual(expect.arrayContaining(['no from rule', 'interface does not exist']));
  });

  it('shows fallback routes in main as degraded', () => {
    const s = state({
      links: [link(7, 'eth3', '192.0.2.10/24')],
      routes: ['192.0.2.0/24 dev eth3 proto 201 scope 253 src 192.0.2.10 metric 7', 'default via 192.0.2.1 dev eth3 proto 201 src 192.0.2.10 metric 7'],
    });
    const [only] = buildStatus(s, config);
    expect(only).toMatchObject({ ifname: 'eth3', address: '192.0.2.10/24', table: 0, degraded: true, rules: [] });
    expect(formatStatus([only!])).toBe(
      'eth3 inet 192.0.2.10/24 DEGRADED (main table, no lease)\n' +
      '  route 192.0.2.0/24 dev eth3 scope link src 192.0.2.10 metric 7\n' +
      '  route default via 192.0.2.1 dev eth3 src 192.0.2.10 metric 7\n' +
      '  ! no table lease: routes in main with metric = interface index\n',
    );
  });

  it('says so when nothing is managed', () => {
    expect(formatStatus(buildStatus(state({}), config))).toBe('no managed addresses\n');
  });

  it('an interface whose DNS could not be configured: each of its addresses says so', () => {
    const why = 'the name "eth1" cannot be written';
    const list = buildStatus(recorded, config, new Map([['eth1', why], ['gone9', 'x']]));
    // The capture is of an older version (an `iif lo` band rule, no suppress rule): status says so too.
    expect(list.find((s) => s.ifname === 'eth1')!.problems).toEqual(['band rule of an older version (iif lo): the next event or the daemon moves it', 'no main suppress rule', `DNS not configured: ${why}`]);
    expect(list.find((s) => s.ifname === 'eth0')!.problems).toEqual(['no band rule', 'no main suppress rule']);
    expect(formatStatus(list)).toContain(`  ! DNS not configured: ${why}\n`);
  });
});

describe('formatDns', () => {
  it.each([
    [{ on: true, why: 'dnsmasq pid 7 (/p) reads /f' }, ['x'], 'dns: per-uplink through dnsmasq (dnsmasq pid 7 (/p) reads /f)\n'],
    [{ on: false, why: 'dnsmasq_mode = auto and no pid file /p' }, ['start dnsmasq …', 'or set dnsmasq_mode = yes'],
      'dns: per-uplink DNS off (dnsmasq_mode = auto and no pid file /p); dhclient-script writes resolv.conf\n' +
      '  to turn it on: start dnsmasq …\n  to turn it on: or set dnsmasq_mode = yes\n'],
  ])('%j', (decision, turnOn, text) => {
    expect(formatDns(decision, turnOn)).toBe(text);
  });
});
