import { unmanageWlan1, diagnoses, type Case } from './fixture.js';

const cases: Case[] = [
  {
    name: 'a leased address whose rules and routes are gone',
    breakIt: (s) => {
      unmanageWlan1(s);
      s.daemon.leases = [{ ifname: 'wlan1', address: '198.51.100.10', family: 4, table: 10001 }, { ifname: 'eth0', address: '192.0.2.10', family: 4, table: 10000 }, { ifname: 'gone0', address: '203.0.113.9', family: 4, table: 10009 }];
    },
    expected: ['error missing-table wlan1 198.51.100.10', 'warning no-source-rule wlan1 198.51.100.10'],
    advice: [/has table 10001 leased, but no rule or route of ours uses that table/, /ifdown wlan1 && ifup wlan1/],
  },
];

diagnoses('doctor check missing-table (lib/doctor/checks/missing-table.ts)', cases);
