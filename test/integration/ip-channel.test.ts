import { describe, expect, it } from 'vitest';
import { openHookIpChannel, openIpChannel } from '../../lib/exec/ip-channel.js';
import { scratchNamespace } from '../helpers/scratch-ip.js';

// The ip channel against the real ip in a scratch namespace: reads and
// changes of many events go to one process; a failing change ends it (and
// the next call starts another); a renamed interface (ip caches index ↔ name
// for its life) replaces the process; what one process cannot carry (forced
// undo batches, hostile names) runs in processes of its own.

const { ns, ip } = scratchNamespace('mhr-ipch');
const IP = ['ip', '-n', ns];
const ALL = ['links', 'addresses', 'routes', 'rules'] as const;
const cmd = (line: string) => line.split(' ');
const names = (json: string) => (JSON.parse(json) as { ifname: string }[]).map((l) => l.ifname);

describe('openIpChannel (the daemon)', () => {
  it('serves the reads and changes of several events from one process', async () => {
    const restarts: string[] = [];
    const c = openIpChannel({ ip: IP, onRestart: (_, why) => restarts.push(why) });
    try {
      for (let i = 0; i < 3; i++) {
        const read = await c.read(4, ALL);
        expect(names(read.links)).toContain('d0');
        expect(JSON.parse(read.addresses)).toContainEqual(expect.objectContaining({ ifname: 'd0', addr_info: [expect.objectContaining({ local: '10.77.0.2' })] }));
        expect(JSON.parse(read.routes)).toEqual(expect.any(Array));
        // Only what was asked for comes back (the channel reads the links anyway).
        expect(Object.keys(await c.read(4, ['rules']))).toEqual(['rules']);
        expect(await c.apply(4, [cmd(`route add 10.88.${i}.0/24 dev d0 table 10001 proto 201`)])).toEqual({ ran: 1 });
      }
      expect(c.started).toBe(1);
      expect(restarts).toEqual([]);
    } finally {
      c.close();
    }
    expect(ip('-4', 'route', 'show', 'table', '10001')).toBe(
      '10.88.0.0/24 dev d0 proto 201 scope link \n10.88.1.0/24 dev d0 proto 201 scope link \n10.88.2.0/24 dev d0 proto 201 scope link \n',
    );
  });

  it('holds no output once a call has returned, however long the process lives (a daemon runs for months)', async () => {
    const c = openIpChannel({ ip: IP });
    let handedOut = 0;
    try {
      for (let i = 0; i < 60; i++) {
        const read = await c.read(4, ALL);
        handedOut += Object.values(read).join('').length;
        expect(c.buffered).toBe(0);
        await c.apply(4, [cmd(`route replace 10.87.0.0/24 dev d0 table 10004 metric ${i}`), cmd(`route del 10.87.0.0/24 dev d0 table 10004 metric ${i}`)]);
        expect(c.buffered).toBe(0);
      }
      expect(c.started).toBe(1);
      expect(handedOut).toBeGreaterThan(60 * 100); // what a leaking buffer would still hold
    } finally {
      c.close();
    }
  });

  it('a failing change: numbered within its batch, the lines after it not run, the next call in a new process', async () => {
    const c = openIpChannel({ ip: IP });
    try {
      await c.read(4, ALL);
      const r = await c.apply(4, [
        cmd('route add 10.89.0.0/24 dev d0 table 10002 proto 201'),
        cmd('route add 10.89.0.0/24 dev d0 table 10002 proto 201'),
        cmd('route add 10.90.0.0/24 dev d0 table 10002 proto 201'),
      ]);
      expect(r.ran).toBe(1);
      expect(r.error?.message).toContain('Command failed -:2');
      expect(r.error?.shortMessage).toContain('ip -4 -batch -');
      expect(names((await c.read(4, ['links'])).links)).toContain('d0');
      expect(c.started).toBe(2);
    } finally {
      c.close();
    }
    expect(ip('-4', 'route', 'show', 'table', '10002')).toBe('10.89.0.0/24 dev d0 proto 201 scope link \n');
  });

  it('an undo is forced: every line runs past a failing one, in a process of its own', async () => {
    ip('route', 'add', '10.94.1.0/24', 'dev', 'd0', 'table', '10006');
    const c = openIpChannel({ ip: IP });
    try {
      const r = await c.apply(4, [cmd('route del 10.94.0.0/24 dev d0 table 10006'), cmd('route del 10.94.1.0/24 dev d0 table 10006')], { force: true });
      expect(r).toEqual({ ran: 2 });
      expect(c.started).toBe(0);
    } finally {
      c.close();
    }
    expect(ip('-4', 'route', 'show', 'table', '10006')).toBe('');
  });

  it('names the batch tokenizer cannot carry (quotes, #, backslash) run one argv at a time', async () => {
    const hostile = `q'#\\1`;
    ip('link', 'add', hostile, 'type', 'veth', 'peer', 'name', 'h1');
    ip('link', 'set', hostile, 'up');
    ip('link', 'set', 'h1', 'up');
    const c = openIpChannel({ ip: IP });
    try {
      expect(await c.apply(4, [['route', 'add', '10.95.0.0/24', 'dev', hostile, 'table', '10007'], cmd('route add 10.95.1.0/24 dev d0 table 10007')])).toEqual({ ran: 2 });
      const r = await c.apply(4, [cmd('route add 10.95.2.0/24 dev d0 table 10007'), ['route', 'add', '10.95.0.0/24', 'dev', hostile, 'table', '10007'], cmd('route add 10.95.3.0/24 dev d0 table 10007')]);
      expect(r.ran).toBe(1);
      expect(r.error?.message).toContain('File exists');
      expect(c.started).toBe(0);
    } finally {
      c.close();
    }
    expect(ip('-4', 'route', 'show', 'table', '10007')).toBe(
      `10.95.0.0/24 dev ${hostile} scope link \n10.95.1.0/24 dev d0 scope link \n10.95.2.0/24 dev d0 scope link \n`,
    );
  });

  it('an interface renamed between two events: the read comes from a fresh ip, with the new name', async () => {
    ip('link', 'add', 'r0', 'type', 'veth', 'peer', 'name', 'r1');
    ip('link', 'set', 'r0', 'up');
    ip('route', 'add', '10.91.0.0/24', 'dev', 'r0', 'table', '10003');
    const restarts: string[] = [];
    const c = openIpChannel({ ip: IP, onRestart: (_, why) => restarts.push(why) });
    try {
      const before = await c.read(4, ['routes']);
      expect(before.routes).toContain('"dst":"10.91.0.0/24","dev":"r0"');
      ip('link', 'set', 'r0', 'down');
      ip('link', 'set', 'r0', 'name', 'r9');
      ip('link', 'set', 'r9', 'up');
      ip('route', 'add', '10.91.0.0/24', 'dev', 'r9', 'table', '10003');
      const after = await c.read(4, ['routes']);
      expect(after.routes).toContain('"dst":"10.91.0.0/24","dev":"r9"');
      expect(restarts).toEqual(['interfaces changed since the last read (ip caches their names)']);
      // And a change naming the interface reaches the right one.
      expect(await c.apply(4, [cmd('route add 10.92.0.0/24 dev r9 table 10003')])).toEqual({ ran: 1 });
    } finally {
      c.close();
    }
    expect(ip('-4', 'route', 'show', 'table', '10003')).toContain('10.92.0.0/24 dev r9');
  });
});

