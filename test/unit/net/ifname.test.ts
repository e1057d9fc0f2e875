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
    ['e*0', 'eth10', true],
    ['*0', 'eth01', false],
    ['a*', 'a', true],
    ['**', '', true],
    ['', 'a', false],
    ['$(x)*', '$(x)1', true],
    ['[ab]', 'a', false],
  ])('%s matches %s: %s', (pattern, name, expected) => expect(ifnameMatches(pattern, name)).toBe(expected));

  it('agrees with the regular expression a glob stands for, on every pattern and name up to 4 characters of a, b, *, ?', () => {
    const words = (alphabet: string, max: number): string[] => {
      let all = [''];
      let layer = [''];
      for (let i = 0; i < max; i++) {
        layer = layer.flatMap((w) => [...alphabet].map((c) => w + c));
        all = all.concat(layer);
      }
      return all;
    };
    const names = words('ab', 4);
    for (const pattern of words('ab*?', 4)) {
      const re = new RegExp(`^${pattern.replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
      for (const name of names) expect(ifnameMatches(pattern, name), `${pattern} ~ ${name}`).toBe(re.test(name));
    }
  });
});
