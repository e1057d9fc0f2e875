import { describe, expect, it } from 'vitest';
import {
  hostPrefix,
  isLinkLocal,
  netmaskToLength,
  parseInterfaceAddress,
  parseIp,
  parsePrefix,
  prefixContains,
  tryParseIp,
} from '../../../lib/net/address.js';

describe('parseIp', () => {
  it.each([
    ['192.0.2.1', 4, '192.0.2.1'],
    ['0.0.0.0', 4, '0.0.0.0'],
    ['255.255.255.255', 4, '255.255.255.255'],
    ['2001:DB8::1', 6, '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', 6, '2001:db8::1'],
    ['::', 6, '::'],
    ['::1', 6, '::1'],
    ['fe80::', 6, 'fe80::'],
    ['2001:db8:0:0:1:0:0:1', 6, '2001:db8::1:0:0:1'],
    ['2001:0:0:1:0:0:0:1', 6, '2001:0:0:1::1'],
    ['2001:db8:1:2:3:4:5:0', 6, '2001:db8:1:2:3:4:5:0'],
    ['::ffff:192.0.2.1', 6, '::ffff:192.0.2.1'],
  ] as const)('%s → family %i, %s', (text, family, canonical) => {
    const ip = parseIp(text);
    expect(ip.family).toBe(family);
    expect(ip.text).toBe(canonical);
  });

  it.each([
    '', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.4 ', ' 1.2.3.4', '1.2.3.4;rm -rf /',
    '$(reboot)', '::1::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', 'g::1', '12345::', '1.2.3.4/24',
    '::ffff:300.1.1.1', 'fe80::1%eth0',
  ])('rejects %j', (text) => {
    expect(() => parseIp(text)).toThrow(/expected an IP address, received/);
    expect(tryParseIp(text)).toBeUndefined();
  });

  it('checks the family when one is asked for', () => {
    expect(() => parseIp('::1', 4)).toThrow('expected an IPv4 address, received "::1"');
    expect(() => parseIp('192.0.2.1', 6)).toThrow('expected an IPv6 address');
  });
});

describe('prefixes', () => {
  it.each([
    ['255.255.255.0', 24], ['255.255.255.255', 32], ['0.0.0.0', 0], ['255.255.128.0', 17], ['255.255.255.252', 30],
  ])('netmask %s is /%i', (mask, len) => expect(netmaskToLength(mask)).toBe(len));

  it.each(['255.0.255.0', '255.255.255.1', '24', 'x'])('rejects netmask %j', (mask) => {
    expect(() => netmaskToLength(mask)).toThrow(/netmask/);
  });

  it('derives the network from an interface address', () => {
    const a = parseInterfaceAddress('192.168.8.100/24');
    expect(a.address.text).toBe('192.168.8.100');
    expect(a.prefix.text).toBe('192.168.8.0/24');
    expect(parseInterfaceAddress('2001:db8:5::10/64').prefix.text).toBe('2001:db8:5::/64');
    expect(parseInterfaceAddress('10.0.0.1').prefix.text).toBe('10.0.0.1/32');
  });

  it.each(['10.0.0.1/33', '10.0.0.1/', '10.0.0.1/024', '10.0.0.1/-1', '::1/129', '10.0.0.1/2x'])(
    'rejects %j',
    (text) => expect(() => parseInterfaceAddress(text)).toThrow(/expected/),
  );

  it('insists on a clean network unless loose', () => {
    expect(parsePrefix('10.1.0.0/16').text).toBe('10.1.0.0/16');
    expect(() => parsePrefix('10.1.2.3/16')).toThrow(/host bits clear \(10.1.0.0\/16\)/);
    expect(parsePrefix('10.1.2.3/16', 4, true).text).toBe('10.1.0.0/16');
  });

  it('contains, host prefixes, link-local', () => {
    const p = parsePrefix('192.168.8.0/24');
    expect(prefixContains(p, parseIp('192.168.8.255'))).toBe(true);
    expect(prefixContains(p, parseIp('192.168.9.1'))).toBe(false);
    expect(prefixContains(p, parseIp('::1'))).toBe(false);
    expect(hostPrefix(parseIp('2001:db8::1')).text).toBe('2001:db8::1/128');
    expect(isLinkLocal(parseIp('fe80::1'))).toBe(true);
    expect(isLinkLocal(parseIp('169.254.3.4'))).toBe(true);
    expect(isLinkLocal(parseIp('2001:db8::1'))).toBe(false);
  });
});
