// What `status` shows about forwarded traffic (docs/forwarding.md): each pin
// with its rules and the uplink it uses now (the first pinned uplink with
// carrier, else the band, or nothing when strict), and the reply marks of
// the uplinks. Pure: built from kernel state.

import type { Config } from '../config/schema.js';
import type { Family } from '../net/address.js';
import { ifnameMatches } from '../net/ifname.js';
import { indexState, tableKey } from '../plan/index.js';
import { pinRulesIn } from '../plan/pins.js';
import type { KernelState } from '../state/types.js';
import { describeRule } from './status.js';

export interface PinStatus {
  pin: string;
  family: Family;
  rules: string[];
  /** `eth2`, `band` (fallback), `stopped` (strict, every pinned uplink down) or `no source` (no interface matches). */
  now: string;
}

export interface ForwardingStatus {
  pins: PinStatus[];
  /** `fwmark 0x100/0x1f00 → eth2 (table 10002)` lines, per family. */
  marks: string[];
}

export function buildForwardingStatus(state: KernelState, config: Config): ForwardingStatus {
  const idx = indexState(state, config);
  const pins: PinStatus[] = [];
  for (const family of [4, 6] as const) {
    const rules = pinRulesIn(state, config, family);
    for (const pin of config.pins) {
      const src = pin.source;
      if (src.kind === 'prefix' && src.prefix.network.family !== family) continue;
      const mine = rules
        .filter((r) => (src.kind === 'prefix' ? r.src?.text === src.prefix.text : r.iif !== undefined && ifnameMatches(src.pattern, r.iif)))
        .sort((a, b) => a.priority - b.priority);
      const live = mine.find((r) => {
        const e = r.table !== undefined ? idx.entries.get(tableKey(family, r.table)) : undefined;
        return e?.ifname !== undefined && idx.links.get(e.ifname)?.carrier === true;
      });
      const liveIf = live ? idx.entries.get(tableKey(family, live.table!))?.ifname : undefined;
      const now = !mine.length && !pin.strict ? (src.kind === 'interface' && ![...idx.links.keys()].some((n) => ifnameMatches(src.pattern, n)) ? 'no source' : 'band') : liveIf ?? (pin.strict ? 'stopped' : 'band');
      pins.push({ pin: pin.text, family, rules: mine.map(describeRule), now });
    }
  }
  const marks = state.rules
    .filter((r) => r.protocol === config.protocol && r.fwmark && r.priority === config.prefFwmark && r.table !== undefined)
    .map((r) => `${describeRule(r)} (${idx.entries.get(tableKey(r.family, r.table!))?.ifname ?? '?'}, IPv${r.family})`);
  return { pins, marks };
}

/** The human form: nothing when there are no pins and no marks. */
export function formatForwardingStatus(s: ForwardingStatus): string {
  if (!s.pins.length && !s.marks.length) return '';
  const lines = ['forwarded traffic:'];
  for (const p of s.pins) {
    lines.push(`  pin ${p.pin} (IPv${p.family}): ${p.now === 'band' ? 'falls back to the band' : p.now === 'stopped' ? 'STOPPED (strict, pinned uplinks down)' : p.now === 'no source' ? 'no interface matches the source' : `now via ${p.now}`}`);
    for (const r of p.rules) lines.push(`    rule ${r}`);
  }
  for (const m of s.marks) lines.push(`  replies: ${m}`);
  return `${lines.join('\n')}\n`;
}
