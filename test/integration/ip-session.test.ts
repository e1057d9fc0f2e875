import { describe, expect, it } from 'vitest';
import { openIpSession } from '../../lib/exec/ip-session.js';
import { READ, recordingRunner, scratchNamespace } from '../helpers/scratch-ip.js';

// The ip session against the real ip in a scratch namespace: the read is
// answered line by line by the same process that then applies the changes;
// what it does not answer goes to the fallback runner.

const { ns, ip } = scratchNamespace('mhr-ipsess');

describe('openIpSession', () => {
  it('answers a read with one JSON line per command, then applies the changes in the same process', async () => {
    const { calls, fallback } = recordingRunner();
    const s = openIpSession(4, { fallback, ip: ['ip', '-n', ns] });
    try {
      const read = await s.run(['ip', '-N', '-json', '-4', '-batch', '-'], { input: READ, reject: false });
      const lines = read.stdout.split('\n').filter((l) => l !== '');
      expect(read.exitCode).toBe(0);
      expect(lines).toHaveLength(4);
      expect(JSON.parse(lines[1]!).some((l: { ifname: string }) => l.ifname === 'd0')).toBe(true);
      // The other family is not the session's: the fallback runs it.
      await s.run(['ip', '-N', '-json', '-6', '-batch', '-'], { input: READ, reject: false });
      const applied = await s.run(['ip', '-4', '-batch', '-'], {
        input: 'route add 10.88.0.0/24 dev d0 table 10001 proto 201\nrule add pref 10000 from 10.77.0.2 lookup 10001 protocol 201\n',
        reject: false,
      });
      expect(applied.exitCode).toBe(0);
      // After the apply the session is over: the next batch is the fallback's.
      await s.run(['ip', '-4', '-batch', '-'], { input: 'rule del pref 10000\n', reject: false });
      expect(calls).toEqual(['ip -N -json -6 -batch - <' + READ + '>', 'ip -4 -batch - <rule del pref 10000\n>']);
    } finally {
      s.close();
    }
    expect(ip('-4', 'route', 'show', 'table', '10001')).toContain('10.88.0.0/24 dev d0 proto 201');
    expect(ip('-4', 'rule', 'show')).toContain('10000:\tfrom 10.77.0.2 lookup 10001 proto 201');
  });

  it('a failing line is reported with its number in the apply batch, not counting the read', async () => {
    const { calls, fallback } = recordingRunner();
    const s = openIpSession(4, { fallback, ip: ['ip', '-n', ns] });
    try {
      await s.run(['ip', '-N', '-json', '-4', '-batch', '-'], { input: READ });
      const r = await s.run(['ip', '-4', '-batch', '-'], {
        input: 'route add 10.89.0.0/24 dev d0 table 10002 proto 201\nroute add 10.89.0.0/24 dev d0 table 10002 proto 201\nroute add 10.90.0.0/24 dev d0 table 10002 proto 201\n',
        reject: false,
      });
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toContain('Command failed -:2');
      // The undo goes to a process of its own.
      await s.run(['ip', '-4', '-force', '-batch', '-'], { input: 'route del 10.89.0.0/24 dev d0 table 10002\n', reject: false });
      expect(calls).toEqual(['ip -4 -force -batch - <route del 10.89.0.0/24 dev d0 table 10002\n>']);
    } finally {
      s.close();
    }
    // ip stopped at the failing line: the first ran, the third did not.
    expect(ip('-4', 'route', 'show', 'table', '10002')).toBe('10.89.0.0/24 dev d0 proto 201 scope link \n');
  });

  it('a change that fails throws like run() unless reject is false', async () => {
    const s = openIpSession(4, { ip: ['ip', '-n', ns] });
    try {
      await s.run(['ip', '-N', '-json', '-4', '-batch', '-'], { input: READ });
      await expect(s.run(['ip', '-4', '-batch', '-'], { input: 'route add 10.91.0.0/24 dev nonexistent0\n' })).rejects.toThrow(/command failed/);
    } finally {
      s.close();
    }
  });

  it('closed without changes: ip exits, later batches go to the fallback', async () => {
    const { calls, fallback } = recordingRunner();
    const s = openIpSession(4, { fallback, ip: ['ip', '-n', ns] });
    const r = await s.run(['ip', '-N', '-json', '-4', '-batch', '-'], { input: 'rule show\n' });
    expect(JSON.parse(r.stdout)).toEqual(expect.any(Array));
    s.close();
    s.close();
    await s.run(['ip', '-4', '-batch', '-'], { input: 'route add 10.92.0.0/24 dev d0\n' });
    expect(calls).toEqual(['ip -4 -batch - <route add 10.92.0.0/24 dev d0\n>']);
    expect(ip('-4', 'route', 'show', '10.92.0.0/24')).toBe('');
  });
});
