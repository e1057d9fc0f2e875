// What the daemon's watcher last saw (observe.ts's snapshot), kept in
// run_dir/events/seen.json whenever it changes: the next daemon diffs its
// first read against it, so what hooks working alone changed while no daemon
// ran still becomes events. No file (first start since boot: run_dir is a
// tmpfs) means nothing was seen, so everything managed is new; a damaged file
// means the changes meanwhile are unknown and the first read is the baseline.

import { join } from 'node:path';
import { readFileIfExists, writeFileAtomic } from '../fs/atomic.js';
import type { Family } from '../net/address.js';
import type { Managed, Snapshot } from './observe.js';

const file = (runDir: string) => join(runDir, 'events', 'seen.json');

/** The snapshot as stored; the same text for the same snapshot (so an unchanged one is not rewritten). */
export function seenText(s: Snapshot): string {
  const managed = [...s.managed.values()].map((m) => ({ family: m.family, ifname: m.ifname, address: m.address, table: m.table, ...(m.rank !== undefined ? { rank: m.rank } : {}), up: !!m.up }));
  return `${JSON.stringify({ version: 1, managed, degraded: [...s.degraded].map(([k, v]) => [k, v ?? null]), top: [...s.top] })}\n`;
}

export function writeLastSeen(runDir: string, text: string): void {
  writeFileAtomic(file(runDir), text, 0o644);
}

const isFamily = (v: unknown): v is Family => v === 4 || v === 6;
const isStr = (v: unknown): v is string => typeof v === 'string';
const isInt = (v: unknown): v is number => Number.isSafeInteger(v);

/** Parses a stored snapshot; undefined when it is not one. */
export function parseSeen(text: string): Snapshot | undefined {
  let v: { version?: unknown; managed?: unknown; degraded?: unknown; top?: unknown };
  try {
    v = JSON.parse(text) as typeof v;
  } catch {
    return undefined;
  }
  if (v?.version !== 1 || !Array.isArray(v.managed) || !Array.isArray(v.degraded) || !Array.isArray(v.top)) return undefined;
  const managed = new Map<string, Managed>();
  for (const m of v.managed as Partial<Managed>[]) {
    if (!isFamily(m?.family) || !isStr(m.ifname) || !isStr(m.address) || !isInt(m.table) || (m.rank !== undefined && !isInt(m.rank))) return undefined;
    managed.set(`${m.family}|${m.ifname}|${m.address}`, { family: m.family, ifname: m.ifname, address: m.address, table: m.table, ...(m.rank !== undefined ? { rank: m.rank } : {}), up: m.up === true });
  }
  const degraded = new Map<string, string | undefined>();
  for (const d of v.degraded as unknown[]) {
    if (!Array.isArray(d) || !isStr(d[0]) || (d[1] !== null && !isStr(d[1]))) return undefined;
    degraded.set(d[0], d[1] ?? undefined);
  }
  const top = new Map<Family, string>();
  for (const t of v.top as unknown[]) {
    if (!Array.isArray(t) || !isFamily(t[0]) || !isStr(t[1]) || !managed.has(t[1])) return undefined;
    top.set(t[0], t[1]);
  }
  return { managed, degraded, top };
}

/** The stored snapshot; 'none' without a file, 'damaged' when it does not parse. */
export function readLastSeen(runDir: string): Snapshot | 'none' | 'damaged' {
  let text: string | undefined;
  try {
    text = readFileIfExists(file(runDir));
  } catch {
    return 'damaged';
  }
  if (text === undefined) return 'none';
  return parseSeen(text) ?? 'damaged';
}
