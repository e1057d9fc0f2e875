// A refused renewal (DHCPNAK) with real dnsmasq, dhclient and dhclient-script:
// the client binds a new address, and a later `dhclient -r` may report the
// stale address from its lease file. Nothing of ours may stay for either
// DHCP address, and a static address of ifupdown on the same interface
// (managed by the ifupdown hook, permanent) must stay with its rules.
// A second enter hook (00-trace) records each reason with old_/new_ addresses,
// so the test shows what dhclient told the script.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestBed, waitFor, type Dhclient, type TestBed } from '../helpers/testbed.js';
import { EXE, ROOT, cli, ourRules, setUpRoutingHost, tableRoutes } from './routing-host.js';

const MAC = '02:00:00:00:07:01';
const SERVERS = '/run/multihomed-routing/dnsmasq-servers.conf';
const STATIC = '10.77.0.2';
const INTERFACES = `
iface eth0 inet static
    address ${STATIC}/24
`;

let bed: TestBed;

const leases = async () => {
  const r = await cli(bed.host, ['lease', 'list', '--json']);
  return (JSON.parse(r.stdout) as { ifname: string; address: string; table: number }[]).map((l) => `${l.ifname} ${l.address} ${l.table}`);
};
const serverLines = async () =>
  (await bed.host.readFile(SERVERS).catch(() => '')).split('\n').filter((l) => l.startsWith('server='));
const addresses = async () => (await bed.host.addresses('eth0', 4)).map((a) => a.local).sort();
const tableOf = async (address: string) => (await bed.host.rules(4)).find((r) => r.src === address)?.table;

beforeAll(async () => {
  bed = await createTestBed({
    name: 'dhcpnak',
    routers: [
      {
        hostIfname: 'eth0',
        hostMac: MAC,
        ipv4: { subnet: '192.168.7.0/24', address: '192.168.7.1' },
        dhcp: { range: ['192.168.7.100', '192.168.7.150'], leaseTime: '2m', renewSeconds: 4, rebindSeconds: 100, hosts: [`${MAC},192.168.7.120`] },
        dns: {},
      },
    ],
  });
  // dnsmasq_mode = yes: the servers-file is checked with no dnsmasq reading it.
  await setUpRoutingHost(bed, INTERFACES, 'dnsmasq_mode = yes\n');
  const prefix = join(bed.dir, 'prefix');
  mkdirSync(join(prefix, 'sbin'), { recursive: true });
  symlinkSync(EXE, join(prefix, 'sbin/multihomed-routing'));
  const shim = execFileSync(join(ROOT, 'install.sh'), ['--print', 'dhclient-hook', '--prefix', prefix], { encoding: 'utf8' });
  await bed.host.writeEtc('dhcp/dhclient-enter-hooks.d/multihomed-routing', shim);
  await bed.host.writeEtc('dhcp/dhclient-enter-hooks.d/00-trace', 'echo "reason=$reason old=$old_ip_address new=$new_ip_address" >> /run/dhclient-trace\n');
});

afterAll(() => bed?.destroy());

/** Nothing of ours for a DHCP address: no address, rules, table routes, lease; no eth0 server line. */
async function expectNoLease(address: string, table: string | undefined) {
  expect(await addresses()).not.toContain(address);
  expect((await ourRules(bed.host)).filter((r) => r.includes(address) || (table && r.endsWith(` lookup ${table}`)))).toEqual([]);
  if (table) expect(await tableRoutes(bed.host, table)).toEqual([]);
  expect((await leases()).filter((l) => l.includes(` ${address} `))).toEqual([]);
  expect((await serverLines()).filter((l) => l.endsWith('@eth0'))).toEqual([]);
}

