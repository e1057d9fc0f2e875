import { describe, expect, it } from 'vitest';
import type { HeldRead } from '../../../lib/apply/handle.js';
import { createPrefetcher } from '../../../lib/delegate/prefetch.js';
import { SerialQueue } from '../../../lib/delegate/service.js';
import type { KernelState } from '../../../lib/state/types.js';

// The daemon's read ahead of an announced event, with a real queue and a
// fake lock, read and connection: who holds the lock when, what the event
// gets, and that nothing is left held when the event never comes.

const STATE: KernelState = { links: [], routes: [], rules: [], sysctls: {} };
const scope = { ifname: 'eth0', families: [4] as const };

function setup(o: { lockFails?: boolean; waitMs?: number } = {}) {
  const queue = new SerialQueue();
  const log: string[] = [];
  let locked = false;
  const closers = new Map<object, () => void>();
  const p = createPrefetcher({
    queue,
    lock: async () => {
      if (o.lockFails) throw new Error('timed out waiting for routing.lock');
      expect(locked).toBe(false);
      locked = true;
      log.push('lock');
      return async () => {
        locked = false;
        log.push('release');
      };
    },
    read: async (s) => {
      log.push(`read ${s.ifname} ${s.families.join(',')}`);
      return STATE;
    },
    waitMs: o.waitMs ?? 1000,
    onClose: (connection, cb) => closers.set(connection, cb),
  });
  return { p, queue, log, isLocked: () => locked, close: (c: object) => closers.get(c)?.() };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('createPrefetcher', () => {
  it('reads under the lock when announced and hands lock and read to that connection’s event', async () => {
    const { p, log, isLocked } = setup();
    const conn = {};
    expect(p.announce(conn, scope)).toBe(true);
    await tick();
    expect(log).toEqual(['lock', 'read eth0 4']);
    let seen: HeldRead | undefined;
    const result = await p.take(conn, async (held) => {
      seen = held;
      expect(isLocked()).toBe(true);
      expect(await held!.state).toBe(STATE);
      return 'applied';
    });
    expect(result).toBe('applied');
    expect(seen).toMatchObject({ ifname: 'eth0', families: [4] });
    await tick();
    expect(isLocked()).toBe(false);
    expect(log).toEqual(['lock', 'read eth0 4', 'release']);
  });

  it('the event may release the lock itself (a slow lease): released once only', async () => {
    const { p, log } = setup();
    const conn = {};
    p.announce(conn, scope);
    await p.take(conn, async (held) => {
      await held!.release();
      await held!.release();
      return 0;
    });
    await tick();
    expect(log.filter((l) => l === 'release')).toHaveLength(1);
  });

  it('an event failing still lets go of the lock, and its caller gets the error', async () => {
    const { p, isLocked } = setup();
    const conn = {};
    p.announce(conn, scope);
    await expect(p.take(conn, async () => Promise.reject(new Error('apply failed')))).rejects.toThrow('apply failed');
    await tick();
    expect(isLocked()).toBe(false);
  });

  it('the hook going away without its event releases the lock at once; a later event is queued as usual', async () => {
    const { p, queue, log, isLocked, close } = setup();
    const conn = {};
    p.announce(conn, scope);
    await tick();
    expect(isLocked()).toBe(true);
    close(conn);
    await tick();
    expect(isLocked()).toBe(false);
    expect(queue.length).toBe(0);
    expect(p.take(conn, async () => 1)).toBeUndefined();
    expect(log).toEqual(['lock', 'read eth0 4', 'release']);
  });

  it('a hook that never sends keeps the queue at most waitMs', async () => {
    const { p, queue, isLocked } = setup({ waitMs: 30 });
    p.announce({}, scope);
    const t0 = Date.now();
    const other = await queue.run(async () => {
      expect(isLocked()).toBe(false);
      return Date.now() - t0;
    });
    expect(other).toBeGreaterThanOrEqual(25);
    expect(other).toBeLessThan(1000);
  });

  it('a busy daemon does not read ahead: the queue decides, and events of other connections are not taken', async () => {
    const { p, queue, log } = setup();
    let finish!: () => void;
    const busy = queue.run(() => new Promise<void>((r) => (finish = r)));
    expect(p.announce({}, scope)).toBe(false);
    await tick();
    finish();
    await busy;
    const conn = {};
    expect(p.announce(conn, scope)).toBe(true);
    expect(p.announce({}, scope)).toBe(false); // one at a time
    expect(p.take({}, async () => 1)).toBeUndefined();
    await p.take(conn, async () => 1);
    await tick();
    expect(log).toEqual(['lock', 'read eth0 4', 'release']);
  });

  it('no lock to be had (a stuck holder): the event runs without a held read and takes its own chances', async () => {
    const { p } = setup({ lockFails: true });
    const conn = {};
    p.announce(conn, scope);
    expect(await p.take(conn, async (held) => held)).toBeUndefined();
  });
});
