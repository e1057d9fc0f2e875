// Docker's nftables state, simulated with the statements Docker itself leaves
// (iptables-nft's `ip nat` and `ip filter` tables, DOCKER chains, masquerade,
// a published port), and the ruleset as an operator compares it: without
// counters' values and without our own table.

import type { Netns } from './testbed.js';

// What Docker 26 with iptables-nft leaves in the ruleset for docker0 and a
// user-defined network br-web with `-p 8080:80` to 172.18.0.2.
export const DOCKER_RULES = `
table ip nat {
  chain DOCKER {
    iifname "docker0" counter return
    iifname "br-web" counter return
    iifname != "br-web" meta l4proto tcp tcp dport 8080 counter dnat to 172.18.0.2:80
  }
  chain PREROUTING {
    type nat hook prerouting priority dstnat; policy accept;
    fib daddr type local counter jump DOCKER
  }
  chain OUTPUT {
    type nat hook output priority -100; policy accept;
    ip daddr != 127.0.0.0/8 fib daddr type local counter jump DOCKER
  }
  chain POSTROUTING {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr 172.18.0.0/16 oifname != "br-web" counter masquerade
    ip saddr 172.17.0.0/16 oifname != "docker0" counter masquerade
  }
}
table ip filter {
  chain DOCKER {
    ip daddr 172.18.0.2 iifname != "br-web" oifname "br-web" meta l4proto tcp tcp dport 80 counter accept
  }
  chain DOCKER-USER {
    counter return
  }
  chain FORWARD {
    type filter hook forward priority filter; policy drop;
    counter jump DOCKER-USER
    oifname "br-web" ct state related,established counter accept
    oifname "br-web" counter jump DOCKER
    iifname "br-web" oifname != "br-web" counter accept
    oifname "docker0" ct state related,established counter accept
    oifname "docker0" counter jump DOCKER
    iifname "docker0" oifname != "docker0" counter accept
  }
}
`;

/** `nft -s list ruleset` of a namespace minus `table inet multihomed_routing`. */
export async function rulesetWithoutOurs(ns: Netns): Promise<string> {
  return (await ns.exec(['nft', '-s', 'list', 'ruleset'])).stdout.replace(/table inet multihomed_routing \{[\s\S]*?\n\}\n?/, '');
}