describe('openHookIpChannel (a hook working alone)', () => {
  it('starts the event family at once; its read and changes share that process, the other family gets its own', async () => {
    const c = openHookIpChannel(4, { ip: IP });
    try {
      expect(c.started).toBe(1);
      const read = await c.read(4, ALL);
      expect(names(read.links)).toContain('d0');
      await c.read(6, ['addresses', 'routes', 'rules']);
      expect(await c.apply(4, [cmd('route add 10.88.0.0/24 dev d0 table 10011 proto 201'), cmd('rule add pref 10000 from 10.77.0.2 lookup 10011 protocol 201')])).toEqual({ ran: 2 });
      expect(c.started).toBe(2);
    } finally {
      c.close();
    }
    expect(ip('-4', 'route', 'show', 'table', '10011')).toContain('10.88.0.0/24 dev d0 proto 201');
    expect(ip('-4', 'rule', 'show')).toContain('10000:\tfrom 10.77.0.2 lookup 10011 proto 201');
  });

  it('closed (twice): its processes are let go, and a later call still works, in a process of its own', async () => {
    const c = openHookIpChannel(4, { ip: IP });
    expect(JSON.parse((await c.read(4, ['rules'])).rules)).toEqual(expect.any(Array));
    c.close();
    c.close();
    expect(await c.apply(4, [cmd('route add 10.96.0.0/24 dev d0 table 10012')])).toEqual({ ran: 1 });
    expect(names((await c.read(4, ['links'])).links)).toContain('d0');
    expect(c.started).toBe(1);
    expect(ip('-4', 'route', 'show', 'table', '10012')).toBe('10.96.0.0/24 dev d0 scope link \n');
  });
});
