// Hooks dispatch their jobs to the running daemon (lib/dispatch): the
// daemon applies them, and the kernel state is what the hook working alone
// makes; with the daemon gone or stopped the hook works alone; the daemon
// refuses malformed and oversized jobs and keeps serving.

import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DISPATCH_TIMEOUT_MS } from '../../lib/dispatch/dispatch.js';
import { encodeJob } from '../../lib/dispatch/wire.js';
import { parseInterfaceAddress } from '../../lib/net/address.js';
import { createTestBed, type TestBed } from '../helpers/testbed.js';
import { cli, CONFIG, exchange, EXE, ourRules, setUpRoutingHost, tableRoutes, type RoutingHost } from './routing-host.js';

const up = { IFACE: 'eth0', ADDRFAM: 'inet', METHOD: 'static', MODE: 'start', PHASE: 'post-up', IF_ADDRESS: '192.0.2.10/24', IF_GATEWAY: '192.0.2.1' };
const down = { ...up, MODE: 'stop', PHASE: 'post-down' };
const OTHER_CONFIG = '/run/mhr-delegate-other.conf';

describe('hooks dispatch their jobs to the daemon', () => {
  let bed: TestBed;
  let rh: RoutingHost;
  let socket: string;
  const hook = (env: Record<string, string>, flags: string[] = []) => cli(bed.host, ['--verbose', ...flags, 'ifupdown'], env);
  const snapshot = async () => ({
    rules: await ourRules(bed.host),
    main: await tableRoutes(bed.host, 'main'),
    tables: await Promise.all([...new Set((await ourRules(bed.host)).map((r) => r.split(' ').at(-1)!))].map((t) => tableRoutes(bed.host, t))),
  });

  beforeAll(async () => {
    bed = await createTestBed({ name: 'delegate', routers: [] });
    // dnsmasq_mode = yes: the servers-file is checked with no dnsmasq reading it.
    rh = await setUpRoutingHost(bed, '', 'dnsmasq_mode = yes\n');
    socket = bed.host.path('/run/multihomed-routing/allocator/allocator.sock');
    await bed.host.exec(['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0peer']);
    for (const dev of ['eth0', 'eth0peer']) await bed.host.exec(['ip', 'link', 'set', dev, 'up']);
    await bed.host.exec(['ip', 'addr', 'add', '192.0.2.10/24', 'dev', 'eth0']);
    // The same settings under another name: the daemon refuses events planned with it, the hook works alone (with the allocator).
    await bed.host.exec(['cp', CONFIG, OTHER_CONFIG]);
  });
  afterAll(() => bed?.destroy());

  test('the daemon applies the event; the hook working alone makes the same kernel state', async () => {
    const baseline = await snapshot();
    await bed.host.exec(['ip', 'route', 'replace', 'default', 'via', '192.0.2.1', 'dev', 'eth0']);
    const t0 = Date.now();
    const delegated = await hook(up);
    // The reply ends the hook: its reply deadline keeps no process alive (lib/ipc/line-socket.ts).
    expect(Date.now() - t0).toBeLessThan(DISPATCH_TIMEOUT_MS / 2);
    expect(delegated.exitCode).toBe(0);
    expect(delegated.stderr).toMatch(/ifupdown: debug: applied by the daemon pid=\d+/);
    expect(delegated.stderr).toMatch(/ifupdown: routing updated iface=eth0 address=192\.0\.2\.10\/24 table=\d+ changes=\d+/);
    const byDaemon = await snapshot();
    expect(byDaemon.rules).toHaveLength(5); // four for the address, main's suppress rule
    // Nothing changed: the daemon says so, and changes nothing.
    const again = await hook(up);
    expect(again.stderr).toMatch(/routing already in place .*changes=0/);
    expect(await snapshot()).toEqual(byDaemon);
    // A dry run through the daemon prints the plan on stdout, changes nothing.
    const dry = await hook(down, ['--dry-run']);
    expect(dry.stdout).toMatch(/ip -4 rule del pref 10000 from 192\.0\.2\.10\/32 lookup \d+ protocol 201/);
    expect(await snapshot()).toEqual(byDaemon);
    expect((await hook(down)).stderr).toMatch(/applied by the daemon/);
    expect(await snapshot()).toEqual(baseline);

    await bed.host.exec(['ip', 'route', 'replace', 'default', 'via', '192.0.2.1', 'dev', 'eth0']);
    const alone = await hook(up, ['--config', OTHER_CONFIG]);
    expect(alone.exitCode).toBe(0);
    expect(alone.stderr).toMatch(/warn: working alone: the daemon did not take the event: the daemon runs with/);
    expect(alone.stderr).not.toMatch(/applied by the daemon/);
    expect(await snapshot()).toEqual(byDaemon);
  });

  test("dhclient: the daemon also writes the interface's name servers, in the same round trip; working alone, the hook does", async () => {
    const servers = () => bed.host.readFile('/run/multihomed-routing/dnsmasq-servers.conf').then((t) => t.split('\n').filter((l) => l.startsWith('server=')), () => []);
    // Another address than the static one of eth0, whose rules the other tests use.
    const lease = { interface: 'eth0', new_ip_address: '192.0.2.20', new_subnet_mask: '255.255.255.0', new_routers: '192.0.2.1', new_domain_name_servers: '192.0.2.53' };
    const old = { interface: 'eth0', old_ip_address: '192.0.2.20', old_subnet_mask: '255.255.255.0' };
    const rulesOfLease = async () => (await ourRules(bed.host)).filter((r) => r.includes('from 192.0.2.20'));
    const before = await ourRules(bed.host);
    const dhclient = (env: Record<string, string>) => cli(bed.host, ['--verbose', 'dhclient-hook'], env);

    const bound = await dhclient({ ...lease, reason: 'BOUND' });
    expect(bound.exitCode).toBe(0);
    expect(bound.stdout).toMatch(/outcome=handled/);
    expect(bound.stderr).toMatch(/applied by the daemon[\s\S]*dhclient-hook: dnsmasq servers written ifname=eth0 family=ipv4 servers=192\.0\.2\.53/);
    expect(await servers()).toEqual(['server=192.0.2.53@eth0']);
    expect(await rulesOfLease()).toHaveLength(1);

    await rh.stopDaemon();
    try {
      const released = await dhclient({ ...old, reason: 'RELEASE' });
      expect(released.exitCode).toBe(0);
      expect(released.stderr).toMatch(/working alone: no daemon is running/);
      expect(released.stderr).toMatch(/dnsmasq servers written ifname=eth0 family=ipv4 servers=\(none\)/);
      expect(await servers()).toEqual([]);
      expect(await rulesOfLease()).toEqual([]);
      expect(await ourRules(bed.host)).toEqual(before);
    } finally {
      await rh.startDaemon();
    }
  });

  test('udev-remove: its job (the interface gone, its name servers) is answered by the daemon', async () => {
    const servers = () => bed.host.readFile('/run/multihomed-routing/dnsmasq-servers.conf').then((t) => t.split('\n').filter((l) => l.startsWith('server=')), () => []);
    await bed.host.exec(['ip', 'link', 'add', 'eth5', 'type', 'veth', 'peer', 'name', 'eth5peer']);
    for (const dev of ['eth5', 'eth5peer']) await bed.host.exec(['ip', 'link', 'set', dev, 'up']);
    const lease = { interface: 'eth5', new_ip_address: '198.51.100.5', new_subnet_mask: '255.255.255.0', new_routers: '198.51.100.1', new_domain_name_servers: '198.51.100.53' };
    const bound = await cli(bed.host, ['--verbose', 'dhclient-hook'], { ...lease, reason: 'BOUND' });
    expect(bound.stdout).toMatch(/outcome=handled/);
    expect((await ourRules(bed.host)).filter((r) => r.includes('198.51.100.5'))).toHaveLength(1);
    expect(await servers()).toContain('server=198.51.100.53@eth5');

    await bed.host.exec(['ip', 'link', 'del', 'eth5']);
    const r = await bed.host.exec(['env', '-i', 'ACTION=remove', 'SUBSYSTEM=net', 'INTERFACE=eth5', 'IFINDEX=99', EXE, '--config', CONFIG, '--verbose', 'udev-remove']);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/udev-remove: debug: applied by the daemon pid=\d+/);
    expect(r.stderr).toMatch(/udev-remove: dnsmasq servers of the interface removed ifname=eth5/);
    expect(r.stderr).not.toMatch(/working alone/);
    expect((await ourRules(bed.host)).filter((r) => r.includes('198.51.100.5'))).toEqual([]);
    expect(await servers()).not.toContain('server=198.51.100.53@eth5');
  });

  test("kill -9 before a delegated event's lease reached the store: the restarted daemon claims the table from the kernel before it answers", async () => {
    await bed.host.exec(['ip', 'route', 'replace', 'default', 'via', '192.0.2.1', 'dev', 'eth0']);
    const r = await hook(up);
    expect(r.stderr).toMatch(/applied by the daemon/);
    const table = Number(/routing updated iface=eth0 address=192\.0\.2\.10\/24 table=(\d+)/.exec(r.stderr)?.[1]);
    expect(table).toBeGreaterThan(0);
    rh.daemon!.kill('SIGKILL');
    await rh.daemon!.exited;
    // Whether or not the write (due within STORE_SOON_MS) made it: the store without the lease.
    fs.rmSync(bed.host.path('/run/multihomed-routing/leases.json'), { force: true });
    const logFile = rh.daemon!.logFile;
    const before = fs.statSync(logFile).size;
    await rh.startDaemon(); // returns at once: the killed daemon's socket file is still there
    const newLines = () => fs.readFileSync(logFile, 'utf8').slice(before);
    for (let i = 0; i < 100 && !newLines().includes('allocator listening'); i++) await new Promise((res) => setTimeout(res, 50));
    expect(newLines()).toMatch(
      new RegExp(`lease claimed: the kernel routes the address through this table, the store did not have it ifname=eth0 address=192\\.0\\.2\\.10 table=${table}`),
    );
    const list = await cli(bed.host, ['lease', 'list', '--json']);
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ ifname: 'eth0', address: '192.0.2.10', table })]);
    // another address is not given that table; the claim is on disk
    const other = await cli(bed.host, ['lease', 'request', '-4', '--ifname', 'eth9', '--address', '192.0.2.99']);
    expect(Number(other.stdout.trim())).toBeGreaterThan(0);
    expect(Number(other.stdout.trim())).not.toBe(table);
    expect(fs.readFileSync(bed.host.path('/run/multihomed-routing/leases.json'), 'utf8')).toContain('"address":"192.0.2.10"');
    await cli(bed.host, ['lease', 'release', '-4', '--ifname', 'eth9', '--address', '192.0.2.99']);
    // the routing is the daemon's again: the next event changes nothing
    expect((await hook(up)).stderr).toMatch(/routing already in place .*changes=0/);
  });

  test('daemon stopped: the hook works alone at once', async () => {
    const before = await snapshot();
    await rh.stopDaemon();
    try {
      const t0 = Date.now();
      const r = await hook(down);
      expect(Date.now() - t0).toBeLessThan(8000); // no waiting for a daemon that is not there (release: one failed connect)
      expect(r.exitCode).toBe(0);
      expect(r.stderr).toMatch(/debug: working alone: no daemon is running/);
      expect(r.stderr).toMatch(/routing updated iface=eth0/);
      expect(await ourRules(bed.host)).toEqual([]);
      expect(before.rules).toHaveLength(5); // four for the address, main's suppress rule
    } finally {
      await rh.startDaemon();
    }
  });

  test('a malformed or oversized event gets an error reply; the daemon keeps serving', async () => {
    const bad = await exchange(socket, `${JSON.stringify({ version: 1, cmd: 'event', events: [{ kind: 'address-up', source: 'ifupdown', ifname: 'eth0', address: '192.0.2.10/33', gateways: [], routes: [], manage_address: false }], dry_run: false, verbose: false, config_path: CONFIG, hook: 'ifupdown', expires_at: Date.now() + 10_000 })}\n`);
    expect(JSON.parse(bad)).toMatchObject({ cmd: 'response', error: expect.stringMatching(/event\.address/) });
    const hostile = await exchange(socket, `${JSON.stringify({ version: 1, cmd: 'event', events: [{ kind: 'interface-gone', source: 'udev', ifname: 'eth0', extra: '$(reboot)' }], dry_run: false, verbose: false, config_path: CONFIG, hook: 'ifupdown', expires_at: Date.now() + 10_000 })}\n`);
    expect(JSON.parse(hostile).error).toMatch(/unexpected field/);
    const huge = await exchange(socket, `{"version":1,"cmd":"event",${'"x":"' + 'a'.repeat(70_000)}"}\n`);
    expect(JSON.parse(huge).error).toMatch(/request longer than 65536 bytes/);
    await bed.host.exec(['ip', 'route', 'replace', 'default', 'via', '192.0.2.1', 'dev', 'eth0']);
    const r = await hook(up);
    expect(r.stderr).toMatch(/applied by the daemon/);
    expect(await ourRules(bed.host)).toHaveLength(5); // four for the address, main's suppress rule
  });

  test('2,000 events that do nothing (address not on the interface) leave the lease count unchanged: each returns its lease', async () => {
    const leaseCount = async () => (JSON.parse(await exchange(socket, '{"version":1,"cmd":"list"}\n')) as { leases: unknown[] }).leases.length;
    const before = await leaseCount();
    for (let i = 0; i < 2000; i++) {
      const address = `10.200.${i >> 8}.${i & 255}`;
      const job = { hook: 'ifupdown' as const, dryRun: false, verbose: false, events: [{ kind: 'address-up' as const, source: 'ifupdown' as const, ifname: 'eth0', address: parseInterfaceAddress(`${address}/16`), gateways: [], routes: [], manageAddress: false }] };
      const reply = JSON.parse(await exchange(socket, `${JSON.stringify(encodeJob(job, CONFIG, Date.now() + 10_000))}\n`)) as { failed?: string; error?: string; lines: string[] };
      expect(reply.error).toBeUndefined();
      expect(reply.failed).toBeUndefined();
      if (i === 0) expect(reply.lines.join('\n')).toMatch(/nothing to do: address 10\.200\.0\.0 is not on eth0/);
    }
    // table_range holds 1,000: without the release, the first 1,000 would have taken every table.
    expect(await leaseCount()).toBe(before);
  }, 120_000);

  test('daemon stopped mid-way (SIGSTOP): the hook works alone after 10 s, logged, asking it for no lease; the daemon drops the stale events later', async () => {
    const probe = await hook(up);
    const pid = Number(/applied by the daemon pid=(\d+)/.exec(probe.stderr)?.[1]);
    expect(pid).toBeGreaterThan(1);
    process.kill(pid, 'SIGSTOP');
    try {
      const t0 = Date.now();
      const r = await hook(down);
      const took = Date.now() - t0;
      expect(took).toBeGreaterThanOrEqual(10_000);
      expect(r.exitCode).toBe(0);
      expect(r.stderr).toMatch(/warn: working alone: the daemon took the event but did not answer within 10000 ms/);
      expect(r.stderr).toMatch(/routing updated iface=eth0/);
      expect(await ourRules(bed.host)).toEqual([]);
      // A new address while it is stopped: the hook waits for it once, asks it for no lease
      // (it is the allocator), and falls back to main; the wait stays within the one timeout.
      await bed.host.exec(['ip', 'route', 'replace', 'default', 'via', '192.0.2.1', 'dev', 'eth0']);
      const t1 = Date.now();
      const alone = await hook(up);
      expect(Date.now() - t1).toBeLessThan(DISPATCH_TIMEOUT_MS + 3000);
      expect(alone.exitCode).toBe(0);
      expect(alone.stderr).toMatch(/warn: no table lease: the allocator is not answering iface=eth0 address=192\.0\.2\.10/);
      expect(alone.stderr).toMatch(/no routing table lease: fallback to the main table/);
      // No table: only the rule that keeps the address's own traffic in main (the fallback), no band.
      expect(await ourRules(bed.host)).toEqual(['10000 from 192.0.2.10 lookup 254']);
      expect((await tableRoutes(bed.host, 'main')).join('\n')).toContain('default via 192.0.2.1 dev eth0 src 192.0.2.10 ours');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    // The daemon serves again and did not apply the stale down event over a new up.
    await bed.host.exec(['ip', 'route', 'replace', 'default', 'via', '192.0.2.1', 'dev', 'eth0']);
    const r = await hook(up);
    expect(r.stderr).toMatch(/applied by the daemon/);
    await new Promise((res) => setTimeout(res, 300));
    expect(await ourRules(bed.host)).toHaveLength(5); // four for the address, main's suppress rule
    const logs = (fs.readdirSync(bed.dir, { recursive: true }) as string[]).filter((f) => f.endsWith('daemon.out'));
    expect(logs.map((f) => fs.readFileSync(`${bed.dir}/${f}`, 'utf8')).join('')).toMatch(/event dropped: the hook stopped waiting for it and worked alone hook=ifupdown iface=eth0/);
  }, 90_000);
});
