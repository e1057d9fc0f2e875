// The daemon (table allocator, kernel watcher) does not answer on its socket.

import type { Check } from '../check.js';

export const daemonDown: Check = {
  id: 'daemon-down',
  findings: ['daemon-down'],
  run(snap) {
    if (snap.daemon.answering) return [];
    return [{
      id: 'daemon-down',
      severity: 'error',
      subject: snap.daemon.socketPath,
      what: `The daemon does not answer on ${snap.daemon.socketPath}${snap.daemon.error ? ` (${snap.daemon.error})` : ''}.`,
      why: 'Without it the hooks get no table: new addresses fall back to main (degraded), leases are not renewed, and addresses that vanish are not cleaned up.',
      fix: ['systemctl start multihomed-routing   # systemd', 'journalctl -u multihomed-routing -n 50   # why it stopped', 'multihomed-routing daemon &   # without systemd'],
    }];
  },
};
