import { route } from '../../plan/fake-kernel.js';
import { addManaged, diagnoses, legacyBand, type Case } from './fixture.js';

const cases: Case[] = [
  // The layout of docs/routing.md: the band (31000+) comes before main (32766), main's defaults are the last resort.
  {
    name: 'default route in main from systemd-networkd (proto dhcp): the band comes first, no finding',
    breakIt: (s) => s.kernel.routes.push(route('default via 192.0.2.1 dev eth0 proto 16 src 192.0.2.10 metric 1024')),
    expected: [],
  },
  {
    name: 'dual-stack SLAAC host: RA defaults in main, tables for both families, no finding',
    breakIt: (s) => {
      addManaged(s, 'eth0', '2001:db8::10', 'fe80::1', 10002, 0);
      addManaged(s, 'wlan1', '2001:db8:1::10', 'fe80::2', 10003, 1);
      s.kernel.routes.push(route('default via fe80::2 dev wlan1 proto 9 metric 1024'), route('default via fe80::1 dev eth0 proto 9 metric 1024'));
    },
    expected: [],
  },
  {
    name: 'NetworkManager default (metric 600): no finding either',
    breakIt: (s) => {
      s.tools.networkManager = true;
      s.hooks.nmDispatcher = { ...s.hooks.nmDispatcher, exists: true, executable: true };
      s.kernel.routes.push(route('default via 198.51.100.1 dev wlan1 proto 16 metric 600'));
    },
    expected: [],
  },
  // Band rules of an older version (`iif lo` at 91000+) come after main: main's defaults shadow them until moved.
  {
    name: 'old band rules, default in main from systemd-networkd (proto dhcp)',
    breakIt: (s) => {
      legacyBand(s);
      s.kernel.routes.push(route('default via 192.0.2.1 dev eth0 proto 16 src 192.0.2.10 metric 1024'));
    },
    expected: ['warning main-default main default via 192.0.2.1 dev eth0 src 192.0.2.10 metric 1024'],
    advice: [/DHCP client other than dhclient/, /before our band rules at 91001/, /are moved by the next event or a daemon restart/, /systemctl restart multihomed-routing/, /ip -4 route del default via 192\.0\.2\.1 dev eth0 metric 1024 proto 16/],
  },
  {
    name: 'old band rules, default in main from ifupdown (proto boot)',
    breakIt: (s) => {
      legacyBand(s);
      s.kernel.routes.push(route('default via 192.0.2.1 dev eth0'));
    },
    expected: ['warning main-default main default via 192.0.2.1 dev eth0'],
    advice: [/ifupdown's `gateway` line/, /ifdown eth0 && ifup eth0/],
  },
  {
    name: 'old band rules under NetworkManager: a note',
    breakIt: (s) => {
      legacyBand(s);
      s.tools.networkManager = true;
      s.hooks.nmDispatcher = { ...s.hooks.nmDispatcher, exists: true, executable: true };
      s.kernel.routes.push(route('default via 198.51.100.1 dev wlan1 proto 16 metric 600'));
    },
    expected: ['info main-default main default via 198.51.100.1 dev wlan1 metric 600'],
    advice: [/NetworkManager/],
  },
  {
    name: 'old band rules, IPv6 default from a router advertisement: the advice keeps the RA route',
    breakIt: (s) => {
      addManaged(s, 'eth0', '2001:db8::10', 'fe80::1', 10002, 0);
      legacyBand(s);
      s.kernel.routes.push(route('default via fe80::1 dev eth0 proto 9 metric 1024'));
    },
    expected: ['warning main-default main default via fe80::1 dev eth0 metric 1024'],
    advice: [/router advertisement/, /leave it/],
    notAdvice: [/accept_ra_defrtr=0/, /route del/],
  },
];

diagnoses('doctor check main-default (lib/doctor/checks/main-default.ts)', cases);
