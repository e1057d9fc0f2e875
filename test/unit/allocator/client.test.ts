// The client API (what hooks call) against the allocator started in-process,
// served on the daemon's socket module in a temp dir, with a fake clock for expiry.
import { join } from 'node:path';
import tmp from 'tmp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AllocatorError, call, listLeases, releaseTable, requestTable } from '../../../lib/allocator/client.js';
import { startAllocator, STORE_SOON_MS, type AllocatorService } from '../../../lib/allocator/allocator.js';
import { claimSocketPath, serveSocket, type SocketServer } from '../../../lib/daemon/socket.js';
import { createLogger } from '../../../lib/log/log.js';
import { parseIp } from '../../../lib/net/address.js';

const dir = tmp.dirSync({ prefix: 'mhr-client-', unsafeCleanup: true });
const config = {
  socketPath: join(dir.name, 'run', 'alloc.sock'),
  storePath: join(dir.name, 'leases.json'),
  tableMin: 500,
  tableMax: 502,
  leaseTime: 100,
};
const lines: string[] = [];
const log = createLogger({ source: 'test', write: (l) => lines.push(l) });
let clock = 1_000;
let service: AllocatorService;
let socket: SocketServer;

beforeAll(async () => {
  await claimSocketPath(config.socketPath);
  service = await startAllocator({ config, log, now: () => clock, expiryIntervalMs: 50 });
  socket = await serveSocket({ path: config.socketPath, log, commands: service.commands });
});
afterAll(async () => {
  await socket?.close();
  await service?.close();
  dir.removeCallback();
});

const key = (n: number, family: 4 | 6 = 4) => ({
  ifname: `eth${n}`,
  address: parseIp(family === 4 ? `198.51.100.${n}` : `2001:db8::${n}`),
});

describe('allocator client', () => {
  it('requests, renews, lists and releases', async () => {
    expect(await requestTable(config, { ...key(1), tag: 'bound' })).toBe(500);
    expect(await requestTable(config, key(2))).toBe(501);
    expect(await requestTable(config, key(1, 6))).toBe(500);
    expect(await requestTable(config, key(1))).toBe(500);
    const leases = await listLeases(config);
    expect(leases.map((l) => [l.ifname, l.address.text, l.table, l.expires, l.tag])).toEqual([
      ['eth1', '198.51.100.1', 500, 1100, 'bound'],
      ['eth2', '198.51.100.2', 501, 1100, undefined],
      ['eth1', '2001:db8::1', 500, 1100, undefined],
    ]);
    expect(await releaseTable(config, key(2))).toBe(true);
    expect(await releaseTable(config, key(2))).toBe(false);
  });

  it('returns 0 after its attempts when the range is full, telling each failure', async () => {
    await requestTable(config, key(3));
    await requestTable(config, key(4));
    const errors: string[] = [];
    const table = await requestTable(config, key(5), { attempts: 3, retryDelayMs: 10, onError: (e, n) => errors.push(`${n} ${e.message}`) });
    expect(table).toBe(0);
    expect(errors).toEqual([1, 2, 3].map((n) => `${n} no free table in 500-502 for IPv4`));
  });

  it('expires leases nobody renewed', async () => {
    clock += 50;
    expect(await requestTable(config, key(1))).toBe(500); // renewed: expires 1150
    clock += 60; // eth3 and eth4 (expiring 1100) are gone
    await new Promise((r) => setTimeout(r, 200));
    expect((await listLeases(config)).map((l) => l.ifname).sort()).toEqual(['eth1']);
    expect(lines.some((l) => /lease expired ifname=eth3 address=198.51.100.3 table=50[12]/.test(l))).toBe(true);
    expect(await requestTable(config, key(5))).toBe(501);
  });

  it('a renewal is answered without a store write; the write follows, and a new lease is on disk when answered', async () => {
    const { readFileSync } = await import('node:fs');
    await service.writer.idle();
    const writes = service.writer.writes;
    clock += 10;
    expect(await requestTable(config, key(1))).toBe(500); // renewal: expires clock + 100
    expect(service.writer.writes).toBe(writes);
    expect(service.writer.pendingLater).toBe(true);
    expect(await requestTable(config, key(6, 6))).toBeGreaterThan(0); // new: written before the answer (and the renewal with it)
    expect(service.writer.writes).toBe(writes + 1);
    expect(service.writer.pendingLater).toBe(false);
    const stored = readFileSync(config.storePath, 'utf8');
    expect(stored).toContain(`"address":"2001:db8::6"`);
    expect(stored).toMatch(new RegExp(`"address":"198\\.51\\.100\\.1".*"lease_expires":${clock + 100}`));
  });

  /** Polls until `done` (the write is due STORE_SOON_MS after the answer; a slow disk gets 2 s), else fails. */
  const writtenWithin = async (done: () => boolean) => {
    for (const t0 = Date.now(); !done(); await new Promise((res) => setTimeout(res, 10))) {
      if (Date.now() - t0 > STORE_SOON_MS + 2000) throw new Error('the store was not written within STORE_SOON_MS (+2 s)');
    }
  };

  it("writeSoon (the daemon's dispatched events): a new lease and a release are answered first, on disk within STORE_SOON_MS, before a renewal's later save", async () => {
    const { readFileSync } = await import('node:fs');
    await service.writer.idle();
    const writes = service.writer.writes;
    clock += 10;
    expect(await requestTable(config, key(1))).toBe(500); // renewal: a save within RENEWAL_SAVE_DELAY_MS
    const r = await service.serve({ version: 1, cmd: 'request', ifname: 'eth7', address: '198.51.100.7', addr_family: 4 }, { writeSoon: true });
    expect(r.table).toBeGreaterThan(0);
    expect(service.writer.writes).toBe(writes);
    expect(readFileSync(config.storePath, 'utf8')).not.toContain('198.51.100.7');
    await writtenWithin(() => service.writer.writes > writes);
    expect(service.writer.writes).toBe(writes + 1); // the sooner timer replaced the renewal's (5 s)
    expect(readFileSync(config.storePath, 'utf8')).toContain('"address":"198.51.100.7"');
    expect(service.writer.pendingLater).toBe(false);
    await service.serve({ version: 1, cmd: 'release', ifname: 'eth7', address: '198.51.100.7', addr_family: 4 }, { writeSoon: true });
    expect(readFileSync(config.storePath, 'utf8')).toContain('198.51.100.7');
    await writtenWithin(() => !readFileSync(config.storePath, 'utf8').includes('198.51.100.7'));
  });

  it('answers a malformed request with an error and keeps the connection usable', async () => {
    const r = await call(config.socketPath, { version: 1, cmd: 'request', ifname: 'x'.repeat(20), address: '1.2.3.4', addr_family: 4 });
    expect(r).toMatchObject({ table: 0, error: expect.stringMatching(/longer than 15 bytes/) });
  });

  it('refuses bad input before sending it', async () => {
    await expect(requestTable(config, { ...key(1), ifname: 'a/b' })).rejects.toThrow(/interface name/);
    await expect(requestTable(config, { ...key(1), tag: 'x\n' })).rejects.toThrow(AllocatorError);
  });

  it('returns 0 when no daemon listens, and says so', async () => {
    const errors: string[] = [];
    const t = await requestTable({ socketPath: join(dir.name, 'none.sock') }, key(1), { attempts: 2, retryDelayMs: 1, onError: (e) => errors.push(e.message) });
    expect(t).toBe(0);
    expect(errors[1]).toMatch(/no allocator daemon is running/);
    await expect(listLeases({ socketPath: join(dir.name, 'none.sock') })).rejects.toThrow(AllocatorError);
  });
});
