// The daemon's view, as `status` shows it: written by the watcher to
// run_dir/daemon-view.json after every pass that changed something (atomic
// replace), read and checked by `status`. A file rather than a socket
// command: status works while the daemon is busy or hung, and the view says
// how old it is and whose pid wrote it.

import { join } from 'node:path';
import { readFileIfExists, writeFileAtomic } from '../fs/atomic.js';
import type { Snapshot } from '../state/records.js';

export const VIEW_VERSION = 1;

export interface LeaseView {
  ifname: string;
  address: string;
  family: 4 | 6;
  table: number;
  /** Unix seconds. */
  expires: number;
  /** The address is on its interface: the daemon renews the lease. */
  held: boolean;
  slaac?: boolean;
  /** No hook reported the address: why the watcher adopted it (from its record, when `status` reads the view). */
  adopted?: string;
}

export interface RepairView {
  /** Unix seconds. */
  at: number;
  ifname: string;
  address?: string;
  /** What was found. */
  found: string;
  /** What was done. */
  did: string;
}

export interface DaemonView {
  version: 1;
  pid: number;
  /** Unix seconds of the pass that wrote it. */
  updated: number;
  started: number;
  passes: number;
  events: number;
  monitorRestarts: number;
  leases: LeaseView[];
  /** The most recent repairs, newest last. */
  repairs: RepairView[];
}

export const viewPath = (runDir: string) => join(runDir, 'daemon-view.json');

export function writeView(runDir: string, view: DaemonView): void {
  writeFileAtomic(viewPath(runDir), `${JSON.stringify(view)}\n`, 0o644);
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown) => Number.isSafeInteger(v);

/** Reads and checks the view; undefined when there is none; throws when it is not one. */
export function readView(runDir: string): DaemonView | undefined {
  const text = readFileIfExists(viewPath(runDir));
  if (text === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error(`${viewPath(runDir)}: not JSON`);
  }
  if (!isObj(v) || v.version !== VIEW_VERSION || !isInt(v.pid) || !isInt(v.updated) || !Array.isArray(v.leases) || !Array.isArray(v.repairs)) {
    throw new Error(`${viewPath(runDir)}: not a daemon view (version ${VIEW_VERSION})`);
  }
  const leases = v.leases.filter(
    (l): l is LeaseView => isObj(l) && typeof l.ifname === 'string' && typeof l.address === 'string' && (l.family === 4 || l.family === 6) && isInt(l.table) && isInt(l.expires) && typeof l.held === 'boolean',
  );
  const repairs = v.repairs.filter((r): r is RepairView => isObj(r) && isInt(r.at) && typeof r.ifname === 'string' && typeof r.found === 'string' && typeof r.did === 'string');
  return { ...(v as unknown as DaemonView), leases, repairs };
}

/**
 * The view with each lease's `adopted` reason from the address records as
 * they are now (a hook's event that took an adopted address over rewrote its
 * record, and need not have made the watcher write the view again).
 */
export function withAdoptions(view: DaemonView, records: readonly Snapshot[]): DaemonView {
  const why = (l: LeaseView) => records.find((r) => r.table === l.table && r.family === l.family && r.ifname === l.ifname && r.address.split('/')[0] === l.address)?.adopted;
  return { ...view, leases: view.leases.map(({ adopted: _, ...l }) => ({ ...l, ...(why(l) ? { adopted: why(l)! } : {}) })) };
}

const time = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');

/** The human form, appended to `status`. `alive`: the writer's pid still runs. */
export function formatView(view: DaemonView | undefined, alive: boolean, now: number): string {
  if (!view) return 'daemon: no view (the daemon is not running, or its watcher is off)\n';
  const lines = [
    `daemon ${alive ? `pid ${view.pid}` : `NOT RUNNING (pid ${view.pid} gone)`}, view at ${time(view.updated)} (${Math.max(0, now - view.updated)} s ago), ${view.passes} passes, ${view.events} kernel events${view.monitorRestarts ? `, ip monitor restarted ${view.monitorRestarts}×` : ''}`,
  ];
  if (!view.leases.length) lines.push('  no leases');
  for (const l of view.leases) {
    const left = l.expires - now;
    lines.push(
      `  lease ${l.ifname} ${l.address} table ${l.table}${l.slaac ? ' (SLAAC)' : ''}${l.adopted ? ` (adopted: ${l.adopted})` : ''}: ${l.held ? 'held by a present address, renewed' : 'address not present: expires'} at ${time(l.expires)} (${left >= 0 ? `in ${left} s` : `${-left} s ago`})`,
    );
  }
  for (const r of view.repairs) {
    lines.push(`  repaired ${time(r.at)}: ${r.ifname}${r.address ? ` ${r.address}` : ''}: ${r.found} → ${r.did}`);
  }
  return `${lines.join('\n')}\n`;
}
