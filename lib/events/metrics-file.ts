// The daemon's metrics file (metrics_textfile, off when empty): counts what
// the emitter, the event scripts and the hooks' jobs report, and writes the
// Prometheus text (metrics.ts) atomically (temp file and rename, so a scrape
// never sees half a file) at most once a second after a change, and every
// 15 s for the probes' RTT and loss. A file that cannot be written is said
// once per different error; routing never waits for it.

import { rmSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import type { Service } from '../daemon/service.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { readHealthView } from '../health/view.js';
import type { Logger } from '../log/log.js';
import { emptyHistogram, observe, renderMetrics, type Histogram } from './metrics.js';
import type { EventsService } from './service.js';

export interface MetricsFile extends Service {
  /** A hook's job the daemon ran (lib/dispatch/service.ts onJob). */
  job(hook: string, outcome: string, seconds: number): void;
}

const REFRESH_MS = 15_000;

export function startMetricsFile(options: { config: Config; current: () => Config; log: Logger; events: EventsService; leases: () => number }): MetricsFile {
  const { current, log, events } = options;
  const count = (m: Map<string, number>, key: string) => m.set(key, (m.get(key) ?? 0) + 1);
  const hookRuns = new Map<string, number>();
  const hookDurations = new Map<string, Histogram>();
  const scriptRuns = new Map<string, number>();
  const emitted = new Map<string, number>();
  const failovers = new Map<string, number>();
  const lastChange = new Map<string, number>();
  const carrying = new Map<number, string>(); // family → iface, as the events told
  let lastError = '';
  let written = '';
  let timer: NodeJS.Timeout | undefined;
  let lastWrite = 0;

  function write() {
    timer = undefined;
    const path = current().metricsTextfile;
    if (!path) return;
    const snap = events.current();
    const config = current();
    const inUse = options.leases();
    const text = renderMetrics({
      uplinks: snap ? [...snap.managed.values()] : [],
      carrying: new Set(snap ? snap.top.values() : []),
      health: readHealthView(config.runDir)?.uplinks ?? [],
      failovers, lastChange, hookRuns, hookDurations, scriptRuns, events: emitted,
      leases: { inUse, free: Math.max(0, config.tableMax - config.tableMin + 1 - inUse) },
      degraded: snap?.degraded.size ?? 0,
    });
    lastWrite = Date.now();
    try {
      writeFileAtomic(path, text, 0o644);
      written = path;
      lastError = '';
    } catch (err) {
      const msg = (err as Error).message;
      if (msg !== lastError) log.warn('could not write the metrics textfile', { file: path, error: msg });
      lastError = msg;
    }
  }
  /** Soon, but at most once a second. */
  const soon = () => {
    if (!timer) timer = setTimeout(write, Math.max(0, 1000 - (Date.now() - lastWrite)));
  };

  const unsubscribe = events.emitter.subscribe((e) => {
    count(emitted, e.type);
    if (e.iface && e.family) lastChange.set(`${e.iface}|${e.family}`, e.time);
    if (e.type === 'uplink-changed' && e.family) {
      const was = carrying.get(e.family);
      if (was && was !== e.iface) count(failovers, `${was}|${e.family}`);
      if (e.iface) carrying.set(e.family, e.iface);
      else carrying.delete(e.family);
    }
    soon();
  });
  events.onScript((r) => {
    count(scriptRuns, `${r.script}|${r.outcome}`);
    soon();
  });
  const refresh = setInterval(() => void soon(), REFRESH_MS);
  soon();

  return {
    name: 'metrics',
    job(hook, outcome, seconds) {
      count(hookRuns, `${hook}|${outcome}`);
      let h = hookDurations.get(hook);
      if (!h) hookDurations.set(hook, (h = emptyHistogram()));
      if (outcome !== 'dropped') observe(h, seconds);
      soon();
    },
    async close() {
      unsubscribe();
      clearInterval(refresh);
      clearTimeout(timer);
      // No daemon, no metrics: a stale file would say the uplinks are as they were.
      if (written) rmSync(written, { force: true });
    },
  };
}
