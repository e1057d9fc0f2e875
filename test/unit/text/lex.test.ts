import { describe, expect, it } from 'vitest';
import { isCanonicalDecimal, isDecimalDigits, isHexDigits, splitOn } from '../../../lib/text/lex.js';

// The hand-written checks replace regular expressions one for one: each is
// compared with the expression it replaces over a spread of inputs.

const samples = ['', '0', '00', '01', '1', '9', '10', '99', '100', '255', '256', '999', '1000', '0123', '12a', 'a', 'A', 'f', 'F', 'g', 'ff', 'FFFF', 'fffff', '1f2E', ' 1', '1 ', '-1', '+1', '1.0', '٣', '１', '4294967295', '42949672950', '\u0000'];

describe('lex', () => {
  it.each([
    [(t: string) => isCanonicalDecimal(t, 3), /^(0|[1-9]\d{0,2})$/],
    [(t: string) => isCanonicalDecimal(t, 10), /^(0|[1-9]\d{0,9})$/],
    [(t: string) => isDecimalDigits(t, 10), /^\d{1,10}$/],
    [(t: string) => isHexDigits(t, 4), /^[0-9a-fA-F]{1,4}$/],
  ])('%# agrees with the regular expression it replaces', (check, re) => {
    for (const t of samples) expect(check(t), JSON.stringify(t)).toBe(re.test(t));
  });

  it('an IPv4 octet: canonical decimal up to 255, as the old expression had it', () => {
    const old = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
    for (let n = 0; n < 1000; n++) for (const t of [String(n), `0${n}`]) expect(isCanonicalDecimal(t, 3) && Number(t) <= 255, t).toBe(old.test(t));
  });

  it('splitOn: the items between runs of separators, as split(/[ \\t]+/) without empty items', () => {
    for (const t of ['', ' ', 'a', ' a  b\tc ', '\t\ta\t', 'a\nb', '10.0.0.1 10.0.0.2']) {
      expect(splitOn(t, ' \t'), JSON.stringify(t)).toEqual(t.split(/[ \t]+/).filter((x) => x !== ''));
    }
  });
});
