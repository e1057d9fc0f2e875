import { route } from '../../plan/fake-kernel.js';
import { addManaged, diagnoses, type Case } from './fixture.js';

const cases: Case[] = [
  {
    name: 'default route in main from systemd-networkd (proto dhcp)',
    breakIt: (s) => s.kernel.routes.push(route('default via 192.0.2.1 dev eth0 proto 16 src 192.0.2.10 metric 1024')),
    expected: ['warning main-default main default via 192.0.2.1 dev eth0 src 192.0.2.10 metric 1024'],
    advice: [/DHCP client other than dhclient/, /before our `iif lo` rules at 91000/, /ip -4 route del default via 192\.0\.2\.1 dev eth0 metric 1024 proto 16/],
  },
  {
    name: 'default route in main from ifupdown (proto boot)',
    breakIt: (s) => s.kernel.routes.push(route('default via 192.0.2.1 dev eth0')),
    expected: ['warning main-default main default via 192.0.2.1 dev eth0'],
    advice: [/ifupdown's `gateway` line/, /ifdown eth0 && ifup eth0/],
  },
  {
    name: 'NetworkManager default (metric 600): a note, not a problem',
    breakIt: (s) => {
      s.tools.networkManager = true;
      s.hooks.nmDispatcher = { ...s.hooks.nmDispatcher, exists: true, executable: true };
      s.kernel.routes.push(route('default via 198.51.100.1 dev wlan1 proto 16 metric 600'));
    },
    expected: ['info main-default main default via 198.51.100.1 dev wlan1 metric 600'],
    advice: [/NetworkManager/, /by design/],
  },
  {
    // netplan with systemd-networkd uses NetworkManager's metrics (100 wired, 600 wireless).
    name: 'metric 600 without NetworkManager installed: shadows our rules, a warning',
    breakIt: (s) => s.kernel.routes.push(route('default via 198.51.100.1 dev wlan1 proto 16 metric 600')),
    expected: ['warning main-default main default via 198.51.100.1 dev wlan1 metric 600'],
    advice: [/DHCP client other than dhclient/, /ip -4 route del default via 198\.51\.100\.1 dev wlan1 metric 600 proto 16/],
  },
  {
    name: 'IPv6 default from a router advertisement',
    breakIt: (s) => {
      addManaged(s, 'eth0', '2001:db8::10', 'fe80::1', 10002, 0);
      s.kernel.routes.push(route('default via fe80::1 dev eth0 proto 9 metric 1024'));
    },
    expected: ['warning main-default main default via fe80::1 dev eth0 metric 1024'],
    advice: [/router advertisement/, /net\.ipv6\.conf\.eth0\.accept_ra_defrtr=0/],
  },
  {
    name: 'our rules before main: a main default does not shadow them',
    cfg: { prefDefault: 30000 },
    breakIt: (s) => {
      s.kernel.rules = s.kernel.rules.map((r) => (r.iif === 'lo' ? { ...r, priority: r.priority - 61000 } : r));
      s.kernel.routes.push(route('default via 192.0.2.1 dev eth0'));
    },
    expected: [],
  },
];

diagnoses('doctor check main-default (lib/doctor/checks/main-default.ts)', cases);
