// The shipped defaults on a host whose interfaces carry the names udev gives
// real hardware: an onboard NIC (eno1), Wi-Fi (wlan0), a USB NIC or HiLink
// modem named after its MAC (enx…) and a WWAN modem (wwan0), plus a podman
// bridge and a Calico veth. No interface_priority or ignore_interfaces in the
// config: what an operator gets after install.

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestBed, type TestBed } from '../helpers/testbed.js';
import { cli, ourRules, setUpRoutingHost, type RoutingHost } from './routing-host.js';

const UPLINKS = ['eno1', 'wlan0', 'enx00e04c680001', 'wwan0'];
const IGNORED = ['podman0', 'cali1234abcd'];
const NAMES = [...UPLINKS, ...IGNORED];

// The ignored ones without a gateway: theirs would stay in main, and main wins over the band.
const stanza = (ifname: string, i: number) => `
iface ${ifname} inet static
    address 10.8.${i}.2/24
${IGNORED.includes(ifname) ? '' : `    gateway 10.8.${i}.1\n`}`;

describe('default interface_priority and ignore_interfaces on real names', () => {
  let bed: TestBed;
  let rh: RoutingHost;

  beforeAll(async () => {
    bed = await createTestBed({
      name: 'rtnames',
      routers: NAMES.map((hostIfname, i) => ({ hostIfname, ipv4: { subnet: `10.8.${i}.0/24`, address: `10.8.${i}.1` } })),
    });
    rh = await setUpRoutingHost(bed, NAMES.map(stanza).join(''));
    // Lowest priority first: the band must not depend on bring-up order.
    for (const ifname of [...NAMES].reverse()) await bed.host.ifup(ifname);
  });
  afterAll(() => bed?.destroy());

  const devOfUnbound = async () => (await bed.host.routeGet(bed.internet.address4)).dev;

  test('the band is onboard NIC, Wi-Fi, USB NIC, WWAN modem', async () => {
    const tableOf = new Map((await rh.status()).map((s) => [s.ifname, s.table]));
    const band = (await ourRules(bed.host)).filter((r) => /^310\d\d lookup \d+$/.test(r));
    expect(band).toEqual(UPLINKS.map((ifname, rank) => `${31000 + rank} lookup ${tableOf.get(ifname)}`));
    expect(await devOfUnbound()).toBe('eno1');
  });

  test('failover walks that order: eno1 → wlan0 → enx… (not enx before wlan0)', async () => {
    const [eno1, wlan0] = [bed.routers[0]!, bed.routers[1]!];
    await eno1.setLan(false);
    try {
      await expect.poll(devOfUnbound, { timeout: 5000 }).toBe('wlan0');
      expect(await bed.host.ping(bed.internet.address4)).toBe(true);
      await wlan0.setLan(false);
      await expect.poll(devOfUnbound, { timeout: 5000 }).toBe('enx00e04c680001');
      expect(await bed.host.ping(bed.internet.address4)).toBe(true);
    } finally {
      await wlan0.setLan(true);
      await eno1.setLan(true);
    }
    await expect.poll(devOfUnbound, { timeout: 5000 }).toBe('eno1');
  });

  test('a podman bridge and a Calico veth get no table, and main keeps their prefix routes', async () => {
    const managed = (await rh.status()).map((s) => s.ifname);
    expect(managed.sort()).toEqual([...UPLINKS].sort());
    const main = (await bed.host.routes('main')).map((r) => `${r.dst} ${r.dev}`);
    for (const [i, ifname] of NAMES.entries()) {
      if (IGNORED.includes(ifname)) expect(main).toContain(`10.8.${i}.0/24 ${ifname}`);
      else expect(main).not.toContain(`10.8.${i}.0/24 ${ifname}`);
    }
    expect((await ourRules(bed.host)).filter((r) => IGNORED.some((ifname) => r.includes(ifname)))).toEqual([]);
  });

  test('config defaults and the man page list the new patterns', async () => {
    const defaults = await cli(bed.host, ['config', 'defaults']);
    const man = await cli(bed.host, ['help', 'man']);
    for (const pattern of ['podman*', 'lxcbr*', 'lxdbr*', 'incusbr*', 'cni*', 'cali*', 'flannel*', 'cilium*', 'kube-*']) {
      expect(defaults.stdout).toMatch(new RegExp(`^#ignore_interfaces = .*(^| )${pattern.replace('*', '\\*')}( |$)`, 'm'));
      expect(man.stdout).toContain(pattern.replace('-', '\\-'));
    }
    expect(defaults.stdout).toMatch(/^#interface_priority = eth\* eno\* .* wlan\* wl\* enx\* ww\* usb\* \*$/m);
  });
});
