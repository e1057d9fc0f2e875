// Notes of hooks that worked alone. A hook that applies its job in its own
// process (no daemon, or one that refused or did not answer) leaves a note
// per interface: run_dir/events/alone/IFACE.json, which hook and why. The
// daemon still emits the events of what the hook changed, from the kernel
// state its watcher reads (observe.ts), and a note says in their reason who
// did it. One file per interface, overwritten: a host without a daemon never
// gathers more notes than it has interfaces.

import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomic.js';
import { ifnameProblem } from '../net/ifname.js';
import type { MhrEvent } from './event.js';

export interface AloneNote {
  hook: string;
  /** Why the hook worked alone, in words (the dispatcher's own). */
  why: string;
  /** Unix ms: written before the hook changes anything, so a watcher pass that sees the change sees the note too. */
  started: number;
  /** Unix ms: rewritten with this once the job is done. */
  done?: number;
}

/** A hook that never finished its job (killed) leaves a note this old at most. */
export const NOTE_TTL_MS = 60_000;

const dir = (runDir: string) => join(runDir, 'events', 'alone');

/** Leaves a note for each interface of the job; never throws (a note only explains, routing must not wait on it). */
export function noteWorkedAlone(runDir: string, ifnames: readonly string[], note: AloneNote): void {
  const text = `${JSON.stringify(note)}\n`;
  for (const ifname of new Set(ifnames)) {
    try {
      writeFileAtomic(join(dir(runDir), `${ifname}.json`), text, 0o644);
    } catch {
      // A run_dir that cannot be written: the events come anyway, without the hook's name.
    }
  }
}

/** Every readable note, by interface; a damaged one is dropped. */
export function readAloneNotes(runDir: string): Map<string, AloneNote> {
  const notes = new Map<string, AloneNote>();
  let names: string[];
  try {
    names = readdirSync(dir(runDir));
  } catch {
    return notes;
  }
  for (const name of names) {
    if (!name.endsWith('.json') || name.startsWith('.')) continue;
    const ifname = name.slice(0, -'.json'.length);
    try {
      const v = JSON.parse(readFileSync(join(dir(runDir), name), 'utf8')) as AloneNote;
      if (ifnameProblem(ifname) || typeof v.hook !== 'string' || typeof v.why !== 'string' || !Number.isFinite(v.started) || (v.done !== undefined && !Number.isFinite(v.done))) throw new Error('not a note');
      notes.set(ifname, { hook: v.hook, why: v.why, started: v.started, ...(v.done !== undefined ? { done: v.done } : {}) });
    } catch {
      dropAloneNote(runDir, ifname);
    }
  }
  return notes;
}

export function dropAloneNote(runDir: string, ifname: string): void {
  rmSync(join(dir(runDir), `${ifname}.json`), { force: true });
}

type Unstamped = Omit<MhrEvent, 'time'>;

/** The reason of an address event on an interface a hook worked alone on. */
const BY_HOOK: { [type: string]: (e: Unstamped, hook: string, why: string) => string } = {
  'address-configured': (e, hook, why) => `${e.reason} by the ${hook} hook working alone (${why})`,
  'address-removed': (e, hook, why) => `${e.reason} by the ${hook} hook working alone (${why})`,
  'address-degraded': (e, hook, why) => `${e.reason} (set by the ${hook} hook working alone: ${why})`,
  // It reported the address, but could lease no table: the daemon's watcher gave it one.
  'address-adopted': (_e, hook, why) => `the ${hook} hook working alone (${why}) left the address without a table: the daemon adopted it`,
};
const FOUND_AT_START = new Set(['address-configured', 'address-removed', 'address-degraded']);

/**
 * Notes a pass whose state was read at `readAt` has no more use for: those
 * of jobs done before the read (whatever they changed was in it, explained
 * now or never) and those of hooks that died mid-job. A job still running
 * keeps its note for the rest of its changes.
 */
export function spentNotes(notes: ReadonlyMap<string, AloneNote>, readAt: number): string[] {
  return [...notes].filter(([, n]) => (n.done !== undefined ? n.done < readAt : n.started < readAt - NOTE_TTL_MS)).map(([ifname]) => ifname);
}

/**
 * The reasons of a watcher pass's address events: the note of their
 * interface names the hook that worked alone (one that started before the
 * state was read); without one, events of the daemon's first pass say they
 * were found at its start (what changed while it did not run). Pure.
 */
export function attribute(events: readonly Unstamped[], notes: ReadonlyMap<string, AloneNote>, readAt: number, atStart: boolean): Unstamped[] {
  return events.map((e) => {
    const note = e.iface ? notes.get(e.iface) : undefined;
    const byHook = BY_HOOK[e.type];
    // A hook that started after the read changed nothing the read shows.
    if (note && byHook && note.started <= readAt) return { ...e, reason: byHook(e, note.hook, note.why) };
    return atStart && FOUND_AT_START.has(e.type) ? { ...e, reason: `${e.reason} (found when the daemon started)` } : e;
  });
}
