// The hook's side: one connect to the daemon's socket, one event line out,
// one reply line back. node:net and pure modules only: the fast path of a
// hook loads neither node:child_process nor the planner.

import { createConnection } from 'node:net';
import { trace } from '../trace/trace.js';
import type { RoutingEvent } from '../plan/event.js';
import { encodeEvent, MAX_EVENT_REPLY_BYTES, parseEventReply, type EventReply, type EventRequest, type HookName } from './wire.js';

/** How long a hook waits for a daemon that took its event before it works alone. */
export const DELEGATE_TIMEOUT_MS = 10_000;

export type Delegated =
  | { ok: true; reply: EventReply }
  /** `quiet`: no daemon listening, the usual fallback (not worth a warning). */
  | { ok: false; why: string; quiet: boolean };

export interface DelegateRequest {
  socketPath: string;
  configPath: string;
  hook: HookName;
  event: RoutingEvent;
  dryRun: boolean;
  verbose: boolean;
  timeoutMs?: number;
}

/** Sends the event to the daemon; never throws. */
export function delegateEvent(req: DelegateRequest): Promise<Delegated> {
  const timeoutMs = req.timeoutMs ?? DELEGATE_TIMEOUT_MS;
  const line: EventRequest = {
    version: 1,
    cmd: 'event',
    event: encodeEvent(req.event),
    dry_run: req.dryRun,
    verbose: req.verbose,
    config_path: req.configPath,
    hook: req.hook,
    expires_at: Date.now() + timeoutMs,
  };
  return new Promise((resolve) => {
    trace('delegate connecting');
    const socket = createConnection(req.socketPath);
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (result: Delegated) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ ok: false, why: `the daemon took the event but did not answer within ${timeoutMs} ms`, quiet: false }), timeoutMs);
    socket.on('connect', () => {
      trace('delegate connected');
      socket.write(`${JSON.stringify(line)}\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      const nl = chunk.indexOf(10);
      chunks.push(nl >= 0 ? chunk.subarray(0, nl) : chunk);
      size += chunk.length;
      if (nl >= 0) {
        trace('delegate replied');
        const parsed = parseEventReply(Buffer.concat(chunks).toString('utf8'));
        if (!parsed.ok) finish({ ok: false, why: parsed.error, quiet: false });
        else if (parsed.value.error !== undefined) finish({ ok: false, why: `the daemon did not take the event: ${parsed.value.error}`, quiet: false });
        else finish({ ok: true, reply: parsed.value });
      } else if (size > MAX_EVENT_REPLY_BYTES) {
        finish({ ok: false, why: `the daemon's reply is longer than ${MAX_EVENT_REPLY_BYTES} bytes`, quiet: false });
      }
    });
    socket.on('end', () => finish({ ok: false, why: 'the daemon closed the connection without a reply', quiet: false }));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const quiet = err.code === 'ENOENT' || err.code === 'ECONNREFUSED';
      finish({ ok: false, why: quiet ? 'no daemon is running' : `cannot reach the daemon at ${req.socketPath}: ${err.message}`, quiet });
    });
  });
}
