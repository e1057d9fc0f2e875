import { describe, expect, it } from 'vitest';
import { openIpServer } from '../../lib/exec/ip-server.js';
import { READ, recordingRunner, scratchNamespace } from '../helpers/scratch-ip.js';

// The daemon's long-lived ip processes against the real ip in a scratch
// namespace: reads and changes of many events go to one process; a failing
// change ends it (and the next call starts another); a renamed interface
// (ip caches index ↔ name for its life) replaces the process.

const { ns, ip } = scratchNamespace('mhr-ipsrv');
const READ4 = ['ip', '-N', '-json', '-4', '-batch', '-'];
const APPLY4 = ['ip', '-4', '-batch', '-'];

describe('openIpServer', () => {
  it('serves the reads and changes of several events from one process', async () => {
    const { calls, fallback } = recordingRunner();
    const restarts: string[] = [];
    const s = openIpServer({ fallback, ip: ['ip', '-n', ns], onRestart: (_, why) => restarts.push(why) });
    try {
      for (let i = 0; i < 3; i++) {
        const read = await s.run(READ4, { input: READ, reject: false });
        const lines = read.stdout.split('\n').filter(Boolean);
        expect(lines).toHaveLength(4);
        expect(JSON.parse(lines[1]!).some((l: { ifname: string }) => l.ifname === 'd0')).toBe(true);
        // Without `link show` asked for, the server adds it and hands back only what was asked.
        const rules = await s.run(READ4, { input: 'rule show\n', reject: false });
        expect(rules.stdout.split('\n').filter(Boolean)).toHaveLength(1);
        const applied = await s.run(APPLY4, { input: `route add 10.88.${i}.0/24 dev d0 table 10001 proto 201\n` });
        expect(applied.exitCode).toBe(0);
      }
      expect(s.started).toBe(1);
      expect(calls).toEqual([]);
      expect(restarts).toEqual([]);
    } finally {
      s.close();
    }
    expect(ip('-4', 'route', 'show', 'table', '10001')).toBe(
      '10.88.0.0/24 dev d0 proto 201 scope link \n10.88.1.0/24 dev d0 proto 201 scope link \n10.88.2.0/24 dev d0 proto 201 scope link \n',
    );
  });

  it('holds no output once a call has returned, however long the process lives (a daemon runs for months)', async () => {
    const { calls, fallback } = recordingRunner();
    const s = openIpServer({ fallback, ip: ['ip', '-n', ns] });
    let handedOut = 0;
    try {
      for (let i = 0; i < 60; i++) {
        const read = await s.run(READ4, { input: READ });
        handedOut += read.stdout.length;
        expect(s.buffered).toBe(0);
        await s.run(APPLY4, { input: `route replace 10.87.0.0/24 dev d0 table 10004 metric ${i}\nroute del 10.87.0.0/24 dev d0 table 10004 metric ${i}\n` });
        expect(s.buffered).toBe(0);
      }
      expect(s.started).toBe(1);
      expect(calls).toEqual([]);
      expect(handedOut).toBeGreaterThan(60 * 100); // what a leaking buffer would still hold
    } finally {
      s.close();
    }
  });

  it('a failing change: numbered within its batch, the lines after it not run, the next call in a new process', async () => {
    const { fallback } = recordingRunner();
    const s = openIpServer({ fallback, ip: ['ip', '-n', ns] });
    try {
      await s.run(READ4, { input: READ });
      const r = await s.run(APPLY4, {
        input: 'route add 10.89.0.0/24 dev d0 table 10002 proto 201\nroute add 10.89.0.0/24 dev d0 table 10002 proto 201\nroute add 10.90.0.0/24 dev d0 table 10002 proto 201\n',
        reject: false,
      });
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toContain('Command failed -:2');
      const again = await s.run(READ4, { input: READ });
      expect(again.stdout.split('\n').filter(Boolean)).toHaveLength(4);
      expect(s.started).toBe(2);
    } finally {
      s.close();
    }
    expect(ip('-4', 'route', 'show', 'table', '10002')).toBe('10.89.0.0/24 dev d0 proto 201 scope link \n');
  });

  it('an interface renamed between two events: the read comes from a fresh ip, with the new name', async () => {
    ip('link', 'add', 'r0', 'type', 'veth', 'peer', 'name', 'r1');
    ip('link', 'set', 'r0', 'up');
    ip('route', 'add', '10.91.0.0/24', 'dev', 'r0', 'table', '10003');
    const restarts: string[] = [];
    const s = openIpServer({ ip: ['ip', '-n', ns], onRestart: (_, why) => restarts.push(why) });
    try {
      const before = await s.run(READ4, { input: READ });
      expect(before.stdout).toContain('"dst":"10.91.0.0/24","dev":"r0"');
      ip('link', 'set', 'r0', 'down');
      ip('link', 'set', 'r0', 'name', 'r9');
      ip('link', 'set', 'r9', 'up');
      ip('route', 'add', '10.91.0.0/24', 'dev', 'r9', 'table', '10003');
      const after = await s.run(READ4, { input: READ });
      expect(after.stdout).toContain('"dst":"10.91.0.0/24","dev":"r9"');
      expect(restarts).toEqual(['interfaces changed since the last read (ip caches their names)']);
      // And a change naming the interface reaches the right one.
      await s.run(APPLY4, { input: 'route add 10.92.0.0/24 dev r9 table 10003\n' });
    } finally {
      s.close();
    }
    expect(ip('-4', 'route', 'show', 'table', '10003')).toContain('10.92.0.0/24 dev r9');
  });
});
