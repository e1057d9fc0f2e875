// What every hook calls with the job its caller's environment gave:
// the daemon applies it when it runs (one line out, one line back over its
// socket, lib/ipc/line-socket.ts); otherwise, or when it does not answer in
// time, this process runs the very same handler (handler.ts), cold.
//
// The wait is bounded per hook run: a daemon that took a job and did not
// answer within DISPATCH_TIMEOUT_MS (stopped, wedged) is not asked again in
// that run, neither for the run's next jobs nor for table leases (the
// allocator is that daemon): the handler then keeps a table the kernel
// already holds for the address or falls back to main, and the lease is
// settled by the daemon's watcher once it runs again. The
// handler is imported only then (bundled: esbuild turns the import into a
// lazy initialisation), so a hook the daemon serves loads neither
// node:child_process nor the planner.

import type { Config } from '../config/schema.js';
import { exchangeLine } from '../ipc/line-socket.js';
import { writeStderr } from '../log/fd.js';
import type { Logger } from '../log/log.js';
import { trace } from '../trace/trace.js';
import type { Job, Outcome } from './job.js';
import { encodeJob, MAX_EVENT_REPLY_BYTES, parseEventReply, type EventReply } from './wire.js';

/** How long a hook waits for a daemon that took its job before it works alone. */
export const DISPATCH_TIMEOUT_MS = 10_000;

export interface DispatchOptions {
  config: Config;
  /** The file `config` came from: a daemon started with another refuses the job. */
  configPath: string;
  log: Logger;
  /** Where a dry run's plan goes (stdout for ifupdown, stderr for dhclient). */
  out: (text: string) => void;
  timeoutMs?: number;
  /** Why the daemon is not asked at all: it already failed to answer this event's hand-over (see `unansweredHandover`). */
  unanswered?: string;
}

/**
 * The shims (hooks/dhclient/shim.sh, hooks/ifupdown/hook.sh) set
 * MHR_HANDOVER_UNANSWERED=1 when the daemon took the hand-over and did not
 * answer in time: asking it again over the socket would double the wait of a
 * stopped daemon, so the hook works alone at once.
 */
export function unansweredHandover(env: NodeJS.ProcessEnv): string | undefined {
  return env.MHR_HANDOVER_UNANSWERED === '1' ? 'the daemon did not answer the hand-over in time' : undefined;
}

type Sent = { ok: true; reply: EventReply } | { ok: false; why: string; quiet: boolean; unanswered?: boolean };

/** The job to the daemon; never throws. `quiet`: no daemon listening, the usual fallback (not worth a warning). */
async function send(job: Job, o: DispatchOptions): Promise<Sent> {
  const timeoutMs = o.timeoutMs ?? DISPATCH_TIMEOUT_MS;
  const line = encodeJob(job, o.configPath, Date.now() + timeoutMs);
  trace('dispatch connecting');
  const r = await exchangeLine(o.config.socketPath, JSON.stringify(line), {
    timeoutMs,
    maxReplyBytes: MAX_EVENT_REPLY_BYTES,
    onConnect: () => trace('dispatch connected'),
  });
  trace('dispatch replied');
  if (!r.ok) {
    if (r.code === 'ENOENT' || r.code === 'ECONNREFUSED') return { ok: false, why: 'no daemon is running', quiet: true };
    if (r.code === 'ETIMEDOUT') return { ok: false, why: `the daemon took the event but did not answer within ${timeoutMs} ms`, quiet: false, unanswered: true };
    return { ok: false, why: `the daemon did not answer: ${r.why}`, quiet: false };
  }
  const parsed = parseEventReply(r.reply);
  if (!parsed.ok) return { ok: false, why: parsed.error, quiet: false };
  if (parsed.value.error !== undefined) return { ok: false, why: `the daemon did not take the event: ${parsed.value.error}`, quiet: false };
  return { ok: true, reply: parsed.value };
}

/** Applies (or, dry, plans) jobs through the daemon or in this process, their lines logged either way: one dispatcher per hook run. */
export function createDispatcher(o: DispatchOptions): (job: Job) => Promise<Outcome> {
  let unanswered: string | undefined = o.unanswered;
  return async (job) => {
    if (!job.events.length && !job.dns) return {};
    const sent: Sent = unanswered ? { ok: false, why: unanswered, quiet: true, unanswered: true } : await send(job, o);
    if (sent.ok) {
      const r = sent.reply;
      if (r.lines?.length) writeStderr(r.lines.map((l) => `${l}\n`).join(''));
      if (r.out) o.out(r.out);
      return r.failed === undefined ? {} : { failed: r.failed };
    }
    trace('working alone');
    const iface = job.events[0]?.ifname ?? job.dns?.ifname;
    if (sent.quiet) o.log.debug(`working alone: ${sent.why}`, { iface });
    else o.log.warn(`working alone: ${sent.why}`, { iface });
    if (sent.unanswered) unanswered = sent.why;
    const [{ runJob }, { unreachableAllocator }, { noteWorkedAlone }] = await Promise.all([import('./handler.js'), import('../apply/allocator.js'), import('../events/alone.js')]);
    // The daemon emits the events of what this job changes when its watcher sees it; the note names us in their reason.
    const started = Date.now();
    const note = (done?: number) => !job.dryRun && noteWorkedAlone(o.config.runDir, job.events.map((e) => e.ifname), { hook: job.hook, why: sent.why, started, ...(done ? { done } : {}) });
    note();
    const outcome = await runJob(job, { config: o.config, log: o.log, out: o.out, ...(sent.unanswered ? { allocator: unreachableAllocator(o.log, sent.why) } : {}) });
    note(Date.now());
    return outcome;
  };
}
