import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lib/config/parse.js';
import { diagnose } from '../../../lib/doctor/checks/index.js';
import { formatReport } from '../../../lib/doctor/format.js';
import { hookTarget, parseNetplan, parseNetworkdLink } from '../../../lib/doctor/parse.js';
import { wrap } from '../../../lib/text/wrap.js';

describe('parseNetplan', () => {
  it('finds interfaces per section, with global and per-device renderer and set-name', () => {
    const yaml = `# netplan
network:
  version: 2
  renderer: networkd
  ethernets:
    eth0:
      dhcp4: true
    lan:
      match:
        macaddress: "00:11:22:33:44:55"
      set-name: eth1
  wifis:
    wlan0:
      renderer: NetworkManager
      access-points:
        "home": {}
`;
    expect(parseNetplan(yaml)).toEqual([
      { ifname: 'eth0', renderer: 'networkd' },
      { ifname: 'eth1', renderer: 'networkd' },
      { ifname: 'wlan0', renderer: 'NetworkManager' },
    ]);
  });
  it('defaults to networkd', () => expect(parseNetplan('network:\n  ethernets:\n    enp1s0: {dhcp4: true}\n')).toEqual([{ ifname: 'enp1s0', renderer: 'networkd' }]));
});

describe('parseNetworkdLink', () => {
  it.each([
    ['ADMIN_STATE=configured\nOPER_STATE=routable\nNETWORK_FILE=/run/systemd/network/10-netplan-eth0.network\n', { managed: true, networkFile: '/run/systemd/network/10-netplan-eth0.network' }],
    ['ADMIN_STATE=unmanaged\nOPER_STATE=routable\n', { managed: false }],
    ['# This is private data. Do not parse.\nADMIN_STATE=configuring\nNETWORK_FILE=/etc/systemd/network/wl.network\n', { managed: true, networkFile: '/etc/systemd/network/wl.network' }],
  ])('%j', (text, expected) => expect(parseNetworkdLink(text)).toEqual(expected));
});

describe('hookTarget', () => {
  const root = new URL('../../../', import.meta.url);
  /** A file as install.sh writes it (`--print` runs the very generator an install uses). */
  const installed = (file: string, prefix = '/usr/local') =>
    execFileSync('bash', [fileURLToPath(new URL('install.sh', root)), '--print', file], { env: { ...process.env, PREFIX: prefix }, encoding: 'utf8' });
  const shim = installed('dhclient-hook');
  const exe = '/usr/local/sbin/multihomed-routing';
  const withExe = (line: string) => shim.replace(`mhr_exe='${exe}'`, line);

  it('reads the real dhclient shim by its assignment, not by the path in its header comment', () => {
    expect(shim).toContain('# Installed as /etc/dhcp/dhclient-enter-hooks.d/multihomed-routing');
    expect(hookTarget(shim)).toBe(exe);
  });

  it.each<[string, string, string | undefined]>([
    ['dhclient shim from install.sh', shim, exe],
    ['dhclient shim, another PREFIX', installed('dhclient-hook', '/opt/mhr-1.0'), '/opt/mhr-1.0/sbin/multihomed-routing'],
    ['dhclient shim, edited: a path with spaces', withExe("mhr_exe='/opt/my tools/multihomed-routing'"), '/opt/my tools/multihomed-routing'],
    ['dhclient shim, edited: double quotes', withExe('mhr_exe="/opt/x y/multihomed-routing"'), '/opt/x y/multihomed-routing'],
    ['dhclient shim, edited: no quotes', withExe('mhr_exe=/opt/x/multihomed-routing'), '/opt/x/multihomed-routing'],
    ['dhclient shim, edited: empty', withExe("mhr_exe=''"), undefined],
    ['the template, placeholder not replaced', readFileSync(new URL('hooks/dhclient/shim.sh', root), 'utf8'), '@EXECUTABLE@'],
    ['ifupdown hook from install.sh', installed('ifupdown-hook'), exe],
    ['udev rule from install.sh', installed('udev-rule'), exe],
    ['ifupdown hook by hand', '#!/bin/sh\nexec /usr/local/sbin/gone/multihomed-routing ifupdown\n', '/usr/local/sbin/gone/multihomed-routing'],
    ['a file opened by exec first', '#!/bin/bash\nexec 3<>/run/x/slot.1\nexec 3<&-\nexec \'/opt/x/multihomed-routing\' ifupdown\n', '/opt/x/multihomed-routing'],
    ['udev rule by hand', 'SUBSYSTEM=="net", ACTION=="remove", RUN+="/usr/sbin/multihomed-routing udev-remove"\n', '/usr/sbin/multihomed-routing'],
    ['only comments', '# exec /usr/local/sbin/multihomed-routing\n# RUN+="/usr/sbin/multihomed-routing"\n', undefined],
  ])('%s', (_name, text, expected) => expect(hookTarget(text)).toBe(expected));
});

describe('human report', () => {
  it('wraps prose to 80 columns, keeps commands whole', () => {
    expect(wrap('word '.repeat(40), '  ').every((l) => l.length <= 80)).toBe(true);
    const config = parseConfig('dnsmasq_mode = yes\n');
    const text = formatReport(
      diagnose(
        {
          kernel: { links: [], routes: [], rules: [], sysctls: {} },
          rpFilter: { all: '1', byIface: {} },
          replyRoutes: [],
          daemon: { socketPath: config.socketPath, answering: false, error: 'ENOENT' },
          dnsmasq: { running: [] },
          tools: { ifupdown: false, dhclient: false, udev: false, networkManager: false },
          hooks: {} as never,
          networkd: [],
          netplan: [],
        },
        config,
      ),
      '0 addresses checked',
    );
    expect(text).toMatch(/^doctor: 1 error, 1 warning \(0 addresses checked\)\n\nERROR \[daemon-down\]/);
    for (const line of text.split('\n')) if (!line.startsWith('    ')) expect(line.length).toBeLessThanOrEqual(80);
  });
});
