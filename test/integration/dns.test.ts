// DNS per interface with the real dnsmasq: two uplinks, each with a DNS
// server that answers a test name its own way and only on its own link; the
// host's dnsmasq reads the servers-file that lib/dns writes and must ask each
// server through the interface that learned it — also a server outside the
// interface's subnet, reachable only through that uplink. After an
// interface's servers are removed its lines are gone and the host's dnsmasq
// re-read the file, while an unrelated dnsmasq on the host got no signal.
//
//   host ns                      router ns r1            router ns r2
//   up1 10.201.1.2/24 ────────── r1d 10.201.1.1          (dnsmasq: test.example → 192.0.2.1)
//   up2 10.201.2.2/24 ───────────────────────────────── r2d 10.201.2.1, lo 198.51.100.53
//                                                        (dnsmasq on both: test.example → 192.0.2.2)
//   main: 198.51.100.53 via r1 (the wrong way); table 102: default via r2 dev up2, `iif lo` rule.
//   host dnsmasq on 127.0.0.1 (--servers-file, --no-resolv); a second dnsmasq on 127.0.0.2.

import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updateInterfaceServers } from '../../lib/dns/update.js';
import { createLogger } from '../../lib/log/log.js';
import { parseIp } from '../../lib/net/address.js';

const tag = `${process.pid % 100000}`;
const NS = { host: `mhr-dns-h-${tag}`, r1: `mhr-dns-r1-${tag}`, r2: `mhr-dns-r2-${tag}` };
const FAR = '198.51.100.53';
let dir: string;
const pids: number[] = [];

