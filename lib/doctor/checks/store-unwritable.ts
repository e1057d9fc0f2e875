// The lease store cannot be written (a read-only or full file system).

import type { Check } from '../check.js';

export const storeUnwritable: Check = {
  id: 'store-unwritable',
  findings: ['store-unwritable'],
  run(snap) {
    const p = snap.storeProblem;
    if (!p) return [];
    return [{
      id: 'store-unwritable',
      severity: 'error',
      subject: p.path,
      what: `The lease store ${p.path} cannot be written (${p.error})${p.seenBy === 'daemon' ? ', as the daemon found' : ''}.`,
      why: 'Leases live in the daemon\'s memory only. After a restart it claims back the tables the kernel routes through; the other leases are lost, and a table may be handed out again while an address that is down still counts on it.',
      fix: [`findmnt -T ${p.path}   # mounted read-only?`, `df -h ${p.path.replace(/\/[^/]*$/, '') || '/'}   # full?`, 'store_path = /var/lib/multihomed-routing/leases.json   # or a directory that can be written; then restart the daemon'],
    }];
  },
};
