// Event scripts: every executable of events_dir, run-parts conventions
// (names of [A-Za-z0-9_-] only, so editor backups and dpkg's leftovers are
// skipped; the executable bit; name order), run once per event with the
// event in MHR_* variables. One event at a time, in order, each script in
// its own process group with a timeout: a hanging one is killed with all it
// started, a failing one is logged, and neither holds up routing (the
// scripts run beside the daemon's queue, never in it) or the next event for
// longer than its timeout. Events wait in a bounded queue; when it is full
// the oldest goes, said in the log.

import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log/log.js';
import { eventEnv, type MhrEvent } from './event.js';

const NAME = /^[A-Za-z0-9_-]+$/;

/** The scripts that run, in order; a missing directory has none. */
export function listScripts(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => NAME.test(n))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) // byte order, as run-parts in the C locale
    .map((n) => join(dir, n))
    .filter((p) => {
      try {
        const st = statSync(p);
        return st.isFile() && (st.mode & 0o111) !== 0;
      } catch {
        return false;
      }
    });
}

export interface ScriptRunnerOptions {
  dir: () => string;
  timeoutMs: () => number;
  log: Logger;
  /** Events waiting at most; the oldest goes when one more comes. */
  maxQueue?: number;
}

export interface ScriptOutcome {
  script: string;
  outcome: 'ok' | 'failed' | 'timeout';
  ms: number;
}

export interface ScriptRunner {
  /** Queues an event for the scripts (the emitter's subscriber). */
  push(e: MhrEvent): void;
  /** Runs the events queued so far (at most `graceMs`), then stops. */
  close(graceMs?: number): Promise<void>;
  /** Every script run, for the metrics. */
  onRun?: (r: ScriptOutcome) => void;
}

export function startScriptRunner(options: ScriptRunnerOptions): ScriptRunner {
  const { log } = options;
  const maxQueue = options.maxQueue ?? 1000;
  const queue: MhrEvent[] = [];
  let running: Promise<void> | undefined;
  let stopping = false;
  let current: { kill(): void } | undefined;
  let dropped = 0;
  let droppedSaidAt = 0;

  function runOne(script: string, e: MhrEvent, timeoutMs: number): Promise<ScriptOutcome> {
    const started = Date.now();
    return new Promise((resolve) => {
      let stderr = '';
      let timedOut = false;
      const child = spawn(script, [e.type], {
        detached: true, // its own process group: a timeout kills what it started too
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...eventEnv(e) },
      });
      const kill = () => {
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // gone already
        }
      };
      current = { kill };
      const timer = setTimeout(() => {
        timedOut = true;
        kill();
      }, timeoutMs);
      child.stderr?.on('data', (d: Buffer) => {
        if (stderr.length < 400) stderr += d.toString();
      });
      const done = (code: number | null, error?: string) => {
        clearTimeout(timer);
        current = undefined;
        const ms = Date.now() - started;
        const name = script.slice(script.lastIndexOf('/') + 1);
        if (timedOut) {
          log.warn(`event script killed after ${timeoutMs} ms (event_script_timeout_ms)`, { script: name, event: e.type });
          resolve({ script: name, outcome: 'timeout', ms });
        } else if (code !== 0) {
          log.warn('event script failed', { script: name, event: e.type, ...(error ? { error } : { code: code ?? undefined }), stderr: stderr.trim().slice(0, 200) || undefined });
          resolve({ script: name, outcome: 'failed', ms });
        } else {
          log.debug('event script ran', { script: name, event: e.type, ms });
          resolve({ script: name, outcome: 'ok', ms });
        }
      };
      child.on('error', (err) => done(null, err.message));
      // 'exit', not 'close': a background child of the script may hold its stderr open.
      child.on('exit', (code) => {
        child.stderr?.destroy();
        done(code);
      });
    });
  }

  async function drain() {
    while (queue.length) {
      const e = queue.shift()!;
      for (const script of listScripts(options.dir())) {
        const r = await runOne(script, e, options.timeoutMs());
        runner.onRun?.(r);
      }
    }
  }

  const runner: ScriptRunner = {
    push(e) {
      if (stopping) return;
      if (queue.length >= maxQueue) {
        const gone = queue.shift()!;
        dropped++;
        // Said at most every 10 s, with the count: a burst must not flood the log too.
        if (Date.now() - droppedSaidAt >= 10_000) {
          log.warn('event scripts fall behind: oldest queued events dropped', { dropped, last: gone.type, queued: maxQueue });
          droppedSaidAt = Date.now();
          dropped = 0;
        }
      }
      queue.push(e);
      running ??= drain().finally(() => (running = undefined));
    },
    async close(graceMs = 5000) {
      stopping = true;
      if (!running) return;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
      if ((await Promise.race([running, late])) === 'late') {
        if (queue.length) log.warn('daemon stopping: queued events not given to the event scripts', { dropped: queue.length });
        queue.length = 0;
        current?.kill();
        await running;
      }
      clearTimeout(timer);
    },
  };
  return runner;
}
