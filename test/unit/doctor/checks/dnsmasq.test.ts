import { diagnoses, type Case } from './fixture.js';

const cases: Case[] = [
  {
    name: 'the signalled dnsmasq does not read our servers-file',
    breakIt: (s) => (s.dnsmasq.running[0] = { ...s.dnsmasq.running[0]!, serversFiles: [], confFiles: ['/etc/dnsmasq.conf'] }),
    expected: ['error dnsmasq-servers-file dnsmasq pid 40'],
    advice: [/does not read our servers-file/, /echo 'servers-file=\/run\/multihomed-routing\/dnsmasq-servers.conf' > \/etc\/dnsmasq.d\/multihomed-routing.conf/],
  },
  {
    name: 'a dnsmasq reads our file but the pid file names none',
    breakIt: (s) => {
      delete s.dnsmasq.pidFromFile;
      s.dnsmasq.running[0]!.argv.push('--pid-file=/run/dns.pid');
    },
    expected: ['warning dnsmasq-pid-file dnsmasq pid 40'],
    advice: [/dnsmasq_pid_file = \/run\/dns.pid/],
  },
  { name: 'no dnsmasq at all', breakIt: (s) => (s.dnsmasq = { running: [] }), expected: ['warning dnsmasq-not-running dnsmasq'] },
  { name: 'no dnsmasq, dnsmasq_mode off', cfg: { dnsmasqMode: false }, breakIt: (s) => (s.dnsmasq = { running: [] }), expected: [] },
];

diagnoses('doctor check dnsmasq (lib/doctor/checks/dnsmasq.ts)', cases);
