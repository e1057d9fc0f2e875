// Issue 17, items 2 and 6, end to end with real dhclient, the real
// /sbin/dhclient-script and our shim, the bundled executable and its daemon:
// - a DHCP server that hands out netmask 0.0.0.0: the lease is routed as the
//   host address (no `to` rule covering everything, so other uplinks keep
//   their destinations), it works, and its RELEASE succeeds;
// - a RELEASE whose kernel prefix route was already put back in main by hand
//   converges instead of failing with "File exists".

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setUpHookedHost } from '../helpers/hooked-host.js';
import { createTestBed, INTERNET_ADDRESS4, type Dhclient, type SpawnedProcess, type TestBed } from '../helpers/testbed.js';

const WHOLE_CONF = '/etc/dhcp/dhclient-whole.conf';

let bed: TestBed;
let exe: string;
let daemon: SpawnedProcess;
let wlan1: Dhclient;


/** Rules that point at a non-main table, as `pref selector table` strings. */
async function ourRules(): Promise<string[]> {
  return (await bed.host.rules(4))
    .filter((r) => !['main', 'local', 'default'].includes(r.table))
    .map((r) => {
      const sel = [r.src && r.src !== 'all' ? `from ${r.src}` : '', r.dst ? `to ${r.dst}/${r.dstlen}` : '', r.iif ? `iif ${r.iif}` : '', r.oif ? `oif ${r.oif}` : ''].filter(Boolean);
      return `${r.priority} ${sel.join(' ') || 'all'} ${r.table}`;
    });
}
const tableOf = async (address: string) => (await bed.host.rules(4)).find((r) => r.src === address)?.table;
const leases = async () =>
  (JSON.parse((await bed.host.exec([exe, 'lease', 'list', '--json'])).stdout) as { ifname: string }[]).map((l) => l.ifname);
const routeGet = async (to: string) => (await bed.host.exec(['ip', '-4', 'route', 'get', to])).stdout;
const daemonProblems = () => readFileSync(daemon.logFile, 'utf8').split('\n').filter((l) => /^multihomed-routing daemon: (error|warn)/.test(l) || /File exists/.test(l));

beforeAll(async () => {
  bed = await createTestBed({
    name: 'wholeprefix',
    routers: [
      {
        hostIfname: 'eth0',
        ipv4: { subnet: '192.168.1.0/24', address: '192.168.1.1' },
        dhcp: { range: ['192.168.1.100', '192.168.1.150'], leaseTime: '2m' },
      },
      {
        hostIfname: 'wlan1',
        ipv4: { subnet: '192.168.2.0/24', address: '192.168.2.1' },
        dhcp: { range: ['192.168.2.100', '192.168.2.150'], leaseTime: '2m' },
      },
    ],
  });
  ({ exe, daemon } = await setUpHookedHost(bed));
  // A lease with netmask 0.0.0.0 (dnsmasq reads 0.0.0.0 in an option as its own
  // address, so dhclient supersedes the mask): dhclient-script gets new_subnet_mask=0.0.0.0.
  await bed.host.writeEtc(WHOLE_CONF.slice('/etc/'.length), `${await bed.host.readFile('/etc/dhcp/dhclient.conf')}\nsupersede subnet-mask 0.0.0.0;\n`);
});

afterAll(() => bed?.destroy());

describe('a DHCP lease with netmask 0.0.0.0', () => {
  let eth0: Dhclient;
  let a0 = '';

  it('BOUND: the address is a host address with its own table; no rule sends every destination to eth0', async () => {
    eth0 = await bed.host.dhclient('eth0', { extraArgs: ['-cf', WHOLE_CONF] });
    expect(eth0.started.stdout + eth0.started.stderr).not.toMatch(/error|refused/);
    const [addr] = await bed.host.addresses('eth0', 4);
    a0 = addr!.local;
    expect(addr!.prefixlen).toBe(32);
    const table = await tableOf(a0);
    expect(table, `rules: ${JSON.stringify(await bed.host.rules(4))}`).toMatch(/^\d+$/);
    expect(await ourRules()).toEqual([`10000 from ${a0} ${table}`, `15000 oif eth0 ${table}`, `31000 all ${table}`]);
    expect(await bed.host.routes(table!)).toEqual([expect.objectContaining({ dst: 'default', gateway: '192.168.1.1', dev: 'eth0' })]);
    expect((await bed.host.routes('main')).filter((r) => r.dev === 'eth0')).toEqual([]);
    expect(await bed.host.ping(INTERNET_ADDRESS4, { from: a0 })).toBe(true);
    // The log says why (the hook's lines reach dhclient's output).
    expect(eth0.started.stdout + eth0.started.stderr).toMatch(/prefix \/0 taken as \/32: a \/0 would send every destination out of this uplink/);
  });

  it("another uplink keeps its own destinations (a /0 `to` rule would have taken them)", async () => {
    wlan1 = await bed.host.dhclient('wlan1');
    expect(await routeGet('192.168.2.1')).toMatch(/dev wlan1/);
    expect(await bed.host.ping('192.168.2.1')).toBe(true);
  });

  it('RELEASE of the /0 lease succeeds: address, rules, table and lease are gone', async () => {
    const table = (await tableOf(a0))!;
    // As eth0.release(), with the same configuration: the RELEASE carries old_subnet_mask=0.0.0.0.
    const r = await bed.host.exec(['dhclient', '-4', '-cf', WHOLE_CONF, '-pf', eth0.pidFile, '-lf', eth0.leaseFile, '-r', 'eth0']);
    expect(r.stdout + r.stderr).not.toMatch(/error|failed|File exists/);
    expect(await bed.host.addresses('eth0', 4)).toEqual([]);
    expect((await ourRules()).filter((r) => r.includes(a0) || r.includes('oif eth0') || r.endsWith(` ${table}`))).toEqual([]);
    expect(await bed.host.routes(table)).toEqual([]);
    expect(await leases()).toEqual(['wlan1']);
    expect(daemonProblems()).toEqual([]);
  });
});

describe('undo converges', () => {
  it('RELEASE after the prefix route was put back in main by hand: no "File exists", nothing of ours left', async () => {
    const [addr] = await bed.host.addresses('wlan1', 4);
    const table = (await tableOf(addr!.local))!;
    expect(table).toMatch(/^\d+$/);
    await bed.host.exec(['ip', '-4', 'route', 'add', '192.168.2.0/24', 'dev', 'wlan1']);
    await wlan1.release();
    expect(await bed.host.addresses('wlan1', 4)).toEqual([]);
    expect(await ourRules()).toEqual([]);
    expect(await bed.host.routes(table)).toEqual([]);
    expect(await leases()).toEqual([]);
    expect(daemonProblems()).toEqual([]);
  });
});
