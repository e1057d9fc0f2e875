// Phase timings for the hook path, for operators and developers:
//
//   MULTIHOMED_ROUTING_TRACE=1 multihomed-routing ifupdown
//
// prints one line per phase to stderr, e.g.
//   multihomed-routing trace: 31.2 ms +0.4 config
// (milliseconds since the process started — the runtime's own start-up is in
// the first mark — and since the previous mark). Spans that overlap others
// (the lease round trip, the state read) are traced as `NAME start` and
// `NAME end`. Off (the default) it costs one boolean test per mark: no
// module is loaded and nothing is formatted. The lines go straight to fd 2
// with a synchronous write, so tracing does not start stderr's stream.

import { writeSync } from 'node:fs';

/** Set once at start-up from the environment (any value but '', '0' turns it on). */
export const tracing: boolean = (() => {
  const v = process.env.MULTIHOMED_ROUTING_TRACE;
  return v !== undefined && v !== '' && v !== '0';
})();

let last = 0;

/** Milliseconds since the process started (the runtime's own clock, no module needed). */
const sinceStart = () => process.uptime() * 1000;

/** Marks the end of a phase; a no-op unless tracing. */
export function trace(phase: string): void {
  if (!tracing) return;
  const now = sinceStart();
  const line = `multihomed-routing trace: ${now.toFixed(1)} ms +${(now - (last || now)).toFixed(1)} ${phase}\n`;
  last = now;
  try {
    writeSync(2, line);
  } catch {
    // stderr closed: tracing must never fail a hook
  }
}

/** Traces `NAME start`, runs `start` and traces `NAME end` when its promise settles; returns the promise. */
export function traceSpan<T>(name: string, start: () => Promise<T>): Promise<T> {
  if (!tracing) return start();
  trace(`${name} start`);
  const promise = start();
  trace(`${name} started`);
  promise.then(
    () => trace(`${name} end`),
    () => trace(`${name} failed`),
  );
  return promise;
}
