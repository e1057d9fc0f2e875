import { describe, expect, it } from 'vitest';
import { parseClasslessRoutes } from '../../../lib/dhcp/classless.js';

const V = 'new_rfc3442_classless_static_routes';
const show = (text: string) =>
  parseClasslessRoutes(V, text).map((r) => `${r.destination.text}${r.gateway ? ` via ${r.gateway.text}` : ' on-link'}`);

describe('parseClasslessRoutes', () => {
  it.each([
    // What dnsmasq sends for 192.168.10.0/24,10.99.0.1 and 0.0.0.0/0,10.99.0.1 (captured from dhclient).
    ['24 192 168 10 10 99 0 1 0 10 99 0 1', ['192.168.10.0/24 via 10.99.0.1', '0.0.0.0/0 via 10.99.0.1']],
    // The example in Debian's rfc3442-classless-routes exit hook.
    ['24 192 168 10 192 168 1 1 8 10 10 17 66 41', ['192.168.10.0/24 via 192.168.1.1', '10.0.0.0/8 via 10.17.66.41']],
    ['32 10 0 0 7 10 0 0 1', ['10.0.0.7/32 via 10.0.0.1']],
    ['25 10 0 0 128 10 0 0 1', ['10.0.0.128/25 via 10.0.0.1']],
    ['16 172 16 0 0 0 0', ['172.16.0.0/16 on-link']],
    ['9 10 128 192 0 2 1', ['10.128.0.0/9 via 192.0.2.1']],
    ['0 192 0 2 1', ['0.0.0.0/0 via 192.0.2.1']],
    ['  0  192 0 2 1 ', ['0.0.0.0/0 via 192.0.2.1']],
    ['', []],
  ])('%j', (text, expected) => {
    expect(show(text)).toEqual(expected);
  });

  it.each([
    ['24 192 168 10 192 168 1', /8 bytes for the \/24 route at byte 1, only 7 left/],
    ['24 192 168 10 192 168 1 1 8', /6 bytes for the \/8 route at byte 9, only 1 left/],
    ['33 10 0 0 0 0 10 0 0 1', /destination width 0\.\.32 at byte 1/],
    ['24 192 168 256 10 0 0 1', /decimal bytes 0\.\.255/],
    ['24 192 168 010 10 0 0 1', /decimal bytes 0\.\.255/],
    ['24 192 168 10 10 0 0 -1', /decimal bytes 0\.\.255/],
    ['24,192,168,10,10,0,0,1', /decimal bytes 0\.\.255/],
    ['$(reboot)', /decimal bytes 0\.\.255/],
    ['24 192 168 10 10 0 0 1; reboot', /decimal bytes 0\.\.255/],
    ['8 10 1 2 3 4 5', /6 bytes for the \/5 route at byte 7, only 1 left/],
    ['24 10 0 0 127 0 0 1', /unicast router for 10\.0\.0\.0\/24, not 127\.0\.0\.1/],
    ['0 224 0 0 1', /unicast router/],
  ])('rejects %j', (text, message) => {
    expect(() => parseClasslessRoutes(V, text)).toThrow(message);
    expect(() => parseClasslessRoutes(V, text)).toThrow(/^new_rfc3442_classless_static_routes: expected .*, received "/);
  });

  it('rejects host bits inside the significant octets', () => {
    // /20 has 3 significant octets; 10.0.17.0 has bits set below the /20.
    expect(() => parseClasslessRoutes(V, '20 10 0 17 10 0 0 1')).toThrow(
      'expected the /20 destination at byte 1 to have its host bits clear (10.0.16.0/20), not 10.0.17.0',
    );
  });

  it('rejects more than 64 routes', () => {
    const many = Array.from({ length: 65 }, (_, i) => `32 10 0 0 ${i} 10 0 0 1`).join(' ');
    expect(() => parseClasslessRoutes(V, many)).toThrow(/at most 64 routes/);
  });
});
