// A forwarding host (ip_forward=1) whose bridges (Docker's docker0 and br-*,
// libvirt's virbr0, LXC's lxcbr0, a LAN bridge) send traffic nowhere: the
// kernel finds no route for what arrives on the bridge, or a private prefix
// leaves without the masquerade rule that container runtimes add for it.
// The masquerade rules are read from `nft -j list ruleset` (iptables-nft's
// rules included; iptables-legacy's are not visible there).

import { parsePrefix, prefixContains, type IpPrefix } from '../../net/address.js';
import type { Check } from '../check.js';
import type { Finding } from '../findings.js';

const PRIVATE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'].map((p) => parsePrefix(p));

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined);

/** The source prefixes an nft `ip saddr ==` match names: an address, a prefix or a set of them. */
function matchedPrefixes(right: unknown): IpPrefix[] {
  if (typeof right === 'string') return tryPrefix(right.includes('/') ? right : `${right}/32`);
  const p = obj(obj(right)?.prefix);
  if (p) return tryPrefix(`${String(p.addr)}/${String(p.len)}`);
  const set = obj(right)?.set;
  return Array.isArray(set) ? set.flatMap(matchedPrefixes) : [];
}
function tryPrefix(text: string): IpPrefix[] {
  try {
    return [parsePrefix(text, 4, true)];
  } catch {
    return [];
  }
}

/** Does a source-NAT rule (masquerade, snat, iptables-nft's xt MASQUERADE/SNAT) of the ruleset cover traffic from `p`? */
export function natCovers(nftJson: string, p: IpPrefix): boolean {
  let doc: unknown;
  try {
    doc = JSON.parse(nftJson);
  } catch {
    return true; // unreadable: say nothing rather than something wrong
  }
  const items = obj(doc)?.nftables;
  if (!Array.isArray(items)) return true;
  for (const item of items) {
    const expr = obj(obj(item)?.rule)?.expr;
    if (!Array.isArray(expr)) continue;
    const nat = expr.some((e) => {
      const x = obj(e);
      const xt = obj(x?.xt);
      return !!x && ('masquerade' in x || 'snat' in x || (xt?.type === 'target' && (xt.name === 'MASQUERADE' || xt.name === 'SNAT')));
    });
    if (!nat) continue;
    const sources = expr.map((e) => obj(obj(e)?.match)).filter((m) => {
      const payload = obj(obj(m?.left)?.payload);
      return m?.op === '==' && payload?.protocol === 'ip' && payload.field === 'saddr';
    });
    if (!sources.length) return true;
    if (sources.every((m) => matchedPrefixes(m!.right).some((q) => q.length <= p.length && prefixContains(q, p.network)))) return true;
  }
  return false;
}

export const forwarding: Check = {
  id: 'forwarding',
  findings: ['forward-no-route', 'forward-no-nat'],
  run(snap, config) {
    const f = snap.forwarding;
    if (!f?.ipForward) return [];
    const out: Finding[] = [];
    const uplinks = [...new Set(snap.kernel.rules.filter((r) => r.protocol === config.protocol && r.oif !== undefined && r.priority === config.prefOif).map((r) => r.oif!))];
    const cfg = config.configPath ?? 'the config file';
    for (const s of f.sources) {
      if (s.error) {
        out.push({
          id: 'forward-no-route',
          severity: 'error',
          subject: `${s.ifname} ${s.prefix}`,
          what: `Traffic forwarded from ${s.ifname} (${s.prefix}: containers, VMs or a LAN behind this host) has no route to the internet.`,
          why: `Asked where a packet from ${s.from} arriving on ${s.ifname} to ${s.probe} goes, the kernel answered "${s.error}": no rule of ours and no route in main serves it, so everything behind ${s.ifname} is cut off.`,
          fix: [
            uplinks.length
              ? `# pin it to an uplink: add \`pin = ${s.ifname}:${uplinks[0]}\` (or several: ${s.ifname}:${uplinks.join(',')}) to ${cfg}, then run the hooks again:`
              : `# no uplink is managed: bring one up through its hooks (ifup, dhclient), or check ${cfg}`,
            ...(uplinks.length ? [`ifdown ${uplinks[0]} && ifup ${uplinks[0]}`] : []),
            `ip route get ${s.probe} from ${s.from} iif ${s.ifname}   # check`,
          ],
        });
      }
      const p = parsePrefix(s.prefix, 4, true);
      if (f.nftJson !== undefined && PRIVATE.some((q) => prefixContains(q, p.network)) && !natCovers(f.nftJson, p)) {
        out.push({
          id: 'forward-no-nat',
          severity: 'warning',
          subject: `${s.ifname} ${s.prefix}`,
          what: `Traffic forwarded from ${s.ifname} leaves with its private source ${s.prefix}: no masquerade rule covers it.`,
          why:
            'Upstream routers cannot answer a private source they do not know, so containers and VMs behind it get no replies. ' +
            'Docker, Podman and libvirt add this rule when they start (nftables shows iptables-nft rules; rules of iptables-legacy are not visible here). ' +
            'multihomed-routing never adds or removes NAT.',
          fix: [
            'systemctl restart docker   # or libvirtd, podman: the runtime re-creates its NAT rules',
            `# or by hand: nft add table ip nat; nft 'add chain ip nat POSTROUTING { type nat hook postrouting priority srcnat; }'; nft add rule ip nat POSTROUTING ip saddr ${s.prefix} oifname != "${s.ifname}" masquerade`,
          ],
        });
      }
    }
    return out;
  },
};
