import { describe, expect, it } from 'vitest';
import { flushArgv, flushMasqueraded, parseDeleted } from '../../../lib/conntrack/flush.js';
import { run, type Runner } from '../../../lib/exec/run.js';
import { createLogger } from '../../../lib/log/log.js';

describe('conntrack flush of a failed uplink', () => {
  it('deletes only source-NATed entries whose replies go to the address, per family', () => {
    expect(flushArgv(4, '10.0.0.2')).toEqual(['conntrack', '-D', '-f', 'ipv4', '--src-nat', '--reply-dst', '10.0.0.2']);
    expect(flushArgv(6, '2001:db8::2')).toEqual(['conntrack', '-D', '-f', 'ipv6', '--src-nat', '--reply-dst', '2001:db8::2']);
  });

  it.each([
    ['conntrack v1.4.7 (conntrack-tools): 3 flow entries have been deleted.\n', 3],
    ['conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.\n', 0],
    ['conntrack v1.4.7 (conntrack-tools): Operation not permitted\n', undefined],
  ])('reads %j as %s', (stderr, n) => {
    expect(parseDeleted(stderr)).toBe(n);
  });

  it('without conntrack installed: says so once, flushes nothing, never throws', async () => {
    const lines: string[] = [];
    const log = createLogger({ source: 'test', syslog: false, write: (l) => lines.push(l) });
    // The real runner, on a PATH where no conntrack exists.
    const noConntrack: Runner = (argv, o) => run(argv, { ...o, env: { PATH: '/nonexistent' } });
    expect(await flushMasqueraded(4, '10.0.0.2', log, noConntrack)).toEqual({ error: 'conntrack not installed' });
    expect(await flushMasqueraded(4, '10.0.0.3', log, noConntrack)).toEqual({ error: 'conntrack not installed' });
    expect(lines.filter((l) => l.includes('conntrack (conntrack-tools) is not installed'))).toHaveLength(1);
  });
});
