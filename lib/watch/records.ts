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
import type { Snapshot } from './reconcile.js';

const dir = (runDir: string) => join(runDir, 'entries');
const file = (runDir: string, family: Family, table: number) => join(dir(runDir), `${family}-${table}.json`);

/** Records the event that configured `table` (source decides what main keeps on a rebuild). */
export function writeRecord(runDir: string, e: AddressUp, table: number): void {
  const f = e.address.address.family;
  const s: Snapshot = {
    ifname: e.ifname,
    family: f,
    address: `${e.address.address.text}/${e.address.prefix.length}`,
    table,
    gateways: e.gateways.map((g) => g.text),
    routes: e.routes.map((r) => ({ destination: r.destination.text, ...(r.gateway ? { gateway: r.gateway.text } : {}), metric: r.metric ?? (f === 4 ? 0 : 1024) })),
    keepMain: e.source === 'NetworkManager',
    slaac: e.source === 'kernel',
  };
  const text = `${JSON.stringify(s)}\n`;
  // A renewal that changed nothing: no write (and no fsync) on the hook's path.
  if (readFileIfExists(file(runDir, f, table)) === text) return;
  mkdirSync(dir(runDir), { recursive: true, mode: 0o755 });
  writeFileAtomic(file(runDir, f, table), text, 0o644);
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
    const m = /^([46])-(\d+)\.json$/.exec(name);
    if (!m) continue;
    try {
      const v = JSON.parse(readFileSync(join(dir(runDir), name), 'utf8')) as Snapshot;
      if (!isStr(v.ifname) || !isStr(v.address) || v.table !== Number(m[2]) || v.family !== Number(m[1]) || !Array.isArray(v.gateways) || !v.gateways.every(isStr) || !Array.isArray(v.routes)) {
        throw new Error('not a record');
      }
      records.push(v);
    } catch {
      bad.push(name);
    }
  }
  return { records, bad };
}
