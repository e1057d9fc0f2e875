// dispatch against a real socket: the whole job (events and DNS) goes to the
// daemon when one listens, and its reply is the outcome; with none, the same
// handler runs in this process (here: a DNS-only job, which needs no root).

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lib/config/parse.js';
import { claimSocketPath, serveSocket } from '../../../lib/daemon/socket.js';
import { createDispatcher } from '../../../lib/dispatch/dispatch.js';
import type { Job } from '../../../lib/dispatch/job.js';
import { parseEventRequest } from '../../../lib/dispatch/wire.js';
import { createLogger } from '../../../lib/log/log.js';
import { parseInterfaceAddress, parseIp } from '../../../lib/net/address.js';

let dir: string;
let lines: string[];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mhr-dispatch-'));
  lines = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const config = () => parseConfig(`socket_path = ${dir}/run/d.sock\nrun_dir = ${dir}/run\ndnsmasq_servers_file = ${dir}/servers.conf\ndnsmasq_pid_file = ${dir}/none.pid\ndnsmasq_mode = yes\n`);
const log = () => createLogger({ source: 'dhclient-hook', verbose: true, write: (l) => lines.push(l) });
const job: Job = {
  hook: 'dhclient-hook',
  events: [{ kind: 'address-down', source: 'dhclient', ifname: 'eth1', address: parseInterfaceAddress('10.99.0.60/24'), manageAddress: true, soleLease: true }],
  dns: { ifname: 'eth1', family: 4, servers: [parseIp('10.99.0.1')] },
  dryRun: false,
  verbose: true,
};

describe('dispatch', () => {
  it('a daemon listens: it gets the whole job, its reply is the outcome', async () => {
    const c = config();
    const got: unknown[] = [];
    await claimSocketPath(c.socketPath);
    const server = await serveSocket({
      path: c.socketPath,
      log: log(),
      commands: {
        event: {
          maxBytes: 65536,
          run: async (o) => {
            const parsed = parseEventRequest(o);
            got.push(parsed.ok ? parsed.value : parsed.error);
            return { version: 1, cmd: 'response', lines: [], failed: 'ip died' };
          },
        },
      },
    });
    try {
      const out: string[] = [];
      expect(await createDispatcher({ config: c, configPath: '/etc/x.conf', log: log(), out: (t) => out.push(t) })(job)).toEqual({ failed: 'ip died' });
      expect(got).toEqual([{ job, configPath: '/etc/x.conf', expiresAt: expect.any(Number) }]);
      expect(existsSync(c.dnsmasqServersFile)).toBe(false); // the daemon's to write
    } finally {
      await server.close();
    }
  });

  it('no daemon: the same handler runs here, and writes the servers', async () => {
    const c = config();
    const outcome = await createDispatcher({ config: c, configPath: '/etc/x.conf', log: log(), out: () => {} })({ ...job, events: [] });
    expect(outcome).toEqual({});
    expect(lines.join('\n')).toMatch(/debug: working alone: no daemon is running iface=eth1/);
    expect(readFileSync(c.dnsmasqServersFile, 'utf8')).toContain('server=10.99.0.1@eth1');
  });

  it('a daemon that takes a job and never answers is waited for once per hook run: later jobs work alone at once', async () => {
    const c = config();
    let taken = 0;
    await claimSocketPath(c.socketPath);
    const server = await serveSocket({
      path: c.socketPath,
      log: log(),
      commands: { event: { maxBytes: 65536, run: () => (taken++, new Promise<object>(() => {})) } },
    });
    try {
      const dispatch = createDispatcher({ config: c, configPath: '/etc/x.conf', log: log(), out: () => {}, timeoutMs: 300 });
      const t0 = Date.now();
      expect(await dispatch({ ...job, events: [] })).toEqual({});
      expect(await dispatch({ ...job, events: [], dns: { ifname: 'eth2', family: 4, servers: [parseIp('10.98.0.1')] } })).toEqual({});
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(taken).toBe(1);
      expect(lines.join('\n')).toMatch(/warn: working alone: the daemon took the event but did not answer within 300 ms iface=eth1/);
      expect(readFileSync(c.dnsmasqServersFile, 'utf8')).toContain('server=10.98.0.1@eth2');
    } finally {
      await server.close();
    }
  });

  it('nothing to apply: nothing sent, nothing done', async () => {
    const { dns: _, ...withoutDns } = job;
    expect(await createDispatcher({ config: config(), configPath: '/x', log: log(), out: () => {} })({ ...withoutDns, events: [] })).toEqual({});
    expect(lines).toEqual([]);
  });
});
