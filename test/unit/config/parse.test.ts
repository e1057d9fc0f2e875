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
      prefDefault: 91000,
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