describe('DHCPNAK: a stale lease never stays behind', () => {
  let dh: Dhclient;
  let staticTable = '';
  let staticState: { rules: string[]; routes: string[]; lease: string[] };
  const staticNow = async () => ({
    rules: (await ourRules(bed.host)).filter((r) => r.includes(STATIC) || r.includes('10.77.0.0/24') || r.endsWith(` lookup ${staticTable}`)),
    routes: await tableRoutes(bed.host, staticTable),
    lease: (await leases()).filter((l) => l.includes(` ${STATIC} `)),
  });
  /** The static address of ifupdown (permanent, ours) is exactly as it was. */
  const expectStaticUntouched = async () => {
    expect((await bed.host.addresses('eth0', 4)).find((a) => a.local === STATIC)).toMatchObject({ prefixlen: 24, valid_life_time: 4294967295 });
    expect(await staticNow()).toEqual(staticState);
  };

  it('a static address of ifupdown and a DHCP lease on eth0', async () => {
    await bed.host.ifup('eth0');
    staticTable = (await tableOf(STATIC))!;
    expect(staticTable).toMatch(/^\d+$/);
    staticState = await staticNow();
    expect(staticState.rules).toHaveLength(4);
    expect(staticState.routes).toEqual([`10.77.0.0/24 dev eth0 src ${STATIC} ours`]);
    dh = await bed.host.dhclient('eth0');
    expect(await addresses()).toEqual([STATIC, '192.168.7.120']);
    expect(await tableOf('192.168.7.120')).toMatch(/^\d+$/);
    expect(await serverLines()).toEqual(['server=192.168.7.1@eth0']);
  });

  it('the binding changes: the renewal is refused (DHCPNAK), the client binds the new address', async () => {
    const r0 = bed.routers[0]!;
    const oldTable = await tableOf('192.168.7.120');
    await r0.restartDnsmasq({ dhcp: { ...r0.spec.dhcp!, hosts: [`${MAC},192.168.7.121`] } });
    await waitFor('eth0 to hold 192.168.7.121', async () => (await addresses()).includes('192.168.7.121'), 30_000, 200);
    await waitFor('rules of 192.168.7.121', async () => (await tableOf('192.168.7.121')) !== undefined, 5000);
    expect(r0.dnsmasq!.log()).toMatch(/DHCPNAK\(lan\) 192\.168\.7\.120/);
    // dhclient ran EXPIRE for the refused lease, then BOUND without old_ip_address.
    expect((await bed.host.readFile('/run/dhclient-trace')).trim().split('\n').slice(-3)).toEqual([
      'reason=EXPIRE old=192.168.7.120 new=', 'reason=PREINIT old= new=', 'reason=BOUND old= new=192.168.7.121',
    ]);
    expect(await addresses()).toEqual([STATIC, '192.168.7.121']);
    const table = await tableOf('192.168.7.121');
    // (the allocator may give the released table to the new address)
    expect((await ourRules(bed.host)).filter((r) => r.includes('192.168.7.120') || (table !== oldTable && r.endsWith(` lookup ${oldTable}`)))).toEqual([]);
    expect(await leases()).toEqual(expect.arrayContaining([`eth0 192.168.7.121 ${table}`]));
    expect((await leases()).filter((l) => l.includes('192.168.7.120'))).toEqual([]);
    await expectStaticUntouched();
  }, 60_000);

  it('dhclient -r names the refused lease (from its lease file): the lease in place goes all the same', async () => {
    const table = await tableOf('192.168.7.121');
    await dh.release();
    expect((await bed.host.readFile('/run/dhclient-trace')).trim().split('\n').at(-1)).toBe('reason=RELEASE old=192.168.7.120 new=');
    await expectNoLease('192.168.7.121', table);
    expect(await addresses()).toEqual([STATIC]);
    await expectStaticUntouched();
    expect(await leases()).toEqual([`eth0 ${STATIC} ${staticTable}`]);
  });

  it('BOUND without old_ip_address over a lease of ours (dhclient died, restarted without its lease file): the old lease goes first', async () => {
    const r0 = bed.routers[0]!;
    dh = await bed.host.dhclient('eth0');
    expect(await addresses()).toEqual([STATIC, '192.168.7.121']);
    const oldTable = await tableOf('192.168.7.121');
    dh.kill(); // no script run: the lease stays, with everything of ours
    await waitFor('dhclient gone', () => !dh.pid() || !existsSync(`/proc/${dh.pid()}`), 2000, 20).catch(() => {});
    rmSync(dh.realLeaseFile, { force: true });
    await r0.restartDnsmasq({ dhcp: { ...r0.spec.dhcp!, hosts: [`${MAC},192.168.7.122`] } });
    dh = await bed.host.dhclient('eth0');
    expect((await bed.host.readFile('/run/dhclient-trace')).trim().split('\n').at(-1)).toBe('reason=BOUND old= new=192.168.7.122');
    expect(await addresses()).toEqual([STATIC, '192.168.7.122']);
    const table = await tableOf('192.168.7.122');
    expect(table).toMatch(/^\d+$/);
    expect((await ourRules(bed.host)).filter((r) => r.includes('192.168.7.121') || (table !== oldTable && r.endsWith(` lookup ${oldTable}`)))).toEqual([]);
    expect(await tableRoutes(bed.host, table!)).toContain(`default via 192.168.7.1 dev eth0 src 192.168.7.122 ours`);
    expect((await leases()).sort()).toEqual([`eth0 ${STATIC} ${staticTable}`, `eth0 192.168.7.122 ${table}`].sort());
    expect(await serverLines()).toEqual(['server=192.168.7.1@eth0']);
    await expectStaticUntouched();
    await dh.release();
    await expectNoLease('192.168.7.122', table);
    await expectStaticUntouched();
  }, 60_000);
});
