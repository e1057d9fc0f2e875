// Addresses that no hook reports, and the daemon's config re-read on SIGHUP,
// with the single executable in a test bed: two uplinks already up (address
// and default route in main, as ifupdown leaves them without our hook) when
// the daemon starts are taken over; an address added by hand and
// NetworkManager's dhcp4-change renewal (through Debian's real 01-ifupdown,
// which ignores it) are adopted after the grace period, the replaced address
// cleaned up; a config edit + SIGHUP changes the ranking of the next event.
// Checks what an operator would: ip rule, ip route show table T, status,
// which router's counter moved.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestBed, waitFor, type IpRule, type TestBed } from '../helpers/testbed.js';
import { cli, networkManagerDispatcher, setUpRoutingHost, tableRoutes, type RoutingHost } from './routing-host.js';

const CONF = 'multihomed-routing/multihomed-routing.conf';
const BASE = 'syslog = no\nstore_path = /run/multihomed-routing/leases.json\nhealth_check = no\n'; // as setUpRoutingHost writes it

let bed: TestBed;
let rh: RoutingHost;

const ours = async (family: 4 | 6 = 4) => (await bed.host.rules(family)).filter((r) => r.protocol === '201');
/** The table of `from A lookup T` (the one rule shape every layout keeps), or undefined. */
const tableOf = async (address: string, family: 4 | 6 = 4) => (await ours(family)).find((r) => r.src === address)?.table;
/**
 * The uplinks in the order of the band for unbound traffic: our rules without
 * `from A`, `oif`, `to P` (whatever their priority and selector: `iif lo` or
 * `from all`), by priority, each named by its table's `oif` rule.
 */
async function bandOrder(): Promise<string[]> {
  const rules = await ours();
  const band = rules.filter((r: IpRule) => (!r.src || r.src === 'all') && !r.oif && !r.dst && r.table !== 'main' && r.table !== '254');
  return band.sort((a, b) => a.priority - b.priority).map((r) => rules.find((o) => o.oif && o.table === r.table)?.oif ?? `?${r.table}`);
}
const link = async (ifname: string) => {
  const [l] = await bed.host.ipJson<{ ifindex: number; flags: string[]; stats64: { rx: { packets: number }; tx: { packets: number; carrier_changes?: number } } }[]>(['-s', '-s', 'link', 'show', 'dev', ifname]);
  return { ifindex: l!.ifindex, up: l!.flags.includes('LOWER_UP'), carrierChanges: l!.stats64.tx.carrier_changes, tx: l!.stats64.tx.packets };
};
const daemonLog = () => readFileSync(rh.daemon!.logFile, 'utf8');
const statusText = async () => (await cli(bed.host, ['status'])).stdout;
const forwarded = async (i: number) => (await bed.routers[i]!.netstat())['Ip.ForwDatagrams']!;

beforeAll(async () => {
  bed = await createTestBed({
    name: 'adopt',
    routers: [
      { hostIfname: 'eth0', ipv4: { subnet: '10.71.0.0/24', address: '10.71.0.1' } },
      { hostIfname: 'eth1', ipv4: { subnet: '10.72.0.0/24', address: '10.72.0.1' } },
      { hostIfname: 'eth2', ipv4: { subnet: '10.73.0.0/24', address: '10.73.0.1' } },
      { hostIfname: 'nm0', ipv4: { subnet: '10.75.0.0/24', address: '10.75.0.1' } },
    ],
  });
  // Two uplinks already up, as ifupdown leaves them without our hook: address, prefix route and default route in main.
  const h = (argv: string[]) => bed.host.exec(argv);
  for (const [i, dev] of [[1, 'eth0'], [2, 'eth1']] as const) {
    await h(['ip', 'link', 'set', dev, 'up']);
    await h(['ip', 'addr', 'add', `10.7${i}.0.2/24`, 'dev', dev]);
    await h(['ip', 'route', 'add', 'default', 'via', `10.7${i}.0.1`, 'dev', dev, 'metric', String(i * 100)]);
  }
}, 180_000);

afterAll(async () => {
  await rh?.stopDaemon().catch(() => {});
  bed?.destroy();
});

