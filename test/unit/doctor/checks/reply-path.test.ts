import { link } from '../../plan/fake-kernel.js';
import { dropRules, unmanageWlan1, setReply, diagnoses, type Case } from './fixture.js';

const cases: Case[] = [
  {
    name: 'seed 002: no from rule, replies leave by the other uplink',
    breakIt: (s) => {
      unmanageWlan1(s);
      setReply(s, '198.51.100.10', 'eth0');
    },
    expected: ['error reply-path wlan1 198.51.100.10'],
    advice: [/would leave by eth0/, /no rule sends traffic from 198\.51\.100\.10/, /ifdown wlan1 && ifup wlan1/],
  },
  {
    name: 'no from rule on a multihomed host, replies right by chance',
    breakIt: unmanageWlan1,
    expected: ['warning no-source-rule wlan1 198.51.100.10'],
    advice: [/only because the rules for unbound traffic happen to pick it/, /ranked before it/],
  },
  {
    name: 'a DHCP address gets the dhclient advice',
    breakIt: (s) => {
      s.kernel.links[2]!.addresses[0]!.flags.push('dynamic');
      unmanageWlan1(s);
    },
    expected: ['warning no-source-rule wlan1 198.51.100.10'],
    advice: [/dhclient -r wlan1 && dhclient wlan1/],
  },
  {
    name: 'a managed address lost its from rule: the cause and the effect',
    breakIt: (s) => {
      dropRules(s, (t) => t.startsWith('10000 198.51.100.10/32'));
      setReply(s, '198.51.100.10', 'eth0');
    },
    expected: ['error reply-path wlan1 198.51.100.10', 'error incomplete wlan1 198.51.100.10/24'],
  },
  {
    // A second modem with the same address, configured without the hooks: the bound probe finds no route.
    name: 'shared address: bound probe answered on-link without a table',
    breakIt: (s) => {
      s.kernel.links.push(link(6, 'wwan1', '192.0.2.10/24'));
      s.replyRoutes.push({ address: '192.0.2.10', ifname: 'wwan1', probe: '8.8.8.8', bound: true, dev: 'wwan1' });
      s.rpFilter.byIface.wwan1 = '2';
    },
    expected: ['error reply-path wwan1 192.0.2.10'],
    advice: [/bound to wwan1 has no route/, /oif wwan1/, /ifdown wwan1 && ifup wwan1/],
  },
  {
    name: 'shared address: bound probe through the table of its own is fine',
    breakIt: (s) => {
      s.kernel.links.push(link(6, 'wwan1', '192.0.2.10/24'));
      s.replyRoutes.push({ address: '192.0.2.10', ifname: 'wwan1', probe: '8.8.8.8', bound: true, dev: 'wwan1', gateway: '192.0.2.1', table: '10005' });
      s.rpFilter.byIface.wwan1 = '2';
    },
    expected: [],
  },
];

diagnoses('doctor check reply-path (lib/doctor/checks/reply-path.ts)', cases);
