import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LeaseTable } from '../../../lib/allocator/leases.js';
import { StoreWriter } from '../../../lib/allocator/store.js';
import { parseConfig } from '../../../lib/config/parse.js';
import { createLogger } from '../../../lib/log/log.js';
import type { IpChannel } from '../../../lib/exec/ip-channel.js';
import { startWatcher } from '../../../lib/watch/watcher.js';
import { link, state } from '../plan/fake-kernel.js';

const dir = mkdtempSync(join(tmpdir(), 'mhr-watcher-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// These watchers see no address to lease for.
const noLeases = { requestTable: async () => 0, releaseTable: async () => false, peekTable: async () => 0 };

describe('watcher faults', () => {
  it('restarts an ip monitor that keeps dying (with backoff) and passes again after each restart', async () => {
    const config = { ...parseConfig(''), runDir: join(dir, 'run') };
    const table = new LeaseTable(config);
    const writer = new StoreWriter(join(dir, 'leases.json'), () => table.list());
    let reads = 0;
    const w = await startWatcher({
      config,
      log: createLogger({ source: 'test', syslog: false, write: () => {} }),
      allocator: { table, writer, local: noLeases },
      monitorArgv: ['sh', '-c', 'echo "[LINK]3: eth1@p1: <UP> mtu 1500"; exit 3'],
      read: async () => {
        reads++;
        return state({ links: [link(2, 'eth0', '10.0.0.2/24')] });
      },
      writeView: false,
    });
    await new Promise((r) => setTimeout(r, 1200)); // 250 + 500 ms backoff: at least 2 restarts
    await w.close();
    expect(w.stats.monitorRestarts).toBeGreaterThanOrEqual(2);
    expect(w.stats.monitorRestarts).toBeLessThanOrEqual(4);
    expect(reads).toBeGreaterThanOrEqual(2);
  });

  it('reads the kernel through the ip channel it is given: the daemon hands it its long-lived one, so a pass forks no ip', async () => {
    const config = { ...parseConfig(''), runDir: join(dir, 'run-runner') };
    const table = new LeaseTable(config);
    const writer = new StoreWriter(join(dir, 'leases-runner.json'), () => table.list());
    const asked: string[] = [];
    // An empty JSON array per table, as ip -json prints for a host with nothing.
    const ip: IpChannel = {
      async read(family, tables) {
        asked.push(`${family}: ${tables.join(' ')}`);
        return Object.fromEntries(tables.map((t) => [t, '[]'])) as Record<(typeof tables)[number], string>;
      },
      apply: () => Promise.reject(new Error('nothing to apply on an empty host')),
      close: () => {},
    };
    const w = await startWatcher({
      config,
      log: createLogger({ source: 'test', syslog: false, write: () => {} }),
      allocator: { table, writer, local: noLeases },
      monitorArgv: ['sleep', '30'],
      ip,
      writeView: false,
    });
    await w.idle();
    await w.close();
    expect(w.stats.passes).toBeGreaterThanOrEqual(1);
    expect([...new Set(asked)].sort()).toEqual(['4: links addresses routes rules', '6: links addresses routes rules']);
  });
});
