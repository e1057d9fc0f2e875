import { describe, expect, it } from 'vitest';
import { flushMasqueraded } from '../../../lib/conntrack/flush.js';
import { run, type Runner } from '../../../lib/exec/run.js';
import { parseIp } from '../../../lib/net/address.js';

describe('conntrack flush of a failed uplink', () => {
  it('without conntrack installed: flushes nothing, says why, never throws', async () => {
    // The real runner, on a PATH where no conntrack exists.
    const noConntrack: Runner = (argv, o) => run(argv, { ...o, env: { PATH: '/nonexistent' } });
    const r = await flushMasqueraded(4, parseIp('10.0.0.2'), noConntrack);
    expect(r.deleted).toBe(0);
    expect(r.error).toMatch(/ENOENT/);
  });
});
