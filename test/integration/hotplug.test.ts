// Hot-unplug and the daemon's kernel watcher, on the test bed, with the
// single executable: real dhclient + dhclient-script + our shim, the udev
// handler run with exactly udev's environment (env -i: no PATH), the daemon
// (allocator + watcher) running in the host namespace, dnsmasq routers with
// DHCP and RA (SLAAC). Checks what an operator would: ip rule, ip route show
// table T, the servers-file, the leases the allocator holds, ping.

import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listLeases } from '../../lib/allocator/client.js';
import { isAlive } from '../helpers/cleanup.js';
import { createTestBed, INTERNET_ADDRESS4, waitFor, type Dhclient, type IpRule, type TestBed } from '../helpers/testbed.js';
import { CONFIG, EXE, ROOT, setUpRoutingHost, tableRoutes, type RoutingHost } from './routing-host.js';

let bed: TestBed;
let rh: RoutingHost;
const SERVERS = '/run/multihomed-routing/dnsmasq-servers.conf';
// dnsmasq_mode = yes: these tests read the servers-file with no dnsmasq reading it.
const BASE_CONFIG = 'syslog = no\nstore_path = /run/multihomed-routing/leases.json\ndnsmasq_mode = yes\n';

const shim = readFileSync(join(ROOT, 'hooks/dhclient/shim.sh'), 'utf8')
  .replace("'@EXECUTABLE@'", `'${EXE}'`)
  .replace("'@CONFIG@'", `'${CONFIG}'`);

const leases = async () => listLeases({ socketPath: bed.host.path('/run/multihomed-routing/allocator/allocator.sock') });
const rules = async (family: 4 | 6 = 4) => (await bed.host.ipJson<IpRule[]>(['-N', `-${family}`, 'rule', 'show'])).filter((r) => r.protocol === '201');
const tableOf = async (address: string, family: 4 | 6 = 4) => (await rules(family)).find((r) => r.src === address)?.table;
const serverLines = async () => (await bed.host.readFile(SERVERS).catch(() => '')).split('\n').filter((l) => l.startsWith('server='));
const addressOf = async (ifname: string) => (await bed.host.addresses(ifname, 4))[0]!.local;
const ifindexOf = async (ifname: string) => (await bed.host.ipJson<{ ifindex: number }[]>(['link', 'show', 'dev', ifname]))[0]!.ifindex;

/** Restarts the daemon with extra config lines (the watcher on or off). */
async function restartDaemon(extra = '') {
  await rh.stopDaemon();
  await bed.host.writeEtc('multihomed-routing/multihomed-routing.conf', `${BASE_CONFIG}${extra}`);
  await startDaemon();
}

/** The daemon with --verbose (its log: the bed's host/daemon.out). */
async function startDaemon() {
  rh.daemon = bed.host.spawn([EXE, '--verbose', 'daemon'], { logName: 'daemon' });
  await waitFor('the daemon socket', () => leases().then(() => true), 5000, 50);
}

