// An edge router of the sandbox, built like an ISP's: interface `lan` (veth
// peer of a host interface) and `wan` (veth peer of the internet namespace's
// `r<i>`), forwarding, rp_filter=1 (a packet whose source is not routed back
// through `lan` is dropped), NAT towards the internet (nftables), dnsmasq on
// `lan` for DHCP and DNS.

import type { Namespace } from './netns.js';

export interface EdgeRulesetOptions {
  lan: string;
  wan: string;
  /** Masquerade towards the internet (IPv4 and IPv6). */
  nat: boolean;
  /**
   * IPv6 has no rp_filter: drop forwarded packets from `lan` whose source is
   * outside `subnet6`, or every IPv6 packet from `lan` when there is no subnet.
   */
  sourceFilter6?: { subnet6?: string };
  /** Named counters `lan_echo_request`, `lan_echo_reply`: ICMP echo forwarded from `lan`. */
  counters?: boolean;
  /** A modem's "DMZ host": echo requests arriving on `wan` are forwarded to this LAN address. */
  dmz4?: string;
}

/** The router's nftables ruleset (one `table inet mhr_edge`), for `nft -f -`. */
export function edgeRuleset(o: EdgeRulesetOptions): string {
  const lines = ['table inet mhr_edge {'];
  if (o.counters) lines.push('  counter lan_echo_request {', '  }', '  counter lan_echo_reply {', '  }');
  lines.push('  chain forward {', '    type filter hook forward priority filter; policy accept;');
  if (o.sourceFilter6) {
    lines.push(
      o.sourceFilter6.subnet6
        ? `    iifname "${o.lan}" ip6 saddr != ${o.sourceFilter6.subnet6} counter drop comment "source not behind this router"`
        : `    iifname "${o.lan}" meta nfproto ipv6 counter drop comment "no IPv6 behind this router"`,
    );
  }
  if (o.counters) {
    lines.push(
      `    iifname "${o.lan}" icmp type echo-request counter name "lan_echo_request"`,
      `    iifname "${o.lan}" icmp type echo-reply counter name "lan_echo_reply"`,
    );
  }
  lines.push('  }');
  if (o.dmz4) {
    lines.push(
      '  chain prerouting {',
      '    type nat hook prerouting priority dstnat; policy accept;',
      `    iifname "${o.wan}" icmp type echo-request dnat ip to ${o.dmz4}`,
      '  }',
    );
  }
  if (o.nat) {
    lines.push(
      '  chain postrouting {',
      '    type nat hook postrouting priority srcnat; policy accept;',
      `    oifname "${o.wan}" masquerade`,
      '  }',
    );
  }
  lines.push('}', '');
  return lines.join('\n');
}

/** Values of the named counters of `table inet mhr_edge` (packets). */
export async function edgeCounters(router: Namespace): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const r = await router.exec(['nft', '-j', 'list', 'counters', 'table', 'inet', 'mhr_edge']);
  const doc = JSON.parse(r.stdout) as { nftables: Array<{ counter?: { name: string; packets: number } }> };
  for (const item of doc.nftables) if (item.counter) out[item.counter.name] = item.counter.packets;
  return out;
}

export interface EdgeWiring {
  /** Router number: its internet link is 100.64.i.0/24 (.1 the internet, .2 the router's `wan`). */
  index: number;
  /** The host's interface towards this router. */
  hostIfname: string;
  /** The router's LAN address with its prefix length, e.g. 192.168.8.1/24. */
  lanAddress4: string;
  ruleset: Omit<EdgeRulesetOptions, 'lan' | 'wan'>;
}

/**
 * Creates and configures the router's two links: `lan` with its peer moved
 * straight into the host's namespace (never the machine's), `wan` with its
 * peer `r<i>` in the internet's; addresses, forwarding, rp_filter, default
 * route to the internet, the nftables ruleset.
 */
export async function wireEdge(router: Namespace, host: Namespace, internet: Namespace, w: EdgeWiring): Promise<void> {
  const i = w.index;
  await router.setSysctl({ 'net.ipv4.ip_forward': 1, 'net.ipv4.conf.all.rp_filter': 1, 'net.ipv4.conf.default.rp_filter': 1 });
  await router.exec(['ip', 'link', 'add', 'lan', 'type', 'veth', 'peer', 'name', w.hostIfname, 'netns', host.name]);
  await internet.exec(['ip', 'link', 'add', `r${i}`, 'type', 'veth', 'peer', 'name', 'wan', 'netns', router.name]);
  await router.exec(['ip', 'addr', 'add', w.lanAddress4, 'dev', 'lan']);
  await router.exec(['ip', 'addr', 'add', `100.64.${i}.2/24`, 'dev', 'wan']);
  await internet.exec(['ip', 'addr', 'add', `100.64.${i}.1/24`, 'dev', `r${i}`]);
  for (const dev of ['lo', 'lan', 'wan']) await router.exec(['ip', 'link', 'set', dev, 'up']);
  await internet.exec(['ip', 'link', 'set', `r${i}`, 'up']);
  await host.exec(['ip', 'link', 'set', w.hostIfname, 'up']);
  await router.exec(['ip', 'route', 'add', 'default', 'via', `100.64.${i}.1`]);
  await router.exec(['nft', '-f', '-'], { input: edgeRuleset({ lan: 'lan', wan: 'wan', ...w.ruleset }) });
}
