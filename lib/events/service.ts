// The daemon's event service: the emitter, the event scripts subscribed to
// it, and what turns the watcher's kernel reads into address and band
// events (observe.ts). The health probes and the allocator emit through it
// directly; lib/daemon/command.ts says started and stopping.

import type { Config } from '../config/schema.js';
import type { Service } from '../daemon/service.js';
import type { Logger } from '../log/log.js';
import type { Family } from '../net/address.js';
import type { KernelState } from '../state/types.js';
import { createEmitter, type EventEmitter } from './emitter.js';
import { diff, managedKey, snapshot, type Snapshot } from './observe.js';
import { startScriptRunner, type ScriptOutcome } from './scripts.js';

export interface EventsService extends Service {
  readonly emitter: EventEmitter;
  /** The watcher read this state (after its own changes): what differs from the last one is emitted. */
  seen(state: KernelState, config: Config): void;
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
  const adopted = new Set<string>();
  const refused = new Set<string>();

  return {
    name: 'event scripts',
    emitter,
    seen(state, config) {
      const now = snapshot(state, config);
      // The first read is the baseline: what was there before the daemon is no event of it.
      if (last) {
        for (const e of diff(last, now, adopted)) {
          if (e.address) refused.delete(`${e.family}|${e.address}`);
          emitter.emit(e);
        }
      }
      for (const key of adopted) if (now.managed.has(key)) adopted.delete(key);
      last = now;
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