/** A veth pair inside the host (NAME and NAMEp), up. */
async function veth(name: string, address?: string) {
  await bed.host.exec(['ip', 'link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`]);
  await bed.host.exec(['ip', 'link', 'set', `${name}p`, 'up']);
  await bed.host.exec(['ip', 'link', 'set', name, 'up']);
  if (address) await bed.host.exec(['ip', 'addr', 'add', address, 'dev', name]);
}

const staticUp = (ifname: string, address: string, gateway: string) =>
  rh.hook({ IFACE: ifname, ADDRFAM: 'inet', METHOD: 'static', MODE: 'start', PHASE: 'post-up', IF_ADDRESS: address, IF_GATEWAY: gateway });

/** Every rule of ours names a live address of its interface, and every managed address has its four rules. */
async function converged(family: 4 | 6 = 4): Promise<string[]> {
  const problems: string[] = [];
  const links = await bed.host.links();
  const ours = await rules(family);
  const byTable = new Map<string, IpRule[]>();
  // main's suppress rule (table 254) is shared by the family, not an address's.
  for (const r of ours) if (r.table !== '254') byTable.set(r.table, [...(byTable.get(r.table) ?? []), r]);
  for (const [table, rs] of byTable) {
    const from = rs.find((r) => r.src && r.src !== 'all')?.src;
    const oif = rs.find((r) => r.oif)?.oif;
    const link = links.find((l) => l.ifname === oif);
    if (!from || !oif) problems.push(`table ${table}: incomplete rules ${JSON.stringify(rs)}`);
    else if (!link?.addr_info?.some((a) => a.local === from)) problems.push(`table ${table}: ${from} is not on ${oif}`);
    else if (rs.length < 3) problems.push(`table ${table}: only ${rs.length} rules`);
  }
  return problems;
}

beforeAll(async () => {
  bed = await createTestBed({
    name: 'hotplug',
    routers: [
      {
        hostIfname: 'eth0',
        ipv4: { subnet: '192.168.1.0/24', address: '192.168.1.1' },
        ipv6: { subnet: '2001:db8:1::/64', address: '2001:db8:1::1' },
        dhcp: { range: ['192.168.1.100', '192.168.1.150'], leaseTime: '10m' },
        dhcp6: { mode: 'slaac', raParam: '3,15', leaseTime: '2m' },
      },
      { hostIfname: 'eth1', ipv4: { subnet: '192.168.2.0/24', address: '192.168.2.1' }, dhcp: { range: ['192.168.2.100', '192.168.2.150'], leaseTime: '10m' } },
      { hostIfname: 'eth2', ipv4: { subnet: '192.168.3.0/24', address: '192.168.3.1' }, dhcp: { range: ['192.168.3.100', '192.168.3.150'], leaseTime: '10m' } },
    ],
  });
  // The udev part runs first with the watcher off, so the handler alone does the work.
  rh = await setUpRoutingHost(bed, '', 'watch_kernel = no\ndnsmasq_mode = yes\n');
  await bed.host.writeEtc('dhcp/dhclient-enter-hooks.d/multihomed-routing', shim);
}, 180_000);

afterAll(async () => {
  await rh?.stopDaemon().catch(() => {});
  // MHR_KEEP_LOG=FILE keeps the daemon's log of this run.
  if (process.env.MHR_KEEP_LOG && bed) copyFileSync(join(bed.dir, 'host', 'daemon.out'), process.env.MHR_KEEP_LOG);
  bed?.destroy();
});

describe('udev remove handler', () => {
  let eth1: Dhclient;
  let eth10: Dhclient;
  it('unplugging eth1: its dhclient stopped (eth10\'s not), DNS lines, rules and lease gone, eth0 still routing', async () => {
    await bed.host.dhclient('eth0');
    eth1 = await bed.host.dhclient('eth1');
    // eth10: a real dhclient on an interface whose name starts with eth1, with no server (keeps trying).
    await veth('eth10');
    eth10 = await bed.host.dhclient('eth10', { wait: false });
    const a0 = await addressOf('eth0');
    const a1 = await addressOf('eth1');
    const t1 = await tableOf(a1);
    expect(t1).toMatch(/^\d+$/);
    expect(await serverLines()).toEqual(expect.arrayContaining(['server=192.168.1.1@eth0', 'server=192.168.2.1@eth1']));
    const pid1 = eth1.pid()!;
    const pid10 = eth10.pid()!;
    expect(isAlive(pid1) && isAlive(pid10)).toBe(true);
    const ifindex = await ifindexOf('eth1');
    const t0table = await tableOf(a0);
    const before0 = (await rules()).filter((r) => r.table === t0table);

    await bed.host.exec(['ip', 'link', 'del', 'eth1']);
    // Exactly what udev passes to RUN programs: the device's properties, nothing else.
    const t0 = performance.now();
    const r = await bed.host.exec([
      'env', '-i', 'ACTION=remove', 'SUBSYSTEM=net', 'INTERFACE=eth1', `IFINDEX=${ifindex}`, 'DEVPATH=/devices/virtual/net/eth1', 'SEQNUM=4242',
      EXE, '--config', CONFIG, 'udev-remove',
    ]);
    const ms = performance.now() - t0;
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/dhclient of the removed interface: SIG(TERM|KILL)/);
    expect(ms).toBeLessThan(5000); // udev's limit is 180 s; measured ~0.2-0.4 s (see bench)

    expect(isAlive(pid1)).toBe(false);
    expect(isAlive(pid10)).toBe(true);
    expect(readFileSync(`/proc/${pid10}/cmdline`, 'utf8').split('\0')).toContain('eth10');
    expect(await serverLines()).toEqual(['server=192.168.1.1@eth0']);
    const left = await rules();
    expect(left.filter((x) => x.table === t1 || x.oif === 'eth1' || x.src === a1)).toEqual([]);
    expect((await leases()).filter((l) => l.ifname === 'eth1')).toEqual([]);
    expect(left.filter((x) => before0.some((b) => b.table === x.table))).toHaveLength(before0.length);
    expect(await bed.host.ping(INTERNET_ADDRESS4, { from: a0 })).toBe(true);
    expect(await bed.host.ping(INTERNET_ADDRESS4)).toBe(true);
  });

  it('the rule file matches a net remove and runs the handler (udevadm test inside the namespace)', async () => {
    const rule = readFileSync(join(ROOT, 'hooks/udev/99-multihomed-routing.rules'), 'utf8')
      .replace('@UNSET_ENV@', '/usr/bin/env -u NODE_OPTIONS')
      .replace('@EXECUTABLE@', EXE)
      .replace('@CONFIG@', CONFIG);
    await bed.host.writeEtc('udev/rules.d/99-multihomed-routing.rules', rule);
    // /sys of the host's mount namespace shows the namespace's devices; udevadm test only prints what it would run.
    const r = await bed.host.exec(['udevadm', 'test', '--action=remove', '/sys/class/net/eth10'], { reject: false });
    const out = r.stdout + r.stderr;
    expect(out, out).toContain(`${EXE} --config ${CONFIG} udev-remove`);
    await bed.host.exec(['rm', '-f', '/etc/udev/rules.d/99-multihomed-routing.rules']);
  });
});

describe('the watcher (no udev rule)', () => {
  it('unplugging eth2: rules removed and lease released within 5 s', async () => {
    await restartDaemon();
    await bed.host.dhclient('eth2');
    const a2 = await addressOf('eth2');
    const t2 = await tableOf(a2);
    expect(t2).toMatch(/^\d+$/);
    await bed.host.exec(['ip', 'link', 'del', 'eth2']);
    const t0 = Date.now();
    await waitFor('rules of eth2 removed', async () => (await rules()).every((r) => r.table !== t2), 5000, 50);
    await waitFor('lease of eth2 released', async () => (await leases()).every((l) => l.ifname !== 'eth2'), 5000 - (Date.now() - t0), 50);
    expect(await converged()).toEqual([]);
    const status = await bed.host.exec([EXE, '--config', CONFIG, 'status']);
    expect(status.stdout).toMatch(/repaired .*eth2.*interface eth2 is gone/);
  });

  it('ip addr del of a managed address: cleaned up; the hook re-adds it with the same table', async () => {
    await veth('eth3', '10.77.0.2/24');
    expect((await staticUp('eth3', '10.77.0.2/24', '10.77.0.1')).exitCode).toBe(0);
    const t3 = await tableOf('10.77.0.2');
    expect(t3).toMatch(/^\d+$/);
    await bed.host.exec(['ip', 'addr', 'del', '10.77.0.2/24', 'dev', 'eth3']);
    await waitFor('rules of 10.77.0.2 removed', async () => (await rules()).every((r) => r.table !== t3), 5000, 50);
    await waitFor('its lease released', async () => (await leases()).every((l) => l.address.text !== '10.77.0.2'), 5000, 50);
    await bed.host.exec(['ip', 'addr', 'add', '10.77.0.2/24', 'dev', 'eth3']);
    expect((await staticUp('eth3', '10.77.0.2/24', '10.77.0.1')).exitCode).toBe(0);
    expect(await tableOf('10.77.0.2')).toBe(t3);
  });

  it('link down and up flushes the table: the watcher puts its routes back', async () => {
    const t3: string = (await tableOf('10.77.0.2'))!;
    const want = await tableRoutes(bed.host, t3);
    expect(want).toContain('default via 10.77.0.1 dev eth3 src 10.77.0.2 ours');
    await bed.host.exec(['ip', 'link', 'set', 'eth3', 'down']);
    await waitFor('the kernel to flush the table', async () => (await tableRoutes(bed.host, t3)).length === 0, 5000, 50);
    await bed.host.exec(['ip', 'link', 'set', 'eth3', 'up']);
    await waitFor('table routes back', async () => JSON.stringify(await tableRoutes(bed.host, t3)) === JSON.stringify(want), 5000, 50);
    // and main holds no competing prefix route again
    expect((await bed.host.routes('main')).filter((r) => r.dev === 'eth3')).toEqual([]);
  });

  it('SLAAC: the global address gets a table with the RA default; removed when adverts stop and it expires', async () => {
    const slaac = await waitFor('a SLAAC address on eth0', async () => (await bed.host.addresses('eth0', 6)).find((a) => a.scope === 'global' && a.dynamic), 15_000, 200);
    const A = slaac!.local;
    const table = (await waitFor('its table', () => tableOf(A, 6), 5000, 100))!;
    const routes = await tableRoutes(bed.host, table, 6);
    expect(routes).toContain(`2001:db8:1::/64 dev eth0 src ${A} ours`);
    expect(routes.some((r) => /^default via fe80::\S+ dev eth0 src .* ours$/.test(r))).toBe(true);
    expect((await rules(6)).filter((r) => r.table === table).length).toBe(4);
    expect((await leases()).some((l) => l.address.text === A && l.table === Number(table))).toBe(true);
    // main keeps the kernel's own RA routes
    await waitFor('the RA default still in main', async () => (await bed.host.routes('main', 6)).some((r) => r.dst === 'default' && r.protocol === 'ra'), 10_000, 200);

    await bed.routers[0]!.stopDnsmasq();
    // router lifetime 15 s: the RA default expires in main (no event: the watcher passes at its expiry), the table's mirror follows
    await waitFor('the mirrored default route to go', async () => !(await tableRoutes(bed.host, table, 6)).some((r) => r.startsWith('default')), 30_000, 250);
    // dnsmasq's shortest valid lifetime is 2 min: let the remaining lifetime run out sooner (the kernel expires it the same way)
    await bed.host.exec(['ip', '-6', 'addr', 'change', `${A}/64`, 'dev', 'eth0', 'valid_lft', '2', 'preferred_lft', '0']);
    await waitFor('the address to expire', async () => !(await bed.host.addresses('eth0', 6)).some((a) => a.local === A), 10_000, 200);
    await waitFor('its rules removed', async () => (await rules(6)).every((r) => r.table !== table), 5000, 100);
    await waitFor('its lease released', async () => (await leases()).every((l) => l.address.text !== A), 5000, 100);
  }, 90_000);
});

describe('restarts and storms', () => {
  it('kill -9 while 20 interfaces come and go; after the restart: converged, no lease lost for a live address', async () => {
    for (let i = 0; i < 20; i++) await veth(`ch${i}`, `10.90.${i}.2/24`);
    await Promise.all(Array.from({ length: 20 }, (_, i) => staticUp(`ch${i}`, `10.90.${i}.2/24`, `10.90.${i}.1`)));
    const tables = new Map<number, string | undefined>();
    for (let i = 0; i < 20; i++) tables.set(i, await tableOf(`10.90.${i}.2`));
    expect(new Set(tables.values()).size).toBe(20);

    const churn = (async () => {
      for (let i = 0; i < 10; i++) await bed.host.exec(['ip', 'link', 'del', `ch${i}`]);
      for (let i = 10; i < 15; i++) await bed.host.exec(['ip', 'addr', 'del', `10.90.${i}.2/24`, 'dev', `ch${i}`]);
    })();
    await new Promise((r) => setTimeout(r, 30));
    const children = (await bed.host.exec(['ps', '-o', 'pid=', '--ppid', String(rh.daemon!.pid)])).stdout.trim().split(/\s+/).map(Number);
    rh.daemon!.kill('SIGKILL');
    await rh.daemon!.exited;
    // its ip monitor does not outlive it
    await waitFor('the daemon\'s ip monitor to exit', () => children.every((pid) => !isAlive(pid)), 2000, 20);
    await churn;
    await startDaemon();

    await waitFor('converged', async () => (await converged()).length === 0, 10_000, 100);
    const held = await leases();
    for (let i = 15; i < 20; i++) {
      expect(await tableOf(`10.90.${i}.2`)).toBe(tables.get(i));
      expect(held.some((l) => l.address.text === `10.90.${i}.2` && String(l.table) === tables.get(i))).toBe(true);
      expect((await rules()).filter((r) => r.table === tables.get(i))).toHaveLength(4);
    }
    for (let i = 10; i < 15; i++) expect((await rules()).some((r) => r.table === tables.get(i))).toBe(false);
  });

  it('hot-plug storm: 100 veths created and deleted; a lease answered within 1 s throughout; converged; memory back near start', async () => {
    const pid = rh.daemon!.pid;
    const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
    const sock = bed.host.path('/run/multihomed-routing/allocator/allocator.sock');
    const { call } = await import('../../lib/allocator/client.js');
    const start = rss();
    let peak = start;
    let worst = 0;
    let stop = false;
    const prober = (async () => {
      while (!stop) {
        const t0 = performance.now();
        const r = await call(sock, { version: 1, cmd: 'request', ifname: 'probe0', address: '10.99.0.1', addr_family: 4 }, { timeoutMs: 5000 });
        expect(r.table).toBeGreaterThan(0);
        worst = Math.max(worst, performance.now() - t0);
        peak = Math.max(peak, rss());
        await new Promise((res) => setTimeout(res, 50));
      }
    })();
    const batch = (verb: 'add' | 'del') =>
      Array.from({ length: 100 }, (_, i) => (verb === 'add' ? `link add st${i} type veth peer name st${i}p\nlink set st${i} up\nlink set st${i}p up` : `link del st${i}`)).join('\n');
    for (let round = 0; round < 2; round++) {
      await bed.host.exec(['ip', '-batch', '-'], { input: `${batch('add')}\n` });
      await new Promise((r) => setTimeout(r, 300));
      await bed.host.exec(['ip', '-batch', '-'], { input: `${batch('del')}\n` });
      await new Promise((r) => setTimeout(r, 300));
    }
    await new Promise((r) => setTimeout(r, 1500));
    stop = true;
    await prober;
    await call(sock, { version: 1, cmd: 'release', ifname: 'probe0', address: '10.99.0.1', addr_family: 4 });
    const end = rss();
    const view = JSON.parse(await bed.host.readFile('/run/multihomed-routing/daemon-view.json'));
    console.log(`storm: worst lease ${worst.toFixed(0)} ms, rss start ${start.toFixed(1)} peak ${peak.toFixed(1)} end ${end.toFixed(1)} MiB, ${view.events} events in ${view.passes} passes`);
    expect(worst).toBeLessThan(1000);
    expect(await converged()).toEqual([]);
    expect(view.passes).toBeLessThan(view.events / 10); // coalesced, not one pass per event
    expect(end - start).toBeLessThan(30);
  }, 60_000);
});
