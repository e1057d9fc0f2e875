import { describe, expect, it } from 'vitest';
import { parseIp } from '../../../lib/net/address.js';
import {
  HEADER,
  parseServersFile,
  renderServersFile,
  serverLine,
  setInterfaceServers,
  type ServersModel,
} from '../../../lib/dns/servers-file.js';

const ips = (...texts: string[]) => texts.map((t) => parseIp(t));
const model = (entries: Record<string, string[]>): ServersModel =>
  new Map(Object.entries(entries).map(([k, v]) => [k, ips(...v)]));
const body = (text: string) => text.split('\n').filter((l) => l && !l.startsWith('#'));
const asObject = (m: ServersModel) => Object.fromEntries([...m].map(([k, v]) => [k, v.map((s) => s.text)]));

describe('serverLine', () => {
  it.each([
    ['eth1', '192.0.2.53', 'server=192.0.2.53@eth1'],
    ['wlan0', '2001:DB8::53', 'server=2001:db8::53@wlan0'],
    ['usb0', 'fe80::1', 'server=fe80::1%usb0@usb0'],
    ['enp0s31f6.100', '10.0.0.1', 'server=10.0.0.1@enp0s31f6.100'],
  ])('%s %s → %s', (ifname, server, line) => {
    expect(serverLine(ifname, parseIp(server))).toBe(line);
  });

  it.each(['eth@1', 'eth#1', 'e$(x)', 'a b', 'a,b', 'a"b', "a'b", 'a%b', 'a/b', '', 'x'.repeat(16)])(
    'refuses interface name %j',
    (ifname) => {
      expect(() => serverLine(ifname, parseIp('192.0.2.1'))).toThrow(/expected an interface name of letters, digits and _ \. \+ - for the dnsmasq servers-file, received/);
    },
  );
});

describe('render and parse', () => {
  const m = model({ eth1: ['10.99.0.1', '192.0.2.53', 'fd99::1'], wlan0: ['10.98.0.1', 'fe80::1'] });
  const text = renderServersFile(m);

  it('renders a header and one line per server, in model order', () => {
    expect(text.split('\n').slice(0, HEADER.length)).toEqual(HEADER);
    expect(body(text)).toEqual([
      'server=10.99.0.1@eth1',
      'server=192.0.2.53@eth1',
      'server=fd99::1@eth1',
      'server=10.98.0.1@wlan0',
      'server=fe80::1%wlan0@wlan0',
    ]);
    expect(text.endsWith('\n')).toBe(true);
  });

  it('parses what it renders back into the same model', () => {
    const parsed = parseServersFile(text);
    expect(asObject(parsed.model)).toEqual(asObject(m));
    expect(parsed.foreign).toEqual([]);
    expect(renderServersFile(parsed.model)).toBe(text);
  });

  it('renders an empty model as the header alone', () => {
    expect(body(renderServersFile(new Map()))).toEqual([]);
  });

  it('reports lines it did not write as foreign', () => {
    const parsed = parseServersFile(
      [
        '# comment',
        '',
        'server=10.0.0.1@eth0',
        'server=8.8.8.8',
        'server=/example.com/10.0.0.9',
        'server=10.0.0.1.5@eth0',
        'server=10.0.0.2@eth0@10.0.0.7',
        'server=fe80::1%eth1@eth0',
        'server=$(reboot)@eth0',
        'no-resolv',
      ].join('\n'),
    );
    expect(asObject(parsed.model)).toEqual({ eth0: ['10.0.0.1'] });
    expect(parsed.foreign).toEqual([
      'server=8.8.8.8',
      'server=/example.com/10.0.0.9',
      'server=10.0.0.1.5@eth0',
      'server=10.0.0.2@eth0@10.0.0.7',
      'server=fe80::1%eth1@eth0',
      'server=$(reboot)@eth0',
      'no-resolv',
    ]);
  });
});

describe('setInterfaceServers', () => {
  const start = model({ eth1: ['10.99.0.1', 'fd99::1'], wlan0: ['10.98.0.1'] });
  it.each([
    ['replaces one family, keeps the other', 'eth1', 4, ['10.99.0.2'], { eth1: ['10.99.0.2', 'fd99::1'], wlan0: ['10.98.0.1'] }],
    ['replaces IPv6, IPv4 stays first', 'eth1', 6, ['fd99::2', 'fd99::3'], { eth1: ['10.99.0.1', 'fd99::2', 'fd99::3'], wlan0: ['10.98.0.1'] }],
    ['removes one family', 'eth1', 4, [], { eth1: ['fd99::1'], wlan0: ['10.98.0.1'] }],
    ['an interface with nothing left disappears', 'wlan0', 4, [], { eth1: ['10.99.0.1', 'fd99::1'] }],
    ['a new interface is appended', 'usb0', 4, ['192.168.8.1'], { eth1: ['10.99.0.1', 'fd99::1'], wlan0: ['10.98.0.1'], usb0: ['192.168.8.1'] }],
    ['duplicates collapse', 'usb0', 4, ['192.168.8.1', '192.168.8.1'], { eth1: ['10.99.0.1', 'fd99::1'], wlan0: ['10.98.0.1'], usb0: ['192.168.8.1'] }],
    ['removing an unknown interface changes nothing', 'eth9', 6, [], { eth1: ['10.99.0.1', 'fd99::1'], wlan0: ['10.98.0.1'] }],
    // 10.99.0.1 vs 10.99.0.10: exact comparison, no prefix or pattern match
    ['exact match only', 'eth1', 4, ['10.99.0.10'], { eth1: ['10.99.0.10', 'fd99::1'], wlan0: ['10.98.0.1'] }],
  ] as const)('%s', (_, ifname, family, servers, expected) => {
    const next = setInterfaceServers(start, ifname, family, ips(...servers));
    expect(asObject(next)).toEqual(expected);
    expect(asObject(start)).toEqual({ eth1: ['10.99.0.1', 'fd99::1'], wlan0: ['10.98.0.1'] }); // not mutated
  });

  it('refuses a server of the other family', () => {
    expect(() => setInterfaceServers(start, 'eth1', 4, ips('fd99::9'))).toThrow('expected IPv4 name servers for eth1, received fd99::9');
  });

  it('refuses to add servers for an interface name dnsmasq would misread', () => {
    expect(() => setInterfaceServers(start, 'eth@1', 4, ips('10.0.0.1'))).toThrow(/received "eth@1"/);
  });
});
