// The health probes' view, as `status` shows it: written by the daemon's
// health service to run_dir/health-view.json (atomic replace) on every
// transition and every few seconds, read and checked by `status` and
// `doctor`. A file of its own, like the watcher's daemon-view.json: status
// works while the daemon is busy, and the view says how old it is.

import { join } from 'node:path';
import { readFileIfExists, writeFileAtomic } from '../fs/atomic.js';

export type HealthState = 'up' | 'down' | 'unknown' | 'off';

export interface UplinkHealth {
  ifname: string;
  address: string;
  family: 4 | 6;
  table: number;
  health: HealthState;
  /** Unix seconds of the last change. */
  since: number;
  lastRttMs?: number;
  /** Lost probe packets over the last minute, 0-1. */
  loss?: number;
  /** Targets that answered in the latest round. */
  answering: string[];
  targets: string[];
  /** Why: the evidence of the last transition, or why it is off. */
  why?: string;
}

export interface HealthView {
  version: 1;
  pid: number;
  /** Unix seconds. */
  updated: number;
  uplinks: UplinkHealth[];
}

export const healthViewPath = (runDir: string) => join(runDir, 'health-view.json');

export function writeHealthView(runDir: string, view: HealthView): void {
  writeFileAtomic(healthViewPath(runDir), `${JSON.stringify(view)}\n`, 0o644);
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const STATES = new Set(['up', 'down', 'unknown', 'off']);

/** Reads and checks the view; undefined when there is none; throws when it is not one. */
export function readHealthView(runDir: string): HealthView | undefined {
  const text = readFileIfExists(healthViewPath(runDir));
  if (text === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error(`${healthViewPath(runDir)}: not JSON`);
  }
  if (!isObj(v) || v.version !== 1 || !Number.isSafeInteger(v.pid) || !Number.isSafeInteger(v.updated) || !Array.isArray(v.uplinks)) {
    throw new Error(`${healthViewPath(runDir)}: not a health view (version 1)`);
  }
  const uplinks = v.uplinks.filter(
    (u): u is UplinkHealth =>
      isObj(u) && typeof u.ifname === 'string' && typeof u.address === 'string' && (u.family === 4 || u.family === 6) && STATES.has(u.health as string) && Number.isSafeInteger(u.since) && Array.isArray(u.answering) && Array.isArray(u.targets),
  );
  return { ...(v as unknown as HealthView), uplinks };
}

const time = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');

/** One line per uplink, for `status`. */
export function formatHealth(view: HealthView | undefined, alive: boolean, now: number): string {
  if (!view) return 'health: no view (the daemon is not running, or health_check = no)\n';
  const lines = [`health${alive ? '' : ` (STALE: daemon pid ${view.pid} gone)`}, view at ${time(view.updated)} (${Math.max(0, now - view.updated)} s ago):`];
  if (!view.uplinks.length) lines.push('  no managed uplinks');
  for (const u of view.uplinks) {
    const parts = [`${u.health} since ${time(u.since)}`];
    if (u.health !== 'off') {
      if (u.lastRttMs !== undefined) parts.push(`rtt ${u.lastRttMs.toFixed(1)} ms`);
      if (u.loss !== undefined) parts.push(`loss ${Math.round(u.loss * 100)}% (1 min)`);
      parts.push(u.answering.length ? `answering: ${u.answering.join(' ')}` : 'no target answering');
    }
    if (u.why) parts.push(u.why);
    lines.push(`  ${u.ifname} ${u.address}: ${parts.join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}
