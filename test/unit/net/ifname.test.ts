import { describe, expect, it } from 'vitest';
import { ifnameMatches, ifnameProblem, parseIfname } from '../../../lib/net/ifname.js';

describe('interface names', () => {
  it.each(['eth0', 'wlan1', 'wwan0', 'eth1.100', 'a$(b)', 'x;y', `q'"`, 'enp0s31f6', '123456789012345'])(
    'accepts %j (the kernel does)',
    (name) => expect(parseIfname(name)).toBe(name),
  );

  it.each([
    ['', 'empty'],
    ['1234567890123456', 'longer than 15 bytes'],
    ['ééééééééé', 'longer than 15 bytes'],
    ['.', 'reserved'],
    ['..', 'reserved'],
    ['a/b', "'/'"],
    ['eth0:1', "'/'"],
    ['a b', 'white space'],
    ['a\nb', 'white space'],
  ])('rejects %j (%s)', (name, why) => {
    expect(ifnameProblem(name)).toContain(why);
    expect(() => parseIfname(name)).toThrow(/expected a Linux interface name/);
  });

  it.each([
    ['eth*', 'eth0', true],
    ['eth*', 'eth10', true],
    ['eth*', 'veth0', false],
    ['br-*', 'br-abc', true],
    ['wlan?', 'wlan1', true],
    ['wlan?', 'wlan10', false],
    ['a.b', 'axb', false],
    ['*', 'anything', true],
  ])('%s matches %s: %s', (pattern, name, expected) => expect(ifnameMatches(pattern, name)).toBe(expected));
});
