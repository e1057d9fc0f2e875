// The daemon's event service: the emitter, the event scripts subscribed to
// it, and what turns the watcher's kernel reads into address and band
// events (observe.ts). The health probes and the allocator emit through it
// directly; lib/daemon/command.ts says started and stopping.
//
// The first read is compared with what the last daemon saw (last-seen.ts),
// so what hooks working alone changed meanwhile is emitted, after
// daemon-started; their notes (alone.ts) name them in the reasons.

import type { Config } from '../config/schema.js';
import type { Service } from '../daemon/service.js';
import type { Logger } from '../log/log.js';
import type { Family } from '../net/address.js';
import type { KernelState } from '../state/types.js';
import { attribute, dropAloneNote, readAloneNotes, spentNotes } from './alone.js';
import { createEmitter, type EventEmitter } from './emitter.js';
import type { MhrEvent } from './event.js';
import { readLastSeen, seenText, writeLastSeen } from './last-seen.js';
import { diff, managedKey, snapshot, type Snapshot } from './observe.js';
import { startScriptRunner, type ScriptOutcome } from './scripts.js';

export interface EventsService extends Service {
  readonly emitter: EventEmitter;
  /** The watcher read this state at `readAt` (unix ms, after its own changes): what differs from the last one is emitted. */
  seen(state: KernelState, config: Config, readAt: number): void;
  /** Emits daemon-started, then what the first reads found changed since the last daemon. */
  started(reason: string): void;
  /** The watcher adopted this address: its configured event says so. */
  adopted(family: Family, ifname: string, address: string): void;
  /** The allocator refused a lease: said once per address until it is configured. */
  refused(key: { ifname: string; address: string; addr_family: Family }, reason: string): void;
  /** A health transition (lib/health): emitted while the watcher still sees the address managed (the probes of a removed one fail until they stop). */
  health(e: { type: 'health-up' | 'health-down'; iface: string; family: Family; address: string; table: number; reason: string }): void;
  /** What the watcher last saw (metrics). */
  current(): Snapshot | undefined;
  /** Every event script run (metrics). */
  onScript(listener: (r: ScriptOutcome) => void): void;
}

export function startEvents(options: { current: () => Config; log: Logger; keep?: number }): EventsService {
  const { current, log } = options;
  const emitter = createEmitter(options.keep ?? 256);
  const runner = startScriptRunner({ dir: () => current().eventsDir, timeoutMs: () => current().eventScriptTimeoutMs, log });
  const unsubscribe = emitter.subscribe((e) => runner.push(e));
  let last: Snapshot | undefined;
  let lastText = '';
  let lastError = '';
  // Events of reads before daemon-started, emitted right after it.
  let held: Omit<MhrEvent, 'time'>[] | undefined = [];
  const adopted = new Set<string>();
  const refused = new Set<string>();

  /** What the last daemon saw; nothing on a first start since boot; the first read itself when that cannot be known. */
  function previous(now: Snapshot, runDir: string): Snapshot {
    const stored = readLastSeen(runDir);
    if (stored === 'none') return { managed: new Map(), degraded: new Map(), top: new Map() };
    if (stored !== 'damaged') return stored;
    log.warn('ignoring a damaged record of what the last daemon saw: changes while no daemon ran are not reported', { file: `${runDir}/events/seen.json` });
    return now;
  }

  function remember(now: Snapshot, runDir: string) {
    const text = seenText(now);
    if (text === lastText) return;
    try {
      writeLastSeen(runDir, text);
      lastText = text;
      lastError = '';
    } catch (err) {
      const msg = (err as Error).message;
      if (msg !== lastError) log.warn('could not record what the watcher saw: a restarted daemon may miss changes meanwhile', { error: msg });
      lastError = msg;
    }
  }

  return {
    name: 'event scripts',
    emitter,
    seen(state, config, readAt) {
      const now = snapshot(state, config);
      const notes = readAloneNotes(config.runDir);
      const events = attribute(diff(last ?? previous(now, config.runDir), now, adopted), notes, readAt, !last);
      for (const ifname of spentNotes(notes, readAt)) dropAloneNote(config.runDir, ifname);
      for (const e of events) {
        if (e.address) refused.delete(`${e.family}|${e.address}`);
        if (held) held.push(e);
        else emitter.emit(e);
      }
      for (const key of adopted) if (now.managed.has(key)) adopted.delete(key);
      last = now;
      remember(now, config.runDir);
    },
    started(reason) {
      emitter.emit({ type: 'daemon-started', reason });
      for (const e of held ?? []) emitter.emit(e);
      held = undefined;
    },
    current: () => last,
    health(e) {
      if (last && !last.managed.has(managedKey(e.family, e.iface, e.address))) return;
      emitter.emit(e);
    },
    adopted: (family, ifname, address) => void adopted.add(managedKey(family, ifname, address)),
    refused(key, reason) {
      const k = `${key.addr_family}|${key.address}`;
      if (refused.has(k)) return;
      refused.add(k);
      emitter.emit({ type: 'lease-refused', iface: key.ifname, family: key.addr_family, address: key.address, reason });
    },
    onScript(listener) {
      runner.onRun = listener;
    },
    async close() {
      unsubscribe();
      await runner.close(Math.min(5000, current().eventScriptTimeoutMs + 1000));
    },
  };
}