describe('adoption and take-over (no hook reports the address)', () => {
  test('take-over: two uplinks already up when the daemon starts get tables and rules, no hook run, no link bounced', async () => {
    const before = { eth0: await link('eth0'), eth1: await link('eth1') };
    expect(before.eth0.carrierChanges).toBeDefined();
    const t0 = Date.now();
    rh = await setUpRoutingHost(bed, '', 'interface_priority = eth0 eth1 *\n');
    const tables = await waitFor('both tables', async () => {
      const t = [await tableOf('10.71.0.2'), await tableOf('10.72.0.2')];
      return t.every(Boolean) ? t : undefined;
    });
    const tookMs = Date.now() - t0;
    expect(await tableRoutes(bed.host, tables![0]!)).toEqual(['10.71.0.0/24 dev eth0 src 10.71.0.2 ours', 'default via 10.71.0.1 dev eth0 src 10.71.0.2 ours']);
    expect(await tableRoutes(bed.host, tables![1]!)).toEqual(['10.72.0.0/24 dev eth1 src 10.72.0.2 ours', 'default via 10.72.0.1 dev eth1 src 10.72.0.2 ours']);
    expect(await bandOrder()).toEqual(['eth0', 'eth1']);
    // No link bounced: same interface, carrier never lost, counters kept counting.
    for (const dev of ['eth0', 'eth1'] as const) {
      const now = await link(dev);
      expect([now.ifindex, now.up, now.carrierChanges]).toEqual([before[dev].ifindex, true, before[dev].carrierChanges]);
      expect(now.tx).toBeGreaterThanOrEqual(before[dev].tx);
    }
    // Main as it was: the adopted routing only adds.
    expect((await tableRoutes(bed.host, 'main')).filter((r) => r.startsWith('default'))).toEqual(['default via 10.71.0.1 dev eth0 proto boot', 'default via 10.72.0.1 dev eth1 proto boot']);
    // Bound traffic leaves by its own uplink, the other router's counter stays.
    const [f0, f1] = [await forwarded(0), await forwarded(1)];
    expect(await bed.host.ping(bed.internet.address4, { from: '10.72.0.2', count: 2 })).toBe(true);
    expect(await forwarded(1)).toBeGreaterThanOrEqual(f1 + 4);
    expect(await forwarded(0)).toBe(f0);
    // Taken over by the daemon (no hook ran: none was called), and status says so.
    expect(daemonLog()).toMatch(/adopted: present when the daemon started, without a table: taken over/);
    expect(await statusText()).toMatch(/lease eth1 10\.72\.0\.2 table \d+ \(adopted: present when the daemon started/);
    const json = (await rh.status()) as (Awaited<ReturnType<RoutingHost['status']>>[number] & { adopted?: string })[];
    expect(json.filter((e) => e.adopted).map((e) => `${e.ifname} ${e.address}`).sort()).toEqual(['eth0 10.71.0.2/24', 'eth1 10.72.0.2/24']);
    console.log(`take-over: both tables ${tookMs} ms after the daemon was started`);
  });

  test('ip addr add by hand: adopted after the grace period with main\'s default route of that interface; ip addr del cleans up', async () => {
    const h = (argv: string[]) => bed.host.exec(argv);
    await h(['ip', 'link', 'set', 'eth2', 'up']);
    await h(['ip', 'addr', 'add', '10.73.0.2/24', 'dev', 'eth2']);
    await h(['ip', 'route', 'add', 'default', 'via', '10.73.0.1', 'dev', 'eth2', 'metric', '300']);
    const t0 = Date.now();
    const table = await waitFor('adoption of 10.73.0.2', () => tableOf('10.73.0.2'), 10_000, 50);
    const tookMs = Date.now() - t0;
    expect(tookMs).toBeGreaterThanOrEqual(1900); // the grace period (2000 ms) for a hook came first
    expect(await tableRoutes(bed.host, table!)).toEqual(['10.73.0.0/24 dev eth2 src 10.73.0.2 ours', 'default via 10.73.0.1 dev eth2 src 10.73.0.2 ours']);
    expect(await bandOrder()).toEqual(['eth0', 'eth1', 'eth2']);
    expect(await statusText()).toMatch(/lease eth2 10\.73\.0\.2 table \d+ \(adopted: no hook reported it within 2000 ms: adopted\)/);
    const f2 = await forwarded(2);
    expect(await bed.host.ping(bed.internet.address4, { from: '10.73.0.2', count: 2 })).toBe(true);
    expect(await forwarded(2)).toBeGreaterThanOrEqual(f2 + 4);
    // main's default router of eth2 changes (as when NetworkManager or networkd gets another gateway): the adopted table follows.
    await h(['ip', 'route', 'replace', 'default', 'via', '10.73.0.254', 'dev', 'eth2', 'metric', '300']);
    await waitFor('table follows main', async () => (await tableRoutes(bed.host, table!)).includes('default via 10.73.0.254 dev eth2 src 10.73.0.2 ours') || undefined);
    await h(['ip', 'route', 'replace', 'default', 'via', '10.73.0.1', 'dev', 'eth2', 'metric', '300']);
    await waitFor('table back', async () => (await tableRoutes(bed.host, table!)).includes('default via 10.73.0.1 dev eth2 src 10.73.0.2 ours') || undefined);
    expect(await tableRoutes(bed.host, table!)).toEqual(['10.73.0.0/24 dev eth2 src 10.73.0.2 ours', 'default via 10.73.0.1 dev eth2 src 10.73.0.2 ours']);
    // A hook reporting the address after the adoption plans over it: same table, the record is the hook's.
    const late = await rh.hook({ IFACE: 'eth2', ADDRFAM: 'inet', METHOD: 'static', MODE: 'start', PHASE: 'post-up', IF_ADDRESS: '10.73.0.2/24', IF_GATEWAY: '10.73.0.1' });
    expect(late.exitCode, late.stderr).toBe(0);
    expect(await tableOf('10.73.0.2')).toBe(table);
    expect(await tableRoutes(bed.host, table!)).toEqual(['10.73.0.0/24 dev eth2 src 10.73.0.2 ours', 'default via 10.73.0.1 dev eth2 src 10.73.0.2 ours']);
    await waitFor('status without "adopted"', async () => !/lease eth2 10\.73\.0\.2 .*adopted/.test(await statusText()) || undefined);

    await h(['ip', 'addr', 'del', '10.73.0.2/24', 'dev', 'eth2']);
    await waitFor('rules of 10.73.0.2 gone', async () => (await ours()).every((r) => r.table !== table) || undefined);
    expect(await bandOrder()).toEqual(['eth0', 'eth1']);
  });

  test('a hook that reports the address within the grace period: no adoption, the hook\'s routing stands', async () => {
    await bed.host.exec(['ip', 'addr', 'add', '10.73.0.3/24', 'dev', 'eth2']);
    const r = await rh.hook({ IFACE: 'eth2', ADDRFAM: 'inet', METHOD: 'static', MODE: 'start', PHASE: 'post-up', IF_ADDRESS: '10.73.0.3/24', IF_GATEWAY: '10.73.0.1' });
    expect(r.exitCode, r.stderr).toBe(0);
    const table = await tableOf('10.73.0.3');
    expect(table).toBeDefined();
    await new Promise((res) => setTimeout(res, 2500)); // past the grace period
    expect(await tableOf('10.73.0.3')).toBe(table);
    expect(await statusText()).not.toMatch(/lease eth2 10\.73\.0\.3 .*adopted/);
    // The hook's down event while the address stays: the daemon does not adopt it back.
    const down = await rh.hook({ IFACE: 'eth2', ADDRFAM: 'inet', METHOD: 'static', MODE: 'stop', PHASE: 'post-down', IF_ADDRESS: '10.73.0.3/24', IF_GATEWAY: '10.73.0.1' });
    expect(down.exitCode, down.stderr).toBe(0);
    expect(await tableOf('10.73.0.3')).toBeUndefined();
    await new Promise((res) => setTimeout(res, 2500));
    expect(await tableOf('10.73.0.3')).toBeUndefined();
    await bed.host.exec(['ip', 'addr', 'del', '10.73.0.3/24', 'dev', 'eth2']);
  });

  test('NetworkManager renews with a new address (dhcp4-change, which the real 01-ifupdown ignores): the new one adopted, the old one cleaned up', async () => {
    await bed.host.writeEtc('NetworkManager/dispatcher.d/01-ifupdown', await networkManagerDispatcher(), 0o755);
    const dispatcher = '/etc/NetworkManager/dispatcher.d/01-ifupdown';
    const h = (argv: string[]) => bed.host.exec(argv);
    // What NetworkManager does on `up`: address without prefix route, its own metrics in main, then the dispatcher.
    await h(['ip', 'link', 'set', 'nm0', 'up']);
    await h(['ip', 'addr', 'add', '10.75.0.2/24', 'dev', 'nm0', 'noprefixroute']);
    await h(['ip', 'route', 'add', '10.75.0.0/24', 'dev', 'nm0', 'proto', 'kernel', 'scope', 'link', 'src', '10.75.0.2', 'metric', '600']);
    await h(['ip', 'route', 'add', 'default', 'via', '10.75.0.1', 'dev', 'nm0', 'proto', 'dhcp', 'metric', '600']);
    const env = (a: string) => ({ IP4_NUM_ADDRESSES: '1', IP4_ADDRESS_0: `${a}/24 10.75.0.1`, IP4_GATEWAY: '10.75.0.1' });
    const up = await bed.host.exec([dispatcher, 'nm0', 'up'], { env: env('10.75.0.2'), reject: false });
    expect(up.exitCode, up.stderr).toBe(0);
    const old = await tableOf('10.75.0.2');
    expect(old).toBeDefined();

    // The renewal brings 10.75.0.3: NetworkManager swaps the addresses and its routes, then dispatches dhcp4-change.
    await h(['ip', 'addr', 'del', '10.75.0.2/24', 'dev', 'nm0']);
    await h(['ip', 'addr', 'add', '10.75.0.3/24', 'dev', 'nm0', 'noprefixroute']);
    await h(['ip', 'route', 'replace', '10.75.0.0/24', 'dev', 'nm0', 'proto', 'kernel', 'scope', 'link', 'src', '10.75.0.3', 'metric', '600']);
    await h(['ip', 'route', 'replace', 'default', 'via', '10.75.0.1', 'dev', 'nm0', 'proto', 'dhcp', 'metric', '600']);
    const change = await bed.host.exec([dispatcher, 'nm0', 'dhcp4-change'], { env: env('10.75.0.3'), reject: false });
    expect(change.exitCode, change.stderr).toBe(0);
    const table = await waitFor('adoption of 10.75.0.3', () => tableOf('10.75.0.3'), 10_000, 50);
    expect(await tableRoutes(bed.host, table!)).toEqual(['10.75.0.0/24 dev nm0 src 10.75.0.3 ours', 'default via 10.75.0.1 dev nm0 src 10.75.0.3 ours']);
    // The old address's rules are gone (its table may serve the new one: the lease was freed first).
    expect((await ours()).filter((r) => r.src?.startsWith('10.75.')).map((r) => `${r.src} ${r.table}`)).toEqual([`10.75.0.3 ${table}`]);
    expect(new Set((await ours()).filter((r) => r.oif === 'nm0').map((r) => r.table))).toEqual(new Set([table]));
    expect(await tableRoutes(bed.host, old!)).not.toContainEqual(expect.stringContaining('10.75.0.2'));
    const f3 = await forwarded(3);
    expect(await bed.host.ping(bed.internet.address4, { from: '10.75.0.3', count: 2 })).toBe(true);
    expect(await forwarded(3)).toBeGreaterThanOrEqual(f3 + 4);
    // NetworkManager's main stands.
    expect((await tableRoutes(bed.host, 'main')).filter((r) => r.includes('nm0'))).toEqual(['10.75.0.0/24 dev nm0 src 10.75.0.3 proto 2', 'default via 10.75.0.1 dev nm0 proto 16']);
    const down = await bed.host.exec([dispatcher, 'nm0', 'down'], { reject: false });
    expect(down.exitCode, down.stderr).toBe(0);
    await h(['ip', 'addr', 'flush', 'dev', 'nm0']);
    await waitFor('nm0 routing gone', async () => (await ours()).every((r) => r.oif !== 'nm0') || undefined);
  });
});

describe('systemctl reload / SIGHUP', () => {
  test('a config edit + SIGHUP: the next event ranks by the new config, applied by the daemon, no restart', async () => {
    const pid = rh.daemon!.pid;
    expect(await bandOrder()).toEqual(['eth0', 'eth1']);
    await bed.host.writeEtc(CONF, `${BASE}interface_priority = eth1 eth0 *\n`);
    rh.daemon!.kill('SIGHUP');
    await waitFor('reload logged', () => /config reloaded .*changed=interface_priority/.test(daemonLog()) || undefined);
    // The next event: a hook's, which the daemon now accepts (before the reload it refused a changed config).
    await bed.host.exec(['ip', 'addr', 'add', '10.73.0.4/24', 'dev', 'eth2']);
    const r = await cli(bed.host, ['--verbose', 'ifupdown'], { IFACE: 'eth2', ADDRFAM: 'inet', METHOD: 'static', MODE: 'start', PHASE: 'post-up', IF_ADDRESS: '10.73.0.4/24', IF_GATEWAY: '10.73.0.1' });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/applied by the daemon/);
    expect(await bandOrder()).toEqual(['eth1', 'eth0', 'eth2']);
    expect(rh.daemon!.pid).toBe(pid);

    // A file that does not parse: logged, the config in use stays, the daemon runs on.
    await bed.host.writeEtc(CONF, `${BASE}interface_priority = eth0 eth1 *\nlease_time = soon\n`);
    rh.daemon!.kill('SIGHUP');
    await waitFor('refusal logged', () => /config not reloaded, the daemon keeps the one in use: .*lease_time: expected a whole number/.test(daemonLog()) || undefined);
    await bed.host.writeEtc(CONF, `${BASE}interface_priority = eth1 eth0 *\n`); // as in use
    rh.daemon!.kill('SIGHUP');
    await waitFor('reloaded again', () => /config reloaded .*changed=none/.test(daemonLog()) || undefined);
    await bed.host.exec(['ip', 'addr', 'del', '10.73.0.4/24', 'dev', 'eth2']);
    await waitFor('10.73.0.4 cleaned up', async () => !(await tableOf('10.73.0.4')) || undefined);
    expect(await bandOrder()).toEqual(['eth1', 'eth0']);
  });
});

