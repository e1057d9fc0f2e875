import { link } from '../../plan/fake-kernel.js';
import { addManaged, setReply, diagnoses, type Case } from './fixture.js';

const cases: Case[] = [
  {
    name: 'same address on two modems, one strict',
    breakIt: (s) => {
      s.kernel.links.push(link(4, 'usb0', '192.168.8.100/24'), link(5, 'usb1', '192.168.8.100/24'));
      addManaged(s, 'usb0', '192.168.8.100', '192.168.8.1', 10002, 2);
      addManaged(s, 'usb1', '192.168.8.100', '192.168.8.1', 10003, 3);
      s.rpFilter.byIface.usb0 = '2';
      s.rpFilter.byIface.usb1 = '0'; // effective max(all=1, 0) = 1
      s.replyRoutes.push({ address: '192.168.8.100', ifname: 'usb0', probe: '8.8.8.8', bound: true, dev: 'usb0', gateway: '192.168.8.1', table: '10002' }, { address: '192.168.8.100', ifname: 'usb1', probe: '8.8.8.8', bound: true, dev: 'usb1', gateway: '192.168.8.1', table: '10003' });
    },
    expected: ['error rp-filter-strict usb1'],
    advice: [/192\.168\.8\.100 is also on usb0/, /sysctl -w net\.ipv4\.conf\.usb1\.rp_filter=2/],
  },
  {
    name: 'asymmetric return path on a strict interface',
    breakIt: (s) => {
      s.rpFilter.byIface.eth0 = '1';
      setReply(s, '192.0.2.10', 'wlan1');
    },
    expected: ['error reply-path eth0 192.0.2.10', 'error rp-filter-strict eth0'],
  },
  {
    name: 'strict rp_filter alone, with symmetric routing, is fine',
    breakIt: (s) => {
      s.rpFilter.byIface.eth0 = '1';
    },
    expected: [],
  },
  {
    name: 'strict all with loose interface is loose (max)',
    breakIt: (s) => {
      s.rpFilter = { all: '2', byIface: { eth0: '1', wlan1: '1' } };
      s.kernel.links.push(link(4, 'usb0', '192.0.2.10/24'));
    },
    expected: ['warning no-source-rule usb0 192.0.2.10'].filter(() => false),
  },
];

diagnoses('doctor check rp-filter-strict (lib/doctor/checks/rp-filter-strict.ts)', cases);
