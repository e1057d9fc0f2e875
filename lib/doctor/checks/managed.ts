// Managed addresses (those with rules of ours) that run on the fallback,
// whose rules point at an empty table, or that miss some of their rules.

import { indexState } from '../../plan/index.js';
import { buildStatus } from '../../status/status.js';
import { rerunHook, type Check } from '../check.js';
import type { Finding } from '../findings.js';

function ruleSpec(r: { priority: number; src?: { text: string }; dst?: { text: string }; iif?: string; oif?: string; table?: number }): string {
  const parts = [`pref ${r.priority}`];
  if (r.src) parts.push(`from ${r.src.text}`);
  if (r.dst) parts.push(`to ${r.dst.text}`);
  if (r.iif) parts.push(`iif ${r.iif}`);
  if (r.oif) parts.push(`oif ${r.oif}`);
  parts.push(`lookup ${r.table}`);
  return parts.join(' ');
}

export const managed: Check = {
  id: 'managed',
  findings: ['degraded', 'empty-table', 'incomplete'],
  run(snap, config) {
    const out: Finding[] = [];
    const idx = indexState(snap.kernel, config);
    for (const s of buildStatus(snap.kernel, config)) {
      const subject = `${s.ifname} ${s.address}`;
      const link = idx.links.get(s.ifname);
      const dynamic = !!link?.addresses.some((a) => a.flags.includes('dynamic'));
      if (s.degraded) {
        out.push({
          id: 'degraded',
          severity: 'warning',
          subject,
          what: `${s.address} on ${s.ifname} runs on the fallback: routes in main with metric = interface index, no table; traffic from it looks main up (\`from ${s.address.replace(/\/\d+$/, '')} lookup main\`).`,
          why: 'The hook got no table lease (the daemon was not answering or the table range is used up). Replies from this address are not pinned to its interface.',
          fix: ['multihomed-routing lease list   # is the daemon answering? are tables left?', ...rerunHook(s.ifname, dynamic, s.family)],
        });
        continue;
      }
      const routes = idx.routesByTable.get(`${s.family}:${s.table}`) ?? [];
      const entry = idx.entries.get(`${s.family}:${s.table}`);
      if (!routes.length && entry) {
        out.push({
          id: 'empty-table',
          severity: 'error',
          subject: `table ${s.table}`,
          what: `Rules of ours point at table ${s.table}${s.address !== '?' ? ` (${subject})` : ''}, which holds no routes.`,
          why:
            (link ? 'The routes were deleted (by hand, or by a tool that flushed the table). ' : `The interface ${s.ifname} is gone and its routes with it; the rules stayed behind. `) +
            'A lookup that reaches an empty table falls through to the next rule: traffic from the address leaves by whatever comes next.',
          fix: [
            ...entry.rules.map((r) => `ip -${s.family} rule del ${ruleSpec(r)}`),
            ...(link ? rerunHook(s.ifname, dynamic, s.family) : []),
          ],
        });
        continue;
      }
      const missing = s.problems.filter((p) => p.startsWith('no ') && p.endsWith(' rule'));
      if (missing.length) {
        out.push({
          id: 'incomplete',
          severity: 'error',
          subject,
          what: `${s.address} on ${s.ifname} (table ${s.table}) is missing rules: ${missing.map((m) => m.slice(3, -5)).join(', ')}.`,
          why: 'Each rule has a job: `from` pins replies, `oif` serves sockets bound to the device, the band (`from all`) orders unbound and forwarded traffic, main\'s suppress rule (`lookup main suppress_prefixlength 0`) keeps LAN, container and VPN routes ahead of the band. Someone deleted it, or the hook was interrupted.',
          fix: rerunHook(s.ifname, dynamic, s.family),
        });
      }
    }
    return out;
  },
};
