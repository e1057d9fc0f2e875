import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAddrJson, parseRouteJson, parseRuleJson } from '../../../lib/state/parse.js';
import { isBandRule, isLegacyBandRule, isMainSuppressRule } from '../../../lib/state/rules.js';

// Fixtures: real `ip -N -json` output recorded by test/fixtures/state/capture.sh.
const fixture = (name: string) => readFileSync(new URL(`../../fixtures/state/${name}`, import.meta.url), 'utf8');

describe('parseAddrJson', () => {
  const links = parseAddrJson(fixture('addr.json'));
  const byName = new Map(links.map((l) => [l.ifname, l]));

  it('reads links with index, state and kind', () => {
    expect(byName.get('eth0')).toMatchObject({ up: true, carrier: true, kind: 'veth' });
    expect(byName.get('eth2')).toMatchObject({ up: true, carrier: false });
    expect(byName.get('lo')?.ifindex).toBe(1);
  });

  it('reads every address with its prefix, scope and family', () => {
    const eth1 = byName.get('eth1')!.addresses.map((a) => `${a.address.address.text}/${a.address.prefix.length}`);
    expect(eth1).toEqual(expect.arrayContaining(['198.51.100.10/24', '198.51.100.11/24']));
    const v6 = byName.get('eth0')!.addresses.filter((a) => a.address.address.family === 6);
    expect(v6.map((a) => [a.address.address.text, a.scope])).toEqual(
      expect.arrayContaining([['2001:db8:1::10', 0], [expect.stringMatching(/^fe80::/), 253]]),
    );
  });

  it('returns nothing for empty output and throws on non-JSON', () => {
    expect(parseAddrJson('')).toEqual([]);
    expect(() => parseAddrJson('Device "x" does not exist.')).toThrow();
  });
});

describe('parseRouteJson', () => {
  const v4 = parseRouteJson(fixture('route4.json'), 4);
  const v6 = parseRouteJson(fixture('route6.json'), 6);

  it.each([
    ['our default in table 10000', v4, { table: 10000, dst: '0.0.0.0/0', gateway: '198.51.100.1', dev: 'eth1', protocol: 201, prefsrc: '198.51.100.10', metric: 0, scope: 0 }],
    ['our on-link prefix', v4, { table: 10000, dst: '198.51.100.0/24', dev: 'eth1', protocol: 201, scope: 253 }],
    ['the kernel prefix route in main', v4, { table: 254, dst: '192.0.2.0/24', protocol: 2, prefsrc: '192.0.2.10' }],
    ['ifupdown default (proto boot, left out by ip)', v4, { table: 254, dst: '0.0.0.0/0', protocol: 3, gateway: '192.0.2.1' }],
    ['a foreign route in table 52', v4, { table: 52, dst: '100.64.0.0/10', protocol: 3 }],
    ['our IPv6 default via a link-local router', v6, { table: 10001, dst: '::/0', gateway: 'fe80::1', metric: 1024, protocol: 201 }],
    ['the IPv6 kernel prefix route', v6, { table: 254, dst: '2001:db8:1::/64', metric: 256, protocol: 2 }],
  ])('%s', (_name, routes, want) => {
    const found = routes.map((r) => ({
      table: r.table, dst: r.dst.text, gateway: r.gateway?.text, dev: r.dev, protocol: r.protocol,
      prefsrc: r.prefsrc?.text, metric: r.metric, scope: r.scope,
    }));
    expect(found).toContainEqual(expect.objectContaining(want));
  });

  it('keeps flags (linkdown) and route types (local, broadcast)', () => {
    expect(v4.find((r) => r.dst.text === '203.0.113.0/24' && r.table === 254)?.flags).toContain('linkdown');
    expect(v4.find((r) => r.dst.text === '127.0.0.1/32')?.type).toBe(2);
  });
});

describe('parseRuleJson', () => {
  const v4 = parseRuleJson(fixture('rule4.json'), 4);
  const v6 = parseRuleJson(fixture('rule6.json'), 6);
  const at = (pref: number, table?: number) => v4.filter((r) => r.priority === pref && (table === undefined || r.table === table));

  it('reads our four rule shapes', () => {
    expect(at(10000)[0]).toMatchObject({ table: 10000, protocol: 201, foreignSelectors: false });
    expect(at(10000)[0]!.src?.text).toBe('198.51.100.10/32');
    expect(at(15000, 10000)[0]).toMatchObject({ oif: 'eth1', detached: false });
    expect(at(20000)[0]!.dst?.text).toBe('198.51.100.0/24');
    // A band rule of an older version (`iif lo` at 91000+): still a band rule, to be moved.
    expect(at(91000)[0]).toMatchObject({ iif: 'lo', table: 10000 });
    expect(isLegacyBandRule(at(91000)[0]!)).toBe(true);
  });

  it('reads the band rule and main\'s suppress rule (ip -N -j rule of the current layout)', () => {
    const now = parseRuleJson('[{"priority":0,"src":"all","table":"255"},{"priority":30000,"src":"all","table":"254","suppress_prefixlen":0,"protocol":"201"},' +
      '{"priority":31000,"src":"all","table":"10000","protocol":"201"},{"priority":32766,"src":"all","table":"254"},{"priority":32767,"src":"all","table":"253"}]', 4);
    const band = now.find((r) => r.priority === 31000)!;
    expect(band).toMatchObject({ table: 10000, protocol: 201, foreignSelectors: false });
    expect(band.iif).toBeUndefined();
    expect(now.filter(isBandRule)).toEqual([band]);
    expect(isLegacyBandRule(band)).toBe(false);
    const s = now.find((r) => r.priority === 30000)!;
    expect(s).toMatchObject({ table: 254, suppressPrefixLength: 0, protocol: 201, foreignSelectors: false });
    expect(isMainSuppressRule(s, 201)).toBe(true);
    expect(isBandRule(s)).toBe(false);
    expect(now.filter((r) => isMainSuppressRule(r, 201))).toEqual([s]);
  });

  it('marks detached interfaces and foreign selectors', () => {
    expect(at(15000, 10002)[0]).toMatchObject({ oif: 'gone0', detached: true });
    expect(at(5270)[0]).toMatchObject({ table: 52, foreignSelectors: true, protocol: 0 });
    expect(at(1000)[0]!.src?.text).toBe('203.0.113.0/24');
    expect(at(32766)[0]!.table).toBe(254);
  });

  it('reads IPv6 rules', () => {
    expect(v6.find((r) => r.priority === 10000)?.src?.text).toBe('2001:db8:1::10/128');
    expect(v6.find((r) => r.priority === 15000)).toMatchObject({ oif: 'eth0', table: 10001 });
  });

  it('accepts names where -N was not given', () => {
    const [r] = parseRuleJson('[{"priority":32766,"src":"all","table":"main","protocol":"kernel"}]', 4);
    expect(r).toMatchObject({ table: 254, protocol: 2 });
  });
});
