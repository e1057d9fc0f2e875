import { describe, expect, it } from 'vitest';
import { parseConfig, renderDefaultConfig } from '../../../lib/config/parse.js';

describe('config', () => {
  it('works with no file at all', () => {
    const c = parseConfig('');
    expect(c).toMatchObject({
      tableMin: 10000,
      tableMax: 10999,
      prefFrom: 10000,
      prefTo: 20000,
      prefMain: 30000,
      prefFwmark: 30100,
      prefPin: 30200,
      prefDefault: 31000,
      socketPath: '/run/multihomed-routing/allocator/allocator.sock',
      looseRpFilter: true,
    });
    expect(c.ignoreInterfaces).toContain('docker*');
  });

  it('reads keys, comments and lists', () => {
    const c = parseConfig('# comment\n table_range = 200-210 # trailing\nignore_interfaces = a* b\nsyslog = no\n');
    expect([c.tableMin, c.tableMax]).toEqual([200, 210]);
    expect(c.ignoreInterfaces).toEqual(['a*', 'b']);
    expect(c.syslog).toBe(false);
  });

  it.each([
    ['table_range = 10-5', /f.conf:1: table_range: expected FIRST-LAST.*found "10-5"/],
    ['table_range = 250-260', /not covering tables 253-255/],
    ['lease_time = soon', /f.conf:1: lease_time: expected a whole number/],
    ['protocol = 300', /protocol: expected a whole number 1-255/],
    ['lease_reclaim_grace = 0', /lease_reclaim_grace: expected a whole number 1-4294967294/],
    ['syslog = maybe', /syslog: expected yes or no, found "maybe"/],
    ['socket_path = relative.sock', /socket_path: expected an absolute path/],
    ['\n\nnonsense', /f.conf:3: nonsense: expected `key = value`/],
    ['tabel_range = 1-2', /f.conf:1: tabel_range: expected one of socket_path/],
  ])('%j is refused with file, line, key, expected and found', (text, message) => {
    expect(() => parseConfig(text, 'f.conf')).toThrow(message);
  });

  // The kernel walks rules by priority: from < oif < to < main < fwmark < pin < default, and the band before main's 32766.
  it.each([
    ['rule_pref_main = 15000', /f.conf:1: rule_pref_main: expected more than rule_pref_to \(20000\): rules are looked up in the order from < oif < to < main < fwmark < pin < default, found "15000"/],
    ['rule_pref_to = 30000', /f.conf:1: rule_pref_to: expected less than rule_pref_main \(30000\)/],
    ['rule_pref_default = 91000', /f.conf:1: rule_pref_default: expected room for the band before main's rule at 32766: .*the band would reach 91999/],
    ['rule_pref_default = 32000', /rule_pref_default: expected room for the band.*1000 tables of table_range.*32999/],
    ['table_range = 10000-19999', /f.conf:1: table_range: expected room for the band before main's rule at 32766/],
    ['rule_pref_pin = 30100', /rule_pref_pin: expected more than rule_pref_fwmark \(30100\)/],
    ['rule_pref_fwmark = 31000', /rule_pref_fwmark: expected less than rule_pref_pin \(30200\)/],
    ['rule_pref_from = 0', /rule_pref_from: expected at least 1/],
    ['rule_pref_default = 30500\nrule_pref_pin = 30600', /f.conf:1: rule_pref_default: expected more than rule_pref_pin \(30600\)/],
  ])('rule order: %j is refused, naming the key and why', (text, message) => {
    expect(() => parseConfig(text, 'f.conf')).toThrow(message);
  });

  it('accepts a layout moved as a whole, in order, with room for its band', () => {
    const c = parseConfig('rule_pref_main = 25000\nrule_pref_fwmark = 25100\nrule_pref_pin = 25200\nrule_pref_default = 26000\ntable_range = 10000-15999\n');
    expect([c.prefMain, c.prefFwmark, c.prefPin, c.prefDefault]).toEqual([25000, 25100, 25200, 26000]);
  });

  it('its rendered defaults parse back to the defaults', () => {
    expect(parseConfig(renderDefaultConfig())).toEqual(parseConfig(''));
    const uncommented = renderDefaultConfig().replace(/^#(\w+ =)/gm, '$1');
    expect(parseConfig(uncommented)).toEqual(parseConfig(''));
  });
});

describe('config: pin and fwmark_mask', () => {
  it('reads interface patterns, prefixes of both families and strict', () => {
    const c = parseConfig('pin = docker0:wwan* 10.50.0.0/24:eth1,eth2 2001:db8::/64:eth1:strict');
    expect(c.pins.map((p) => [p.source.kind === 'prefix' ? p.source.prefix.text : p.source.pattern, p.targets, p.strict])).toEqual([
      ['docker0', ['wwan*'], false], ['10.50.0.0/24', ['eth1', 'eth2'], false], ['2001:db8::/64', ['eth1'], true],
    ]);
    expect(parseConfig('').pins).toEqual([]);
    expect(parseConfig('').fwmarkMask).toBe(0x1f00);
  });

  it.each([
    ['pin = docker0', /pin: expected SOURCE:TARGET.*in "docker0"/],
    ['pin = docker0:eth1:loose', /only "strict"/],
    ['pin = 10.50.0.1/24:eth1', /host bits clear/],
    ['pin = 10.50.0.0/33:eth1', /prefix length/],
    ['pin = dock$er:eth1', /source interface pattern/],
    ['pin = docker0:eth1,', /uplink patterns separated by commas, found ""/],
    ['fwmark_mask = 0x1f01', /fwmark_mask: expected a contiguous hex mask/],
    ['fwmark_mask = 7936', /contiguous hex mask/],
    ['fwmark_mask = 0x0', /contiguous hex mask/],
  ])('%j is refused with what was expected', (text, message) => {
    expect(() => parseConfig(text, 'f.conf')).toThrow(message);
  });
});
