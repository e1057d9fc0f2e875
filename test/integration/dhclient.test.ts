// End to end: real dhclient and the real /sbin/dhclient-script in the test
// bed's host, our shim in its /etc/dhcp/dhclient-enter-hooks.d, the bundled
// executable behind it, the allocator daemon running. Checks what an
// operator would: `ip rule`, `ip route show table T`, the servers-file, the
// interface a packet leaves by; and that a missing executable leaves the
// host configured by dhclient-script alone.

import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestBed, INTERNET_ADDRESS4, type Dhclient, type TestBed } from '../helpers/testbed.js';

const ROOT = join(import.meta.dirname, '../..');
const BUNDLE = join(ROOT, 'dist/multihomed-routing.cjs');
const CONFIG = '/etc/multihomed-routing/multihomed-routing.conf';
const SERVERS = '/run/multihomed-routing/dnsmasq-servers.conf';

let bed: TestBed;
let exe: string;

const shim = (executable: string) =>
  readFileSync(join(ROOT, 'hooks/dhclient/shim.sh'), 'utf8')
    .replace("'@EXECUTABLE@'", `'${executable}'`)
    .replace("'@CONFIG@'", `'${CONFIG}'`);

const serverLines = async () =>
  (await bed.host.readFile(SERVERS).catch(() => '')).split('\n').filter((l) => l.startsWith('server='));

/** Rules that point at a non-main table, as `pref selector table` strings. */
async function ourRules(): Promise<string[]> {
  return (await bed.host.rules(4))
    .filter((r) => !['main', 'local', 'default'].includes(r.table))
    .map((r) => {
      const sel = [
        r.src && r.src !== 'all' ? `from ${r.src}` : '',
        r.dst ? `to ${r.dst}/${r.dstlen}` : '',
        r.iif ? `iif ${r.iif}` : '',
        r.oif ? `oif ${r.oif}` : '',
      ].filter(Boolean);
      return `${r.priority} ${sel.join(' ') || 'all'} ${r.table}`;
    });
}

const tableOf = async (address: string) => (await bed.host.rules(4)).find((r) => r.src === address)?.table;

