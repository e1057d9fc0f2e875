import { EXE, diagnoses, type Case } from './fixture.js';

const cases: Case[] = [
  {
    name: 'if-up.d hook missing',
    breakIt: (s) => (s.hooks.ifUp = { path: s.hooks.ifUp.path, exists: false, executable: false }),
    expected: ['error hook-missing /etc/network/if-up.d/multihomed-routing'],
  },
  {
    name: 'if-post-down.d hook not executable (run-parts skips it)',
    breakIt: (s) => (s.hooks.ifPostDown.executable = false),
    expected: ['error hook-broken /etc/network/if-post-down.d/multihomed-routing'],
    advice: [/chmod 0755/],
  },
  {
    name: 'dhclient hook pointing at a removed executable',
    breakIt: (s) => (s.hooks.dhclientEnter.targetExecutable = false),
    expected: ['error hook-broken /etc/dhcp/dhclient-enter-hooks.d/multihomed-routing'],
    advice: [new RegExp(`runs ${EXE}, which does not exist`)],
  },
  { name: 'udev rule missing', breakIt: (s) => (s.hooks.udevRule.exists = false), expected: ['error hook-missing /etc/udev/rules.d/99-multihomed-routing.rules'] },
  { name: 'no ifupdown: its hooks are not required', breakIt: (s) => { s.tools.ifupdown = false; s.hooks.ifUp.exists = false; }, expected: [] },
  {
    name: 'NetworkManager without 01-ifupdown',
    breakIt: (s) => (s.tools.networkManager = true),
    expected: ['warning nm-dispatcher-missing /etc/NetworkManager/dispatcher.d/01-ifupdown'],
    advice: [/apt-get install --reinstall network-manager/],
  },
  { name: 'NetworkManager with 01-ifupdown', breakIt: (s) => { s.tools.networkManager = true; s.hooks.nmDispatcher = { ...s.hooks.nmDispatcher, exists: true, executable: true }; }, expected: [] },
];

diagnoses('doctor check hooks (lib/doctor/checks/hooks.ts)', cases);
