import { describe, expect, it } from 'vitest';
import { settingsFor } from '../../../lib/config/health.js';
import { parseConfig } from '../../../lib/config/parse.js';

describe('health_* keys', () => {
  it('defaults: on, the anycast resolvers, dns then icmp, 1 s rounds', () => {
    const h = parseConfig('').health;
    expect(h).toMatchObject({ check: true, intervalMs: 1000, timeoutMs: 1000, down: 3, up: 4, reliability: 1, overrides: [] });
    expect(h.targets).toEqual(['1.1.1.1', '1.0.0.1', '8.8.8.8', '9.9.9.9', '208.67.222.222', '2606:4700:4700::1111', '2001:4860:4860::8888']);
    expect(h.methods).toEqual([{ name: 'dns' }, { name: 'icmp' }]);
  });

  it('reads every key and the per-interface overrides (first match wins)', () => {
    const h = parseConfig(
      'health_check = no\nhealth_targets = 198.51.100.1 2001:db8::1\nhealth_methods = dns tcp:80 tcp\nhealth_interval_ms = 200\nhealth_timeout_ms = 150\nhealth_down = 2\nhealth_up = 6\nhealth_reliability = 2\n' +
        'health_override = wwan*:interval_ms=5000,down=2 usb*:check=no eth1:targets=192.0.2.1+192.0.2.2,methods=icmp\n',
    ).health;
    expect(h.methods).toEqual([{ name: 'dns' }, { name: 'tcp', port: 80 }, { name: 'tcp', port: 443 }]);
    expect(settingsFor(h, 'wwan0')).toMatchObject({ check: false, intervalMs: 5000, down: 2, up: 6, timeoutMs: 150 });
    expect(settingsFor(h, 'usb0').check).toBe(false);
    expect(settingsFor(h, 'eth1')).toMatchObject({ targets: ['192.0.2.1', '192.0.2.2'], methods: [{ name: 'icmp' }] });
    expect(settingsFor(h, 'eth0')).toMatchObject({ intervalMs: 200, targets: ['198.51.100.1', '2001:db8::1'] });
  });

  it.each([
    ['health_targets = 1.1.1.1 one.one', 'health_targets: expected IPv4 or IPv6 addresses ("one.one" is none)'],
    ['health_targets =', 'health_targets: expected at least one IPv4 or IPv6 address'],
    ['health_methods = icmp http', 'health_methods: expected icmp, dns, tcp or tcp:PORT ("http" is none)'],
    ['health_methods = tcp:70000', 'health_methods: expected icmp, dns, tcp or tcp:PORT ("tcp:70000" is none)'],
    ['health_interval_ms = 10', 'health_interval_ms: expected a whole number 100-3600000'],
    ['health_down = 0', 'health_down: expected a whole number 1-1000'],
    ['health_check = maybe', 'health_check: expected yes or no'],
    ['health_override = wwan*', 'health_override: expected PATTERN:key=value,… ("wwan*")'],
    ['health_override = wwan*:speed=1', 'health_override: expected keys check, targets, methods, interval_ms, timeout_ms, down, up, reliability as key=value ("speed=1" in wwan*)'],
    ['health_override = wwan*:interval_ms=1', 'health_override: expected a whole number 100-3600000'],
  ])('%s is refused with what was expected', (line, message) => {
    expect(() => parseConfig(`${line}\n`, 'x.conf')).toThrow(`x.conf:1: ${message}`);
  });
});
