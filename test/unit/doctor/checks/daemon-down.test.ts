import { config, diagnoses, type Case } from './fixture.js';

const cases: Case[] = [
  {
    name: 'daemon not answering',
    breakIt: (s) => (s.daemon = { socketPath: config.socketPath, answering: false, error: 'ECONNREFUSED' }),
    expected: [`error daemon-down ${config.socketPath}`],
    advice: [/ECONNREFUSED/, /systemctl start multihomed-routing/],
  },
];

diagnoses('doctor check daemon-down (lib/doctor/checks/daemon-down.ts)', cases);