const sh = (...argv: string[]) => execa(argv[0]!, argv.slice(1));
const inNs = (ns: string, ...argv: string[]) => execa('ip', ['netns', 'exec', ns, ...argv], { reject: false });
const file = (name: string) => join(dir, name);
const read = (name: string) => {
  try {
    return readFileSync(file(name), 'utf8');
  } catch {
    return '';
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts a daemonized dnsmasq in `ns`; returns its pid (from its pid file). */
async function dnsmasq(ns: string, name: string, args: string[]): Promise<number> {
  const pidFile = file(`${name}.pid`);
  await execa('ip', [
    'netns', 'exec', ns, 'dnsmasq', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', '--bind-interfaces',
    '--log-queries', `--log-facility=${file(`${name}.log`)}`, `--pid-file=${pidFile}`, ...args,
  ]);
  for (let i = 0; i < 50 && !read(`${name}.pid`).trim(); i++) await sleep(50);
  const pid = Number(read(`${name}.pid`).trim());
  expect(pid).toBeGreaterThan(0);
  pids.push(pid);
  return pid;
}

/** Resolves `name` in the host namespace through `server` (the host's dnsmasq) with node's resolver. */
async function resolve(name: string, server = '127.0.0.1'): Promise<string[] | string> {
  const script = `
    const { Resolver } = require('node:dns').promises;
    const r = new Resolver({ timeout: 3000, tries: 1 });
    r.setServers([process.argv[1]]);
    r.resolve4(process.argv[2]).then((a) => console.log(JSON.stringify(a)), (e) => console.log(JSON.stringify(e.code)));`;
  const out = await inNs(NS.host, process.execPath, '-e', script, server, name);
  return JSON.parse(out.stdout) as string[] | string;
}

/** `query[A] NAME from ADDRESS` lines of a dnsmasq query log. */
const queries = (log: string, name: string) =>
  [...read(log).matchAll(new RegExp(`query\\[A\\] ${name.replace(/\./g, '\\.')} from (\\S+)`, 'g'))].map((m) => m[1]);
const hostsReads = (log: string) => (read(log).match(/read \S+\/hosts-\w+ - \d+ names?/g) ?? []).length;

const log = createLogger({ source: 'test', verbose: true, write: () => {} });
const update = (ifname: string, servers: string[]) =>
  updateInterfaceServers(
    { ifname, family: 4, servers: servers.map((s) => parseIp(s)) },
    { serversFile: file('servers.conf'), pidFile: file('host.pid'), log },
  );
const serverLines = () => read('servers.conf').split('\n').filter((l) => l.startsWith('server='));

/** Waits until the host dnsmasq logged more hosts-file reads than `before` (it got SIGHUP). */
async function rereadSince(before: number) {
  await waitFor('the host dnsmasq to re-read its files', () => hostsReads('host.log') > before);
}

async function waitFor(what: string, check: () => boolean) {
  for (let i = 0; i < 60; i++) {
    if (check()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mhr-dns-'));
  // dnsmasq drops root after start-up and re-reads the servers-file as its user.
  chmodSync(dir, 0o755);
  for (const ns of Object.values(NS)) await sh('ip', 'netns', 'add', ns);
  await sh('ip', 'link', 'add', 'up1', 'netns', NS.host, 'type', 'veth', 'peer', 'name', 'r1d', 'netns', NS.r1);
  await sh('ip', 'link', 'add', 'up2', 'netns', NS.host, 'type', 'veth', 'peer', 'name', 'r2d', 'netns', NS.r2);
  const ip = (ns: string, ...args: string[]) => sh('ip', '-n', ns, ...args);
  await ip(NS.host, 'link', 'set', 'lo', 'up');
  await ip(NS.host, 'addr', 'add', '127.0.0.2/8', 'dev', 'lo');
  await ip(NS.host, 'addr', 'add', '10.201.1.2/24', 'dev', 'up1');
  await ip(NS.host, 'addr', 'add', '10.201.2.2/24', 'dev', 'up2');
  await ip(NS.host, 'link', 'set', 'up1', 'up');
  await ip(NS.host, 'link', 'set', 'up2', 'up');
  for (const [ns, dev, addr] of [[NS.r1, 'r1d', '10.201.1.1/24'], [NS.r2, 'r2d', '10.201.2.1/24']] as const) {
    await ip(ns, 'link', 'set', 'lo', 'up');
    await ip(ns, 'addr', 'add', addr, 'dev', dev);
    await ip(ns, 'link', 'set', dev, 'up');
  }
  await ip(NS.r2, 'addr', 'add', `${FAR}/32`, 'dev', 'lo');
  // The wrong way for unbound traffic, and the uplink's own table (what the routing library sets up).
  await ip(NS.host, 'route', 'add', `${FAR}/32`, 'via', '10.201.1.1', 'dev', 'up1');
  await ip(NS.host, 'route', 'add', 'default', 'via', '10.201.2.1', 'dev', 'up2', 'table', '102');
  await ip(NS.host, 'rule', 'add', 'pref', '91002', 'iif', 'lo', 'lookup', '102');

  await dnsmasq(NS.r1, 'r1', ['--listen-address=10.201.1.1', '--address=/test.example/192.0.2.1']);
  await dnsmasq(NS.r2, 'r2', ['--listen-address=10.201.2.1', `--listen-address=${FAR}`, '--address=/test.example/192.0.2.2']);
  // Each host dnsmasq reads an extra hosts file: its "read …" log line counts the SIGHUPs it got.
  writeFileSync(file('hosts-host'), '192.0.2.99 marker.host\n');
  writeFileSync(file('hosts-other'), '192.0.2.98 marker.other\n');
  writeFileSync(file('servers.conf'), '');
  chmodSync(file('servers.conf'), 0o644);
  await dnsmasq(NS.host, 'host', [
    '--listen-address=127.0.0.1', `--servers-file=${file('servers.conf')}`, `--addn-hosts=${file('hosts-host')}`,
    '--all-servers', '--cache-size=0',
  ]);
  await dnsmasq(NS.host, 'other', ['--listen-address=127.0.0.2', `--addn-hosts=${file('hosts-other')}`]);
  await waitFor('both host dnsmasqs to read their hosts files', () => hostsReads('host.log') === 1 && hostsReads('other.log') === 1);
});

afterAll(async () => {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  for (const ns of Object.values(NS)) await execa('ip', ['netns', 'del', ns], { reject: false });
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('dnsmasq servers per interface', () => {
  it('asks up1 servers through up1', async () => {
    const before = hostsReads('host.log');
    const result = await update('up1', ['10.201.1.1']);
    expect(result.reload).toMatchObject({ kind: 'signalled', pid: Number(read('host.pid')) });
    expect(serverLines()).toEqual(['server=10.201.1.1@up1']);
    await rereadSince(before);
    expect(await resolve('a.test.example')).toEqual(['192.0.2.1']);
    expect(queries('r1.log', 'a.test.example')).toEqual(['10.201.1.2']);
    expect(queries('r2.log', 'a.test.example')).toEqual([]);
  });

  it('asks a server outside up2’s subnet through up2, although main routes it via up1', async () => {
    // Without the binding the query would leave by up1 and r1 would never see it answered:
    const unbound = await inNs(NS.host, 'ip', '-4', 'route', 'get', FAR);
    expect(unbound.stdout).toContain('dev up1');
    const bound = await inNs(NS.host, 'ip', '-4', 'route', 'get', FAR, 'oif', 'up2');
    expect(bound.stdout).toContain('via 10.201.2.1 dev up2');

    await update('up1', []);
    const before = hostsReads('host.log');
    await update('up2', [FAR]);
    expect(serverLines()).toEqual([`server=${FAR}@up2`]);
    await rereadSince(before);
    expect(await resolve('b.test.example')).toEqual(['192.0.2.2']);
    expect(queries('r2.log', 'b.test.example')).toEqual(['10.201.2.2']);
    expect(queries('r1.log', 'b.test.example')).toEqual([]);
  });

  it('with both uplinks, each server is asked through its own link', async () => {
    await update('up1', ['10.201.1.1']);
    const before = hostsReads('host.log');
    await update('up2', [FAR, '10.201.2.1']);
    expect(serverLines()).toEqual([`server=${FAR}@up2`, 'server=10.201.2.1@up2', 'server=10.201.1.1@up1']);
    await rereadSince(before);
    expect(['192.0.2.1', '192.0.2.2']).toContainEqual((await resolve('c.test.example') as string[])[0]);
    // --all-servers: every server gets the query, each only from its own link's address.
    await waitFor('all three servers to see the query', () => queries('r1.log', 'c.test.example').length + queries('r2.log', 'c.test.example').length === 3);
    expect(queries('r1.log', 'c.test.example')).toEqual(['10.201.1.2']);
    expect(queries('r2.log', 'c.test.example')).toEqual(['10.201.2.2', '10.201.2.2']);
  });

  it('a renew with the same servers writes nothing and signals nothing', async () => {
    await sleep(300); // let earlier re-reads land in the log
    const text = readFileSync(file('servers.conf'), 'utf8');
    const reads = hostsReads('host.log');
    const result = await update('up2', [FAR, '10.201.2.1']);
    expect(result).toEqual({ changed: false, text });
    await sleep(300);
    expect(hostsReads('host.log')).toBe(reads);
  });

  it('removing up2 drops its lines, the host dnsmasq re-reads, the other dnsmasq is untouched', async () => {
    const otherPid = Number(read('other.pid'));
    const before = hostsReads('host.log');
    const result = await update('up2', []);
    expect(result.reload).toMatchObject({ kind: 'signalled' });
    expect(serverLines()).toEqual(['server=10.201.1.1@up1']);
    await rereadSince(before);
    expect(await resolve('d.test.example')).toEqual(['192.0.2.1']);
    expect(queries('r2.log', 'd.test.example')).toEqual([]);
    expect(queries('r1.log', 'd.test.example')).toEqual(['10.201.1.2']);
    // The unrelated dnsmasq: same process, never re-read anything, still answering.
    expect(readFileSync(`/proc/${otherPid}/comm`, 'utf8').trim()).toBe('dnsmasq');
    expect(hostsReads('other.log')).toBe(1);
    expect(await resolve('marker.other', '127.0.0.2')).toEqual(['192.0.2.98']);
  });
});