beforeAll(async () => {
  if (!existsSync(BUNDLE)) execFileSync('npx', ['zx', 'build/build.mjs', '--bundle-only'], { cwd: ROOT, stdio: 'ignore' });
  bed = await createTestBed({
    name: 'dhclient',
    routers: [
      {
        hostIfname: 'eth0',
        ipv4: { subnet: '192.168.1.0/24', address: '192.168.1.1' },
        ipv6: { subnet: '2001:db8:1::/64', address: '2001:db8:1::1' },
        dhcp: { range: ['192.168.1.100', '192.168.1.150'], leaseTime: '2m', renewSeconds: 6, rebindSeconds: 100 },
        dhcp6: { range: ['2001:db8:1::100', '2001:db8:1::1ff'], leaseTime: '2m' },
        dns: { records: { 'which.test': ['192.0.2.10'] } },
      },
      {
        hostIfname: 'wlan1',
        ipv4: { subnet: '192.168.2.0/24', address: '192.168.2.1' },
        dhcp: {
          range: ['192.168.2.100', '192.168.2.150'],
          leaseTime: '2m',
          routers: ['192.168.2.254'], // ignored: option 121 is present
          classlessRoutes: [['10.20.0.0/16', '192.168.2.1'], ['0.0.0.0/0', '192.168.2.1']],
        },
        dns: { records: { 'which.test': ['192.0.2.11'] } },
      },
    ],
  });
  exe = join(bed.dir, 'multihomed-routing');
  writeFileSync(exe, `#!/bin/sh\nexec '${process.execPath}' '${BUNDLE}' "$@"\n`);
  chmodSync(exe, 0o755);
  await bed.host.writeEtc('multihomed-routing/multihomed-routing.conf', 'syslog = no\n');
  await bed.host.writeEtc('dhcp/dhclient-enter-hooks.d/multihomed-routing', shim(exe));
  bed.host.spawn([exe, '--verbose', 'daemon'], { logName: 'daemon' });
  for (let i = 0; i < 100 && !existsSync(bed.host.path('/run/multihomed-routing/allocator.sock')); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
});

afterAll(() => bed?.destroy());

describe('dhclient with the enter hook', () => {
  let eth0: Dhclient;
  let a0 = '';

  it('BOUND on eth0: per-address table with the default route, rules, DNS server bound to eth0', async () => {
    eth0 = await bed.host.dhclient('eth0');
    const [addr] = await bed.host.addresses('eth0', 4);
    a0 = addr!.local;
    const table = await tableOf(a0);
    expect(table, `rules: ${JSON.stringify(await bed.host.rules(4))}`).toMatch(/^\d+$/);
    expect(await ourRules()).toEqual([
      `10000 from ${a0} ${table}`,
      `15000 oif eth0 ${table}`,
      `20000 to 192.168.1.0/24 ${table}`,
      `91000 iif lo ${table}`,
    ]);
    expect(await bed.host.routes(table!)).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '192.168.1.1', dev: 'eth0' }));
    // dhclient-script did not add its own default route to main (reason was unset)
    expect((await bed.host.routes('main')).filter((r) => r.dst === 'default')).toEqual([]);
    expect(await serverLines()).toEqual(['server=192.168.1.1@eth0']);
    expect(await bed.host.ping(INTERNET_ADDRESS4, { from: a0 })).toBe(true);
    // resolv.conf was not rewritten by dhclient-script (dnsmasq mode)
    expect(await bed.host.readFile('/etc/resolv.conf').catch(() => '')).not.toContain('192.168.1.1');
  });

  it('BOUND on wlan1 with classless routes: routers ignored, option 121 routes in its own table', async () => {
    await bed.host.dhclient('wlan1');
    const [addr] = await bed.host.addresses('wlan1', 4);
    const table = await tableOf(addr!.local);
    expect(table).toMatch(/^\d+$/);
    expect(table).not.toBe(await tableOf(a0));
    const routes = await bed.host.routes(table!);
    expect(routes).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '192.168.2.1', dev: 'wlan1' }));
    expect(routes).toContainEqual(expect.objectContaining({ dst: '10.20.0.0/16', gateway: '192.168.2.1', dev: 'wlan1' }));
    expect(routes.some((r) => r.gateway === '192.168.2.254')).toBe(false);
    expect(await serverLines()).toEqual(['server=192.168.1.1@eth0', 'server=192.168.2.1@wlan1']);
    expect(await bed.host.ping(INTERNET_ADDRESS4, { from: addr!.local })).toBe(true);
    expect(await bed.host.ping(INTERNET_ADDRESS4, { from: 'wlan1' })).toBe(true);
  });

  it('RENEW with nothing changed leaves exactly one copy of everything', async () => {
    const before = { rules: await ourRules(), table: await bed.host.routes((await tableOf(a0))!), servers: await serverLines() };
    const acks = () => (bed.routers[0]!.dnsmasq!.log().match(/DHCPACK\(lan\)/g) ?? []).length;
    const start = acks();
    for (let i = 0; i < 150 && acks() < start + 2; i++) await new Promise((r) => setTimeout(r, 100));
    expect(acks()).toBeGreaterThanOrEqual(start + 2);
    await new Promise((r) => setTimeout(r, 500)); // let the hook of the last renew finish
    expect(await ourRules()).toEqual(before.rules);
    expect(await bed.host.routes((await tableOf(a0))!)).toEqual(before.table);
    expect(await serverLines()).toEqual(before.servers);
  });

  it('RELEASE on eth0: its rules, table routes and DNS line are gone; wlan1 untouched', async () => {
    const table = (await tableOf(a0))!;
    await eth0.release();
    expect(await bed.host.addresses('eth0', 4)).toEqual([]);
    expect((await ourRules()).filter((r) => r.includes(a0) || r.includes('192.168.1.0/24') || r.endsWith(` ${table}`))).toEqual([]);
    expect(await bed.host.routes(table)).toEqual([]);
    expect(await serverLines()).toEqual(['server=192.168.2.1@wlan1']);
  });

  describe('DHCPv6 on eth0', () => {
    let dh6: Dhclient;
    let table: string | undefined;

    it('BOUND6: the DHCPv6 address gets its own table and rules, its server a line bound to eth0', async () => {
      dh6 = await bed.host.dhclient('eth0', { family: 6 });
      const v6 = (await bed.host.addresses('eth0', 6)).filter((a) => a.scope === 'global');
      expect(v6.map((a) => `${a.local}/${a.prefixlen}`)).toEqual([expect.stringMatching(/^2001:db8:1::1[0-9a-f]{2}\/128$/)]);
      table = (await bed.host.rules(6)).find((r) => r.src === v6[0]!.local)?.table;
      expect(table, JSON.stringify(await bed.host.rules(6))).toMatch(/^\d+$/);
      expect(await serverLines()).toEqual(['server=192.168.2.1@wlan1', 'server=2001:db8:1::1@eth0']);
    });

    // KNOWN GAP (routing library): the RA default (proto ra, in main) is not
    // mirrored into the DHCPv6 address's table, which stays empty. it.fails
    // turns red once it works: then make this a plain `it`.
    it.fails('the per-address table gets the RA-learned default route', async () => {
      for (let i = 0; i < 20 && !(await bed.host.routes(table!, 6)).some((r) => r.dst === 'default'); i++) {
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(await bed.host.routes('main', 6)).toContainEqual(expect.objectContaining({ dst: 'default', dev: 'eth0', protocol: 'ra' }));
      expect(await bed.host.routes(table!, 6)).toContainEqual(expect.objectContaining({ dst: 'default', dev: 'eth0' }));
    });

    it('STOP6 (dhclient -6 -x): address, rules and the server line are gone', async () => {
      await dh6.stop();
      expect((await bed.host.addresses('eth0', 6)).filter((a) => a.scope === 'global')).toEqual([]);
      expect((await bed.host.rules(6)).filter((r) => r.table === table)).toEqual([]);
      expect(await serverLines()).toEqual(['server=192.168.2.1@wlan1']);
    });
  });

  it('without the executable, dhclient-script configures eth0 itself and the log says why', async () => {
    await bed.host.writeEtc('dhcp/dhclient-enter-hooks.d/multihomed-routing', shim('/nonexistent/multihomed-routing'));
    // The same pid and lease files as bed.host.dhclient('eth0'), so teardown knows this client too.
    const args = ['-4', '-pf', '/run/dhclient.eth0.pid', '-lf', '/var/lib/dhcp/dhclient.eth0.leases'];
    const started = await bed.host.exec(['dhclient', ...args, '-1', '-v', 'eth0'], { timeoutMs: 60_000 });
    expect(started.stderr).toContain(
      'multihomed-routing dhclient hook: executable /nonexistent/multihomed-routing missing or not executable; leaving reason=BOUND on eth0 to dhclient-script',
    );
    const [addr] = await bed.host.addresses('eth0', 4);
    expect(addr?.local).toMatch(/^192\.168\.1\./);
    expect(await bed.host.routes('main')).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '192.168.1.1', dev: 'eth0' }));
    expect(await tableOf(addr!.local)).toBeUndefined();
    expect(await bed.host.ping(INTERNET_ADDRESS4, { from: addr!.local })).toBe(true);
    await bed.host.exec(['dhclient', ...args, '-x', 'eth0']);
  });
});
