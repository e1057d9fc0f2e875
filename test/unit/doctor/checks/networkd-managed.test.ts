import { diagnoses, type Case } from './fixture.js';

const cases: Case[] = [
  {
    name: 'networkd and netplan manage an interface',
    breakIt: (s) => {
      s.networkd.push({ ifname: 'eth0', networkFile: '/run/systemd/network/10-netplan-eth0.network' });
      s.netplan.push({ ifname: 'eth0', renderer: 'networkd', file: '/etc/netplan/01-netcfg.yaml' }, { ifname: 'wlan1', renderer: 'NetworkManager', file: '/etc/netplan/01-netcfg.yaml' });
    },
    expected: ['warning networkd-managed eth0'],
    advice: [/systemd-networkd configures it \(\/run\/systemd\/network\/10-netplan-eth0.network\); netplan hands it to networkd/, /remove eth0 from \/etc\/netplan\/01-netcfg.yaml/],
  },
  { name: 'networkd on an ignored interface', breakIt: (s) => s.networkd.push({ ifname: 'docker0' }), expected: [] },
];

diagnoses('doctor check networkd-managed (lib/doctor/checks/networkd-managed.ts)', cases);
