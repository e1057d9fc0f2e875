// The defaults against the names real hosts have: predictable names tell
// onboard/PCI NICs (eno, ens, enp) from USB NICs and HiLink modems, which
// udev names after their MAC (enx…), and container hosts bring bridges and
// tunnels of their own that must never get a table.

import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lib/config/parse.js';
import { isIgnored } from '../../../lib/plan/ignore.js';
import { priorityIndex, rankTables } from '../../../lib/plan/ranking.js';

const defaults = parseConfig('');

const WIRED = ['eth0', 'eno1', 'end0', 'enp3s0', 'ens18', 'enP4p65s0', 'enX0'];
const WIFI = ['wlan0', 'wlp2s0', 'wlx00c0ca123456'];
const USB = ['enx00e04c680001', 'wwan0', 'wwp0s20f0u6i12', 'usb0'];
const UPLINKS = [...WIRED, ...WIFI, ...USB];

describe('default interface_priority', () => {
  const rank = (ifname: string) => priorityIndex(defaults.interfacePriority, ifname);

  it.each(WIRED.flatMap((wired) => [...WIFI, ...USB].map((later) => [wired, later])))('%s ranks before %s', (a, b) => {
    expect(rank(a)).toBeLessThan(rank(b));
  });

  it.each(WIFI.flatMap((wifi) => USB.map((later) => [wifi, later])))('%s ranks before %s', (a, b) => {
    expect(rank(a)).toBeLessThan(rank(b));
  });

  it.each(UPLINKS)('%s is ranked by a pattern of its own class, not by the final *', (ifname) => {
    expect(defaults.interfacePriority[rank(ifname)]).not.toBe('*');
  });

  it('orders the 31000 band wired, Wi-Fi, then USB NICs and modems, whatever the order they came up in', () => {
    const items = ['usb0', 'enx00e04c680001', 'wlp2s0', 'wwan0', 'ens18', 'wlan0', 'enp3s0', 'eno1'].map((ifname, i) => ({ ifname, address: 0n, table: 10000 + i }));
    const ranks = rankTables(defaults.interfacePriority, items);
    const order = [...items].sort((x, y) => ranks.get(x.table)! - ranks.get(y.table)!).map((x) => x.ifname);
    expect(order).toEqual(['eno1', 'ens18', 'enp3s0', 'wlan0', 'wlp2s0', 'enx00e04c680001', 'wwan0', 'usb0']);
  });
});

describe('default ignore_interfaces', () => {
  it.each([
    ['podman*', 'podman0'],
    ['cni*', 'cni0'],
    ['cni*', 'cni-podman0'],
    ['lxcbr*', 'lxcbr0'],
    ['lxdbr*', 'lxdbr0'],
    ['incusbr*', 'incusbr0'],
    ['cali*', 'cali1234abcd'],
    ['flannel*', 'flannel.1'],
    ['cilium*', 'cilium_host'],
    ['cilium*', 'cilium_vxlan'],
    ['kube-*', 'kube-bridge'],
    ['kube-*', 'kube-ipvs0'],
    ['docker*', 'docker0'],
    ['veth*', 'veth1a2b3c4'],
    ['br-*', 'br-0123456789ab'],
    ['virbr*', 'virbr0'],
    ['vnet*', 'vnet3'],
    ['tailscale*', 'tailscale0'],
    ['wg*', 'wg0'],
    ['tun*', 'tun0'],
    ['tap*', 'tap0'],
    ['zt*', 'ztabcdef12'],
  ])('%s is a default pattern and ignores %s', (pattern, ifname) => {
    expect(defaults.ignoreInterfaces).toContain(pattern);
    expect(isIgnored(defaults, ifname)).toBe(true);
  });

  it.each(UPLINKS)('uplink %s is managed', (ifname) => {
    expect(isIgnored(defaults, ifname)).toBe(false);
  });
});
