import { config, diagnoses, type Case } from './fixture.js';

const uplink = (ifname: string, address: string, health: 'up' | 'down') => ({
  ifname, address, family: 4 as const, table: 10000, health, since: 1_700_000_000, answering: [], targets: ['1.1.1.1', '8.8.8.8'],
  ...(health === 'down' ? { why: 'down after 3 rounds lost (1.1.1.1, 8.8.8.8)' } : {}),
});

const cases: Case[] = [
  {
    name: 'eth0 up, its upstream dead',
    breakIt: (s) => (s.health = [uplink('eth0', '192.0.2.10', 'down'), uplink('wlan1', '198.51.100.10', 'up')]),
    expected: ['warning upstream-down eth0 192.0.2.10'],
    advice: [/down after 3 rounds lost \(1\.1\.1\.1, 8\.8\.8\.8\)/, /ranks it after wlan1/, /ping -I 192\.0\.2\.10 1\.1\.1\.1/, new RegExp(config.configPath!)],
  },
  {
    name: 'every upstream dead: a note, nothing was changed',
    breakIt: (s) => (s.health = [uplink('eth0', '192.0.2.10', 'down'), uplink('wlan1', '198.51.100.10', 'down')]),
    expected: ['info upstream-down eth0 192.0.2.10', 'info upstream-down wlan1 198.51.100.10'],
    advice: [/plain priority order stays/],
  },
  { name: 'all healthy', breakIt: (s) => (s.health = [uplink('eth0', '192.0.2.10', 'up')]), expected: [] },
];

diagnoses('doctor check upstream-down (lib/doctor/checks/upstream-down.ts)', cases);
