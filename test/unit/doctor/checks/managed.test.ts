import { link, route, rule } from '../../plan/fake-kernel.js';
import { dropRules, diagnoses, type Case } from './fixture.js';

const cases: Case[] = [
  {
    name: 'degraded: fallback routes in main',
    breakIt: (s) => {
      s.kernel.links.push(link(6, 'wwan0', '203.0.113.5/24'));
      s.replyRoutes.push({ address: '203.0.113.5', ifname: 'wwan0', probe: '8.8.8.8', dev: 'wwan0' });
      s.kernel.rules.push(rule('10000 from 203.0.113.0/24 lookup 100'));
      s.kernel.routes.push(route('203.0.113.0/24 dev wwan0 proto 201 scope 253 src 203.0.113.5 metric 6'), route('default via 203.0.113.1 dev wwan0 proto 201 src 203.0.113.5 metric 6'));
    },
    expected: ['warning degraded wwan0 203.0.113.5/24'],
    advice: [/fallback/, /lease list/],
  },
  {
    // Brought up while the daemon was down, which kept the lease from before: one finding, not three.
    name: 'degraded with a stale lease and no source rule: only degraded',
    breakIt: (s) => {
      s.kernel.links.push(link(6, 'wwan0', '203.0.113.5/24'));
      s.replyRoutes.push({ address: '203.0.113.5', ifname: 'wwan0', probe: '8.8.8.8', dev: 'wwan0', gateway: '203.0.113.1' });
      s.kernel.routes.push(route('203.0.113.0/24 dev wwan0 proto 201 scope 253 src 203.0.113.5 metric 6'), route('default via 203.0.113.1 dev wwan0 proto 201 src 203.0.113.5 metric 6'));
      s.daemon.leases = [{ ifname: 'wwan0', address: '203.0.113.5', family: 4, table: 10002 }];
    },
    expected: ['warning degraded wwan0 203.0.113.5/24'],
    advice: [/fallback/, /ifdown wwan0 && ifup wwan0/],
  },
  {
    name: 'managed address missing its band rule',
    breakIt: (s) => dropRules(s, (t) => t.startsWith('31000')),
    expected: ['error incomplete eth0 192.0.2.10/24'],
    advice: [/missing rules: band/],
  },
  {
    name: 'main\'s suppress rule missing: every address of the family is incomplete',
    breakIt: (s) => { s.kernel.rules = s.kernel.rules.filter((r) => r.suppressPrefixLength === undefined); },
    expected: ['error incomplete eth0 192.0.2.10/24', 'error incomplete wlan1 198.51.100.10/24'],
    advice: [/missing rules: main suppress/, /keeps LAN, container and VPN routes ahead of the band/],
  },
  {
    name: 'rules of ours pointing at an emptied table',
    breakIt: (s) => {
      s.kernel.routes = s.kernel.routes.filter((r) => r.table !== 10001);
    },
    expected: ['error empty-table table 10001'],
    advice: [/holds no routes/, /ip -4 rule del pref 10000 from 198\.51\.100\.10\/32 lookup 10001/],
  },
];

diagnoses('doctor check managed (lib/doctor/checks/managed.ts)', cases);
