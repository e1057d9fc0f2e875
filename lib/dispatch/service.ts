// The daemon's side of dispatch: the `event` command of its socket. A
// hook's job runs through the handler a hook would run (handler.ts), but
// warm: the planner already compiled, the lease table in this process (no
// socket round trip to itself), the state read and the changes through
// long-lived ip processes (lib/exec/ip-channel.ts, no fork per event),
// syslog through the logger(1) it already runs.
//
// One job at a time: the queue is shared with the watcher's repairs, and
// each event still takes the routing lock file, so a hook that fell back to
// working alone (daemon busy or gone) never interleaves with the daemon.

import type { AllocatorService } from '../allocator/allocator.js';
import type { Service } from '../daemon/service.js';
import { handleEvent, type HandleDeps, type HandleResult } from '../apply/handle.js';
import { stampOf, type LiveConfig } from '../config/live.js';
import type { Config } from '../config/schema.js';
import { openIpChannel, type IpChannel } from '../exec/ip-channel.js';
import { createLogger, createSyslog, type Logger, type Syslog } from '../log/log.js';
import type { PlanEvent } from '../plan/event.js';
import { trace } from '../trace/trace.js';
import { syncForwardingAfterRouting } from '../forward/sync.js';
import { runJob } from './handler.js';
import type { Job, Outcome } from './job.js';
import { encodeOutcome, MAX_EVENT_BYTES, parseEventRequest, type EventReply } from './wire.js';

/** Runs tasks one after another, in the order they were queued. */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(task: () => Promise<T>): Promise<T> {
    const next = this.tail.then(task);
    this.tail = next.catch(() => {});
    return next;
  }
}

export interface EventServiceOptions {
  /**
   * The daemon's config and the file it came from: jobs planned with another
   * file, or with this one changed since it was (re)loaded, are refused (the
   * hook then works alone). SIGHUP re-reads it (lib/config/live.ts).
   */
  config: LiveConfig;
  log: Logger;
  allocator: Pick<AllocatorService, 'local'>;
  /** Tests: argv that starts ip. */
  ip?: readonly string[];
  /** Uplinks whose upstream is down (the health probes): every plan ranks them after the healthy ones. */
  down?: () => ReadonlySet<string>;
  /** Told of every hook's job run or dropped (the metrics). */
  onJob?: (hook: string, outcome: 'ok' | 'failed' | 'dropped', seconds: number) => void;
}

export interface EventService extends Service {
  /** The socket's `event` command (lib/daemon/socket.ts). */
  readonly command: { maxBytes: number; run(request: Record<string, unknown>): Promise<EventReply> };
  /** handleEvent through the queue and the ip processes (the watcher's repairs and the health probes' re-ranking use it). */
  handle(event: PlanEvent, deps: HandleDeps): Promise<HandleResult>;
  /**
   * A job made in this process (a handed-over hook's, lib/daemon/handover.ts) through the queue, its lines through `log`;
   * dropped when its turn comes and `wanted()` says the hook no longer waits (it works alone by then).
   */
  runLocal(job: Job, log: Logger, wanted?: () => boolean): Promise<Outcome>;
  /** Is the config file still as the daemon last read it? */
  configCurrent(): boolean;
  readonly syslog: Syslog;
  readonly ip: IpChannel;
}

const refuse = (error: string): EventReply => ({ version: 1, cmd: 'response', error });

export function startEventService(options: EventServiceOptions): EventService {
  const { log } = options;
  const live = options.config;
  const queue = new SerialQueue();
  const ip = openIpChannel({ ...(options.ip ? { ip: options.ip } : {}), onRestart: (family, why) => log.debug('ip session replaced', { family, why }) });
  const allocator = options.allocator.local;
  const syslog = createSyslog();
  const down = options.down ? { down: options.down } : {};
  // The reply marks follow a job's routing changes after the hook has its answer: queued behind the job, under the daemon's log.
  const forward = async (config: Config) => void queue.run(() => syncForwardingAfterRouting(config, log, ip));
  /** Runs a job, telling onJob how it went. */
  async function timed(hook: string, job: () => Promise<Outcome>): Promise<Outcome> {
    const t0 = performance.now();
    const outcome = await job();
    options.onJob?.(hook, outcome.failed ? 'failed' : 'ok', (performance.now() - t0) / 1000);
    return outcome;
  }

  async function run(o: Record<string, unknown>): Promise<EventReply> {
    const parsed = parseEventRequest(o);
    if (!parsed.ok) {
      log.warn('refused a malformed event', { reason: parsed.error });
      return refuse(parsed.error);
    }
    const { job, configPath, expiresAt } = parsed.value;
    if (configPath !== live.path || stampOf(configPath) !== live.stamp()) {
      const same = configPath === live.path;
      return refuse(`the daemon runs with ${live.path} as it was when it last read it; the hook has ${configPath}${same ? ' (changed since: systemctl reload multihomed-routing, or SIGHUP, makes the daemon read it again)' : ''}`);
    }
    trace('event queued');
    return queue.run(async () => {
      const iface = job.events[0]?.ifname ?? job.dns?.ifname;
      if (Date.now() > expiresAt) {
        log.warn('event dropped: the hook stopped waiting for it and worked alone', { hook: job.hook, iface });
        options.onJob?.(job.hook, 'dropped', 0);
        return refuse('expired before it could start');
      }
      // The job's lines as the hook would write them, for its reply; syslog as the hook would (under its name).
      const lines: string[] = [];
      const config = live.current();
      const jobLog = createLogger({ source: job.hook, verbose: job.verbose, syslog: config.syslog, sink: syslog, write: (l) => lines.push(l) });
      let out = '';
      jobLog.debug('applied by the daemon', { pid: process.pid });
      const outcome = await timed(job.hook, () => runJob(job, { config, log: jobLog, out: (t) => void (out += t), allocator, ip, forward, ...down }));
      trace('event handled');
      return encodeOutcome(outcome, lines, job.dryRun ? out : undefined);
    });
  }

  return {
    name: 'events',
    command: { maxBytes: MAX_EVENT_BYTES, run },
    handle: (event, deps) => queue.run(() => handleEvent(event, { ...deps, ip, ...down })),
    runLocal: (job, jobLog, wanted = () => true) =>
      queue.run(async () => {
        if (!wanted()) {
          log.warn('event dropped: the hook stopped waiting for it and worked alone', { hook: job.hook, iface: job.events[0]?.ifname ?? job.dns?.ifname });
          options.onJob?.(job.hook, 'dropped', 0);
          return { failed: 'the hook stopped waiting' };
        }
        return timed(job.hook, () => runJob(job, { config: live.current(), log: jobLog, out: () => {}, allocator, ip, forward, ...down }));
      }),
    configCurrent: () => stampOf(live.path) === live.stamp(),
    syslog,
    ip,
    async close() {
      await queue.run(async () => {});
      ip.close();
      await syslog.flush();
    },
  };
}
