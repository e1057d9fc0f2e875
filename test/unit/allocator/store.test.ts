import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tmp from 'tmp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WireLease } from '../../../lib/allocator/protocol.js';
import { loadStore, parseStore, renderStore, StoreWriter } from '../../../lib/allocator/store.js';

const leases: WireLease[] = [
  { ifname: 'eth0', address: '192.0.2.1', addr_family: 4, table: 10000, lease_expires: 1700000000 },
  { ifname: 'wlan0', address: '2001:db8::1', addr_family: 6, table: 10000, lease_expires: 1700000000, tag: 'dhcp6' },
  { ifname: 'usb0', address: '192.168.8.100', addr_family: 4, table: 10001, lease_expires: 1700000000 },
];

let dir: tmp.DirResult;
let path: string;
beforeEach(() => {
  dir = tmp.dirSync({ unsafeCleanup: true });
  path = join(dir.name, 'sub', 'leases.json');
});
afterEach(() => dir.removeCallback());

describe('lease store', () => {
  it('round-trips through the file', async () => {
    const w = new StoreWriter(path, () => leases);
    await w.save();
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ version: 1, leases });
    expect(loadStore(path)).toEqual({ leases, problems: [] });
    expect(readdirSync(join(dir.name, 'sub'))).toEqual(['leases.json']); // no temp file left
  });

  it('treats a missing file as an empty store, without problems', () => {
    expect(loadStore(path)).toEqual({ leases: [], problems: [] });
  });

  it.each([
    ['truncated mid-lease', (t: string) => t.slice(0, t.length - 40), 2, /not valid JSON.*recovered 2 lease/],
    ['truncated to nothing', () => '', 0, /empty/],
    ['garbage', () => '\u0000\u0000garbage', 0, /not valid JSON.*recovered 0/],
    ['another shape', () => '{"version":7,"leases":[]}', 0, /expected \{"version":1/],
    ['one bad lease', (t: string) => t.replace('"table":10001', '"table":"x"'), 2, /lease #3 is malformed/],
  ])('a store %s is reported, moved aside and salvaged', (_, damage, recovered, problem) => {
    const text = renderStore(leases);
    writeFileSync(join(dir.name, 'leases.json'), damage(text));
    const p = join(dir.name, 'leases.json');
    const loaded = loadStore(p, 1234);
    expect(loaded.problems.join(' ')).toMatch(problem);
    expect(loaded.leases).toHaveLength(recovered);
    expect(loaded.movedTo).toBe(`${p}.corrupt-1234`);
    expect(existsSync(p)).toBe(false);
    expect(readFileSync(`${p}.corrupt-1234`, 'utf8')).toBe(damage(text));
  });

  it('salvaging refuses tables outside table_range, and the kernel\'s own tables always', () => {
    const odd = [...leases, { ...leases[0]!, ifname: 'eth9', table: 255 }, { ...leases[0]!, ifname: 'eth8', table: 20000 }];
    const range = { tableMin: 10000, tableMax: 10999 };
    const damaged = parseStore(renderStore(odd).slice(0, -4), range);
    expect(damaged.leases.map((l) => l.ifname)).toEqual(['eth0', 'wlan0', 'usb0']);
    expect(damaged.problems.join('\n')).toMatch(/eth9 192\.0\.2\.1 dropped: table 255 is one of the kernel's own/);
    expect(damaged.problems.join('\n')).toMatch(/eth8 192\.0\.2\.1 dropped: table 20000 is outside table_range 10000-10999/);
    // a sound file written under another range keeps its tables outside it; a reserved one is dropped and reported
    const sound = parseStore(renderStore(odd), range);
    expect(sound.leases.map((l) => l.table)).toEqual([10000, 10000, 10001, 20000]);
    expect(sound.problems).toEqual([expect.stringMatching(/table 255 is one of the kernel's own/)]);
  });

  it('parses what it renders, one lease per line', () => {
    const text = renderStore(leases);
    expect(text.split('\n')).toHaveLength(leases.length + 3);
    expect(parseStore(text)).toEqual({ leases, problems: [] });
    expect(parseStore(renderStore([]))).toEqual({ leases: [], problems: [] });
  });

  it('coalesces saves under load, and each save covers the changes made before it', async () => {
    const current: WireLease[] = [];
    const w = new StoreWriter(path, () => current);
    const saves: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      current.push({ ifname: `e${i}`, address: '192.0.2.1', addr_family: 4, table: 1000 + i, lease_expires: 1 }); // clear of 253-255, which no store keeps
      const n = current.length;
      saves.push(w.save().then(() => expect(loadStore(path).leases.length).toBeGreaterThanOrEqual(n)));
    }
    await Promise.all(saves);
    expect(loadStore(path).leases).toHaveLength(200);
    expect(w.writes).toBeLessThanOrEqual(3);
  });

  it('tells onProblem once when writing starts failing, not once per save, and once when it works again', async () => {
    const heard: (string | undefined)[] = [];
    const w = new StoreWriter(path, () => leases, (p) => heard.push(p?.code));
    const sub = join(dir.name, 'sub');
    rmSync(sub, { recursive: true });
    writeFileSync(sub, ''); // the store's directory is now a file
    for (let i = 0; i < 5; i++) await w.save().catch(() => {});
    expect(heard).toHaveLength(1);
    const code = heard[0]!;
    expect(w.problem).toMatchObject({ code, error: expect.stringContaining(code) });
    rmSync(sub);
    mkdirSync(sub);
    await w.save();
    await w.save();
    expect(heard).toEqual([code, undefined]);
    expect(w.problem).toBeUndefined();
  });

  it('reports a write failure to every waiter, and writes again once it can', async () => {
    const w = new StoreWriter(path, () => leases);
    const sub = join(dir.name, 'sub');
    rmSync(sub, { recursive: true });
    writeFileSync(sub, ''); // the store's directory is now a file
    const results = await Promise.allSettled([w.save(), w.save(), w.save()]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    rmSync(sub);
    await w.save();
    expect(loadStore(path).leases).toEqual(leases);
  });
});
