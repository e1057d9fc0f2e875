// What each managed address came with, recorded by handleEvent when it
// configured it: run_dir/entries/<family>-<table>.json (tmpfs; gone at
// reboot, when the tables are gone too). The kernel's state says which
// address a table serves, but not its gateways and routes once a link set
// down and up has flushed the table: the watcher rebuilds it from this. A
// record is removed when its lease is released.

import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readFileIfExists, writeFileAtomic } from '../fs/atomic.js';
import type { Family } from '../net/address.js';
import type { AddressUp } from '../plan/event.js';

/** What a complete entry looked like: enough to rebuild it. */
export interface Snapshot {
  ifname: string;
  family: Family;
  /** `A/len`. */
  address: string;
  table: number;
  /** Default routers in metric order. */
  gateways: string[];
  /** Other routes of the table (not the on-link prefix route, not defaults). */
  routes: { destination: string; gateway?: string; metric: number }[];
  /** Main was left alone by whoever configured it (NetworkManager). */
  keepMain: boolean;
  slaac: boolean;
  /** Why the watcher adopted the address (no hook reported it). */
  adopted?: string;
  /** Adopted from a hook's main-table fallback: keeps its gateways (AddressUp.fromFallback). */
  fromFallback?: boolean;
}

const dir = (runDir: string) => join(runDir, 'entries');
const NAME = /^([46])-(\d+)\.json$/;
const file = (runDir: string, family: Family, table: number) => join(dir(runDir), `${family}-${table}.json`);

/** The record of `e` configured in `table`, as written (source decides what main keeps on a rebuild). */
function recordText(e: AddressUp, table: number): string {
  const f = e.address.address.family;
  const s: Snapshot = {
    ifname: e.ifname,
    family: f,
    address: `${e.address.address.text}/${e.address.prefix.length}`,
    table,
    gateways: e.gateways.map((g) => g.text),
    routes: e.routes.map((r) => ({ destination: r.destination.text, ...(r.gateway ? { gateway: r.gateway.text } : {}), metric: r.metric ?? (f === 4 ? 0 : 1024) })),
    keepMain: e.source === 'NetworkManager',
    slaac: e.source === 'kernel' && !e.adopted,
    ...(e.adopted ? { adopted: e.adopted } : {}),
    ...(e.adopted && e.fromFallback ? { fromFallback: true } : {}),
  };
  return `${JSON.stringify(s)}\n`;
}

/** Records the event that configured `table`. */
export function writeRecord(runDir: string, e: AddressUp, table: number): void {
  const f = e.address.address.family;
  const text = recordText(e, table);
  // A renewal that changed nothing: no write (and no fsync) on the hook's path.
  if (readFileIfExists(file(runDir, f, table)) === text) return;
  mkdirSync(dir(runDir), { recursive: true, mode: 0o755 });
  writeFileAtomic(file(runDir, f, table), text, 0o644);
}

/**
 * True when some table of ours was configured by exactly this event (same
 * interface, address, gateways and routes; not on the main-table fallback,
 * which has no record). A directory listing and a small read per table of
 * the family: no process, no socket.
 */
export function isRecorded(runDir: string, e: AddressUp): boolean {
  const f = e.address.address.family;
  let names: string[];
  try {
    names = readdirSync(dir(runDir));
  } catch {
    return false;
  }
  for (const name of names) {
    const m = NAME.exec(name);
    if (m && Number(m[1]) === f && readFileIfExists(join(dir(runDir), name)) === recordText(e, Number(m[2]))) return true;
  }
  return false;
}

export function removeRecord(runDir: string, family: Family, table: number): void {
  rmSync(file(runDir, family, table), { force: true });
}

const isStr = (v: unknown): v is string => typeof v === 'string';

/** Every readable record; malformed files are skipped (and reported). */
export function readRecords(runDir: string): { records: Snapshot[]; bad: string[] } {
  let names: string[];
  try {
    names = readdirSync(dir(runDir));
  } catch {
    return { records: [], bad: [] };
  }
  const records: Snapshot[] = [];
  const bad: string[] = [];
  for (const name of names) {
    const m = NAME.exec(name);
    if (!m) continue;
    try {
      const v = JSON.parse(readFileSync(join(dir(runDir), name), 'utf8')) as Snapshot;
      if (!isStr(v.ifname) || !isStr(v.address) || v.table !== Number(m[2]) || v.family !== Number(m[1]) || !Array.isArray(v.gateways) || !v.gateways.every(isStr) || !Array.isArray(v.routes) ||
        (v.adopted !== undefined && !isStr(v.adopted)) || (v.fromFallback !== undefined && v.fromFallback !== true)) {
        throw new Error('not a record');
      }
      records.push(v);
    } catch {
      bad.push(name);
    }
  }
  return { records, bad };
}
