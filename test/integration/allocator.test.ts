// The table allocator against the real executable: a real daemon on a Unix
// socket in a temp dir, real `lease` client processes, raw socket clients for
// hostile input. No network namespaces needed (dist/ is built by the
// global setup).

import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import tmp from 'tmp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const exe = join(root, 'dist/multihomed-routing');

interface Daemon {
  proc: ChildProcess;
  stderr: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<void>;
}

const daemons = new Set<Daemon>();

/** Starts `multihomed-routing daemon` and waits until it listens. */
async function startDaemon(config: string): Promise<Daemon> {
  const proc = spawn(exe, ['daemon', '--config', config, '--idle-timeout-ms', '1500'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const daemon: Daemon = {
    proc,
    stderr: () => err,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
      daemons.delete(daemon);
    },
  };
  daemons.add(daemon);
  const deadline = Date.now() + 15_000;
  while (!err.includes('allocator listening')) {
    if (proc.exitCode !== null) throw new Error(`daemon exited ${proc.exitCode}: ${err}`);
    if (Date.now() > deadline) throw new Error(`daemon did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return daemon;
}

/** A test instance: its own dir (readable by nobody), config, socket and store. */
function instance(tables: string) {
  const dir = tmp.dirSync({ prefix: 'mhr-alloc-', unsafeCleanup: true });
  chmodSync(dir.name, 0o755); // nobody must read the config to be refused by the socket, not by the file
  const config = join(dir.name, 'multihomed-routing.conf');
  const store = join(dir.name, 'lib', 'leases.json');
  const socket = join(dir.name, 'run', 'allocator', 'allocator.sock');
  writeFileSync(config, `socket_path = ${socket}\nstore_path = ${store}\nrun_dir = ${join(dir.name, 'run')}\ntable_range = ${tables}\nsyslog = no\n# runs in the machine's own namespace: no kernel watcher there\nwatch_kernel = no\n`);
  chmodSync(config, 0o644);
  return { dir, config, store, socket };
}

const lease = (config: string, args: string[], opts: { user?: string } = {}) =>
  opts.user
    ? execa('runuser', ['-u', opts.user, '--', exe, 'lease', ...args, '--config', config], { reject: false })
    : execa(exe, ['lease', ...args, '--config', config], { reject: false });

const addressOf = (i: number) => `10.${(i >> 8) & 255}.${i & 255}.1`;
const ifnameOf = (i: number) => `veth${i}`;
const request4 = (config: string, i: number, extra: string[] = []) =>
  lease(config, ['request', '-4', '--ifname', ifnameOf(i), '--address', addressOf(i), ...extra]);

async function listJson(config: string): Promise<{ ifname: string; address: string; table: number }[]> {
  const r = await lease(config, ['list', '--json']);
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

/** A raw client: sends bytes, collects reply lines, knows when it was closed. */
function rawClient(socket: string) {
  const s: Socket = createConnection(socket);
  const lines: string[] = [];
  let buf = '';
  const closed = new Promise<void>((r) => s.on('close', () => r()));
  s.on('error', () => {});
  s.on('data', (b) => {
    buf += b.toString();
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      lines.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
  const connected = new Promise<void>((r) => s.once('connect', () => r()));
  return {
    s,
    lines,
    closed,
    send: async (text: string) => {
      await connected;
      s.write(text);
    },
    waitLines: async (n: number) => {
      const deadline = Date.now() + 5000;
      while (lines.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      return lines.map((l) => JSON.parse(l));
    },
  };
}

const main = instance('20000-20299');
const small = instance('30000-30001');
let daemon: Daemon;
const granted = new Map<number, number>();

beforeAll(async () => {
  daemon = await startDaemon(main.config);
}, 120_000);

afterAll(async () => {
  for (const d of [...daemons]) await d.stop('SIGKILL');
  main.dir.removeCallback();
  small.dir.removeCallback();
});

describe('table allocator (real daemon, real client processes)', () => {
  it('serves 200 concurrent lease requests with 200 distinct tables in range', async () => {
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => request4(main.config, i)));
    for (const [i, r] of results.entries()) {
      expect(r.exitCode, r.stderr).toBe(0);
      granted.set(i, Number(r.stdout));
    }
    const tables = [...granted.values()];
    expect(new Set(tables).size).toBe(200);
    expect(tables.every((t) => t >= 20000 && t <= 20299)).toBe(true);
    expect(await listJson(main.config)).toHaveLength(200);
    // The socket is root-only.
    expect(statSync(main.socket).mode & 0o777).toBe(0o600);
    expect(statSync(join(main.dir.name, 'run', 'allocator')).mode & 0o777).toBe(0o700);
  });

  it('gives a repeated request the same table', async () => {
    const again = await Promise.all([0, 7, 199].map((i) => request4(main.config, i)));
    expect(again.map((r) => Number(r.stdout))).toEqual([granted.get(0), granted.get(7), granted.get(199)]);
    // The same address on another interface is another lease.
    const other = await lease(main.config, ['request', '-4', '--ifname', 'other0', '--address', addressOf(0)]);
    expect(Number(other.stdout)).not.toBe(granted.get(0));
    expect(Number(other.stdout)).toBeGreaterThan(0);
    expect((await lease(main.config, ['release', '-4', '--ifname', 'other0', '--address', addressOf(0)])).exitCode).toBe(0);
  });

  it('keeps every lease across kill -9 and restart', async () => {
    await daemon.stop('SIGKILL');
    expect(existsSync(main.socket)).toBe(true); // stale socket left behind
    daemon = await startDaemon(main.config);
    const leases = await listJson(main.config);
    expect(leases).toHaveLength(200);
    for (const [i, table] of granted) {
      expect(leases.find((l) => l.ifname === ifnameOf(i))).toMatchObject({ address: addressOf(i), table });
    }
    expect(Number((await request4(main.config, 42)).stdout)).toBe(granted.get(42));
  });

  it('starts over a truncated store, logs the problem and keeps what it can', async () => {
    await daemon.stop('SIGKILL');
    const size = statSync(main.store).size;
    truncateSync(main.store, Math.floor(size / 2));
    daemon = await startDaemon(main.config);
    expect(daemon.stderr()).toMatch(new RegExp(`error: lease store ${main.store} is damaged: not valid JSON`));
    expect(daemon.stderr()).toMatch(/moved_to=\S+leases\.json\.corrupt-\d+/);
    expect(readdirSync(join(main.dir.name, 'lib')).some((f) => f.startsWith('leases.json.corrupt-'))).toBe(true);
    const leases = await listJson(main.config);
    expect(leases.length).toBeGreaterThan(90);
    expect(leases.length).toBeLessThan(200);
    for (const l of leases) expect(granted.get(Number(l.ifname.slice(4)))).toBe(l.table); // what was kept is right
    // It serves, and the lost leases get tables that do not collide with kept ones.
    const lost = [...granted.keys()].filter((i) => !leases.some((l) => l.ifname === ifnameOf(i)));
    const re = await Promise.all(lost.slice(0, 20).map((i) => request4(main.config, i)));
    const all = [...leases.map((l) => l.table), ...re.map((r) => Number(r.stdout))];
    expect(new Set(all).size).toBe(all.length);
    expect(JSON.parse(readFileSync(main.store, 'utf8')).leases).toHaveLength(all.length);
  });

  it('refuses a client that is not root', async () => {
    const r = await lease(main.config, ['request', '-4', '--ifname', 'evil0', '--address', '192.0.2.66', '--attempts', '3', '--retry-delay', '1000'], { user: 'nobody' });
    expect(r.stdout.trim()).toBe('0');
    expect(r.stderr).toMatch(/permission denied \(only root may use the allocator\)/);
    expect(r.stderr).toMatch(/attempt=1/);
    expect(r.stderr).not.toMatch(/attempt=2/); // not retried: it cannot get better
    const list = await lease(main.config, ['list'], { user: 'nobody' });
    expect(list.exitCode).toBe(1);
    expect((await listJson(main.config)).some((l) => l.ifname === 'evil0')).toBe(false);
  });

  it('prints 0 after its retries when the tables are exhausted, and the daemon keeps serving', async () => {
    const d = await startDaemon(small.config);
    try {
      expect(Number((await request4(small.config, 1)).stdout)).toBe(30000);
      expect(Number((await request4(small.config, 2)).stdout)).toBe(30001);
      const started = Date.now();
      const full = await request4(small.config, 3, ['--attempts', '3', '--retry-delay', '200']);
      expect(full.exitCode).toBe(0);
      expect(full.stdout.trim()).toBe('0');
      expect(full.stderr).toMatch(/no free table in 30000-30001 for IPv4 attempt=3/);
      expect(Date.now() - started).toBeGreaterThanOrEqual(400);
      // Still serving: renewals, IPv6, and a freed table goes to the next asker.
      expect(Number((await request4(small.config, 1)).stdout)).toBe(30000);
      expect(Number((await lease(small.config, ['request', '-6', '--ifname', 'veth3', '--address', '2001:db8::3'])).stdout)).toBe(30000);
      await lease(small.config, ['release', '-4', '--ifname', ifnameOf(2), '--address', addressOf(2)]);
      expect(Number((await request4(small.config, 3)).stdout)).toBe(30001);
    } finally {
      await d.stop();
    }
    expect(d.proc.exitCode).toBe(0); // SIGTERM: clean shutdown
    expect(existsSync(small.socket)).toBe(false);
  });

  it('is not disturbed by garbage, oversized or half-sent messages', async () => {
    const [kept, kept2] = await listJson(main.config);
    const again = (l: { ifname: string; address: string }) =>
      lease(main.config, ['request', '-4', '--ifname', l.ifname, '--address', l.address]);
    const half = rawClient(main.socket);
    await half.send('{"version":1,"cmd":"request","ifname":"eth0"');
    const garbage = rawClient(main.socket);
    await garbage.send('garbage\n\u0000\u00ff{}\n{"version":1,"cmd":"list"}\n');
    const big = rawClient(main.socket);
    // Whole: a line is held to its command's limit once its cmd is read (lib/daemon/socket.ts).
    await big.send(`{"version":1,"cmd":"request","tag":"${'x'.repeat(8000)}"}\n`);

    // A well-behaved client is served meanwhile.
    const ok = await again(kept!);
    expect(Number(ok.stdout)).toBe(kept!.table);

    const g = await garbage.waitLines(3);
    expect(g[0]).toMatchObject({ cmd: 'response', table: 0, error: expect.stringMatching(/not JSON/) });
    expect(g[1]).toMatchObject({ table: 0, error: expect.stringMatching(/JSON/) });
    expect(g[2].leases.length).toBeGreaterThan(90); // same connection still works

    const b = await big.waitLines(1);
    expect(b[0]).toMatchObject({ table: 0, error: 'request longer than 4096 bytes' });
    await big.closed; // and it was closed

    await half.closed; // closed after the idle timeout (1.5 s in this test)
    expect(half.lines).toEqual([]);
    garbage.s.destroy();
    expect(daemon.stderr()).toMatch(/closing a client connection reason="request longer than 4096 bytes"/);
    expect(Number((await again(kept2!)).stdout)).toBe(kept2!.table);
  });

  it('refuses to start a second daemon on a live socket, and leaves the first one alone', async () => {
    const before = readFileSync(main.store, 'utf8');
    const r = await execa(exe, ['daemon', '--config', main.config], { reject: false, timeout: 10_000 });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/refusing to start: another allocator is listening on \S+allocator\.sock/);
    expect(readFileSync(main.store, 'utf8')).toBe(before);
    expect((await listJson(main.config)).length).toBeGreaterThan(90);
  });

  it('refuses to start on a socket directory that is not 0700, or a socket path that is a file', async () => {
    const bad = instance('40000-40009');
    try {
      const { mkdirSync } = await import('node:fs');
      mkdirSync(join(bad.dir.name, 'run', 'allocator'), { recursive: true, mode: 0o755 });
      chmodSync(join(bad.dir.name, 'run', 'allocator'), 0o755);
      const r = await execa(exe, ['daemon', '--config', bad.config], { reject: false, timeout: 10_000 });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/refusing to start: socket directory \S+ must be owned by uid 0 with mode 0700, found uid 0 mode 0755/);
      chmodSync(join(bad.dir.name, 'run', 'allocator'), 0o700);
      writeFileSync(bad.socket, 'not a socket');
      const f = await execa(exe, ['daemon', '--config', bad.config], { reject: false, timeout: 10_000 });
      expect(f.exitCode).toBe(1);
      expect(f.stderr).toMatch(/refusing to start: \S+allocator\.sock exists and is not a socket/);
      expect(readFileSync(bad.socket, 'utf8')).toBe('not a socket');
    } finally {
      bad.dir.removeCallback();
    }
  });
});
