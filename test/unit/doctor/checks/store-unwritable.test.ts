import { config, diagnoses, type Case } from './fixture.js';

const cases: Case[] = [
  {
    name: 'the daemon found its store read-only',
    breakIt: (s) => (s.storeProblem = { path: config.storePath, error: "EROFS: read-only file system, open '/var/lib/multihomed-routing/.leases.json.7.tmp'", seenBy: 'daemon' }),
    expected: [`error store-unwritable ${config.storePath}`],
    advice: [/EROFS/, /as the daemon found/, /findmnt -T \/var\/lib\/multihomed-routing\/leases\.json/, /df -h \/var\/lib\/multihomed-routing /],
  },
  {
    name: 'the store directory refuses writing (no daemon)',
    breakIt: (s) => (s.storeProblem = { path: config.storePath, error: 'EROFS: /var/lib/multihomed-routing cannot be written', seenBy: 'doctor' }),
    expected: [`error store-unwritable ${config.storePath}`],
    advice: [/EROFS: \/var\/lib\/multihomed-routing cannot be written\)\./, /memory only/],
  },
];

diagnoses('doctor check store-unwritable (lib/doctor/checks/store-unwritable.ts)', cases);
