// What the forwarding tests share: a container namespace behind a bridge of
// the host (wired as Docker wires one: veth into the bridge, default route via
// the bridge's address) and the routers' named packet counters.

import { execa } from 'execa';
import type { HostNetns, Netns } from './testbed.js';

/** Wires namespace `ns` behind a new bridge of the host: the bridge NET.1/16, the container NET.2/16 on its eth0 (peer `veth`). */
export async function wireContainer(host: HostNetns, ns: string, bridge: string, net: string, veth: string): Promise<void> {
  await host.exec(['ip', 'link', 'add', bridge, 'type', 'bridge']);
  await host.exec(['ip', 'address', 'add', `${net}.1/16`, 'dev', bridge]);
  await host.exec(['ip', 'link', 'set', bridge, 'up']);
  await execa('ip', ['-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', veth, 'netns', String(host.holderPid)]);
  await host.exec(['ip', 'link', 'set', veth, 'master', bridge, 'up']);
  for (const args of [['link', 'set', 'lo', 'up'], ['address', 'add', `${net}.2/16`, 'dev', 'eth0'], ['link', 'set', 'eth0', 'up'], ['route', 'add', 'default', 'via', `${net}.1`]]) {
    await execa('ip', ['-n', ns, ...args]);
  }
}

/** The packets each named counter of a router's `table inet mhr_count` has seen. */
export async function routerCounters(router: Netns): Promise<Record<string, number>> {
  const r = await router.exec(['nft', '-j', 'list', 'counters', 'table', 'inet', 'mhr_count']);
  const out: Record<string, number> = {};
  for (const item of (JSON.parse(r.stdout) as { nftables: { counter?: { name: string; packets: number } }[] }).nftables) {
    if (item.counter) out[item.counter.name] = item.counter.packets;
  }
  return out;
}
