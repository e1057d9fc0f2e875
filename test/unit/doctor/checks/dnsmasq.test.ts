import { diagnoses, type Case } from './fixture.js';

const yes = { dnsmasqMode: 'yes' } as const;
const cases: Case[] = [
  {
    name: 'yes: the signalled dnsmasq does not read our servers-file',
    cfg: yes,
    breakIt: (s) => (s.dnsmasq.running[0] = { ...s.dnsmasq.running[0]!, serversFiles: [], confFiles: ['/etc/dnsmasq.conf'] }),
    expected: ['error dnsmasq-servers-file dnsmasq pid 40'],
    advice: [/does not read our servers-file/, /echo 'servers-file=\/run\/multihomed-routing\/dnsmasq-servers.conf' > \/etc\/dnsmasq.d\/multihomed-routing.conf/],
  },
  {
    name: 'yes: a dnsmasq reads our file but the pid file names none',
    cfg: yes,
    breakIt: (s) => {
      delete s.dnsmasq.pidFromFile;
      s.dnsmasq.running[0]!.argv.push('--pid-file=/run/dns.pid');
    },
    expected: ['warning dnsmasq-pid-file dnsmasq pid 40'],
    advice: [/dnsmasq_pid_file = \/run\/dns.pid/],
  },
  { name: 'yes: no dnsmasq at all', cfg: yes, breakIt: (s) => (s.dnsmasq = { running: [] }), expected: ['warning dnsmasq-not-running dnsmasq'], advice: [/dnsmasq_mode = auto/] },
  { name: 'no: no dnsmasq', cfg: { dnsmasqMode: 'no' }, breakIt: (s) => (s.dnsmasq = { running: [] }), expected: [] },
  { name: 'auto: the dnsmasq of the pid file reads our file (healthy)', breakIt: () => {}, expected: [] },
  {
    name: 'auto: no dnsmasq: per-uplink DNS off, advice only',
    breakIt: (s) => (s.dnsmasq = { running: [] }),
    expected: ['info dns-per-uplink-off dnsmasq'],
    advice: [/Per-uplink DNS is off: dnsmasq_mode = auto and no dnsmasq runs with the pid file \/run\/dnsmasq\/dnsmasq.pid/, /--servers-file=\/run\/multihomed-routing\/dnsmasq-servers.conf/, /dnsmasq_mode = yes/],
  },
  {
    name: 'auto: the signalled dnsmasq reads another servers-file: off, advice only',
    breakIt: (s) => (s.dnsmasq.running[0] = { ...s.dnsmasq.running[0]!, serversFiles: ['/etc/other.conf'] }),
    expected: ['info dns-per-uplink-off dnsmasq'],
    advice: [/dnsmasq pid 40 \(\/run\/dnsmasq\/dnsmasq.pid\) does not read/],
  },
  {
    name: 'auto: a dnsmasq reads our file but the pid file names none: off, and why',
    breakIt: (s) => void delete s.dnsmasq.pidFromFile,
    expected: ['warning dnsmasq-pid-file dnsmasq pid 40'],
    advice: [/dnsmasq_mode = auto per-uplink DNS is on only while/],
  },
];

diagnoses('doctor check dnsmasq (lib/doctor/checks/dnsmasq.ts)', cases);
