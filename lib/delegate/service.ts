// The daemon's side of delegated hooks: a hook sends its RoutingEvent over
// the allocator socket (wire.ts) and the daemon applies it with the code a
// hook would run (handleEvent), but warm: the planner already compiled, the
// lease table in this process (no socket round trip to itself), the state
// read and the changes through long-lived ip processes (lib/exec/ip-channel.ts,
// no fork per event), syslog through the logger(1) it already runs.
//
// One event at a time: the queue is shared with the watcher's repairs, and
// each event still takes the routing lock file, so a hook that fell back to
// working alone (daemon busy or gone) never interleaves with the daemon.

import { statSync } from 'node:fs';
import type { AllocatorService, Connection } from '../allocator/server.js';
import type { TableAllocator } from '../apply/allocator.js';
import { handleEvent, type HandleDeps, type HeldRead } from '../apply/handle.js';
import { takeLock } from '../apply/lock.js';
import { isIgnored } from '../plan/ignore.js';
import { readState } from '../state/read.js';
import { createPrefetcher } from './prefetch.js';
import type { Config } from '../config/schema.js';
import { updateInterfaceServers } from '../dns/update.js';
import { openIpChannel, type IpChannel } from '../exec/ip-channel.js';
import { createLogger, formatLine, type Fields, type Logger } from '../log/log.js';
import type { RoutingEvent } from '../plan/event.js';
import { trace } from '../trace/trace.js';
import { parseEventRequest, parsePrefetchRequest, type EventReply, type HookName } from './wire.js';

/** Runs tasks one after another, in the order they were queued. */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  /** Tasks waiting or running. */
  length = 0;
  run<T>(task: () => Promise<T>): Promise<T> {
    this.length++;
    const next = this.tail.then(task).finally(() => this.length--);
    this.tail = next.catch(() => {});
    return next;
  }
}

export interface DelegateOptions {
  config: Config;
  /** The file the daemon's config came from: events planned with another are refused (the hook then works alone). */
  configPath: string;
  log: Logger;
  allocator: Pick<AllocatorService, 'serve' | 'table'>;
  /** The daemon's --verbose. */
  verbose?: boolean;
  /** Tests: argv that starts ip. */
  ip?: readonly string[];
}

export interface DelegateService {
  readonly name: 'delegate';
  /** Answers one `cmd: "event"` request object (the allocator server calls it). */
  onEvent(request: Record<string, unknown>, connection?: Connection): Promise<EventReply>;
  /** Takes a `cmd: "prefetch"` line: an idle daemon reads ahead for the event that follows on `connection` (prefetch.ts). */
  onPrefetch(request: Record<string, unknown>, connection: Connection): void;
  /** handleEvent through the queue and the ip processes (the watcher's repairs use it too). */
  handle(event: RoutingEvent, deps: HandleDeps): Promise<Awaited<ReturnType<typeof handleEvent>>>;
  readonly queue: SerialQueue;
  readonly ip: IpChannel;
  close(): Promise<void>;
}

/**
 * How long an announced event may keep the queue waiting for it: a hook
 * sends it ~2 ms after announcing; one that stops without it closes the
 * connection, which ends the wait sooner.
 */
export const PREFETCH_WAIT_MS = 250;

const reply = (fields: Omit<EventReply, 'version' | 'cmd'>): EventReply => ({ version: 1, cmd: 'response', ...fields });

/**
 * The lease table of this process for delegated events. A new lease or a
 * release is answered before the store is written (within STORE_SOON_MS):
 * the event puts it in the kernel meanwhile, where the allocator finds it
 * again after a kill -9 (lib/allocator/kernel-claims.ts), and the write's
 * fsyncs (~0.7 ms of a BOUND, BENCHMARKS.md) fall after the hook has gone.
 */
export function inProcessAllocator(allocator: Pick<AllocatorService, 'serve' | 'table'>): TableAllocator {
  const key = (k: { ifname: string; address: { text: string; family: 4 | 6 } }) => ({ ifname: k.ifname, address: k.address.text, addr_family: k.address.family });
  const soon = { writeSoon: true };
  return {
    async requestTable(k) {
      const r = await allocator.serve({ version: 1, cmd: 'request', ...key(k), ...(k.tag ? { tag: k.tag } : {}) }, soon);
      return r.error ? 0 : (r.table ?? 0);
    },
    async releaseTable(k) {
      const r = await allocator.serve({ version: 1, cmd: 'release', ...key(k) }, soon);
      if (r.error) throw new Error(r.error);
      return (r.table ?? 0) > 0;
    },
    async peekTable(k) {
      return allocator.table.list().find((l) => l.ifname === k.ifname && l.address === k.address.text)?.table ?? 0;
    },
  };
}

const mtimeOf = (path: string) => {
  try {
    const st = statSync(path);
    return `${st.mtimeMs}:${st.size}:${st.ino}`;
  } catch {
    return 'missing';
  }
};

export function startDelegate(options: DelegateOptions): DelegateService {
  const { config, log } = options;
  const queue = new SerialQueue();
  const ip = openIpChannel({ ...(options.ip ? { ip: options.ip } : {}), onRestart: (family, why) => log.debug('ip session replaced', { family, why }) });
  const allocator = inProcessAllocator(options.allocator);
  const configStamp = mtimeOf(options.configPath);

  // One syslog logger per hook name, so syslog lines carry the hook's name as
  // when the hook logged them itself; stderr lines go back to the hook.
  let sink: string[] | undefined;
  const loggers = new Map<HookName, Logger>();
  const hookLogger = (hook: HookName): Logger => {
    let l = loggers.get(hook);
    if (!l) {
      l = createLogger({ source: hook, verbose: false, syslog: config.syslog, write: (line) => sink?.push(line) });
      loggers.set(hook, l);
    }
    return l;
  };

  const handle: DelegateService['handle'] = (event, deps) => queue.run(() => handleEvent(event, { ...deps, ip }));

  const prefetcher = createPrefetcher({
    queue,
    lock: () => takeLock(config.runDir),
    read: (scope) => readState({ families: scope.families, sysctlInterfaces: [scope.ifname], runDir: config.runDir, ip }),
    waitMs: PREFETCH_WAIT_MS,
    onClose: (connection, cb) => (connection as Connection).onClose(cb),
  });

  function onPrefetch(o: Record<string, unknown>, connection: Connection): void {
    const parsed = parsePrefetchRequest(o);
    if (!parsed.ok) {
      log.warn('ignored a malformed prefetch line', { reason: parsed.error });
      return;
    }
    if (isIgnored(config, parsed.value.ifname)) return;
    if (prefetcher.announce(connection, parsed.value)) trace('prefetch started');
  }

  async function onEvent(o: Record<string, unknown>, connection?: Connection): Promise<EventReply> {
    const parsed = parseEventRequest(o);
    if (!parsed.ok) {
      log.warn('refused a malformed event', { reason: parsed.error });
      return reply({ error: parsed.error });
    }
    const req = parsed.value;
    if (req.config_path !== options.configPath || mtimeOf(req.config_path) !== configStamp) {
      return reply({ error: `the daemon runs with ${options.configPath} as it was when it started; the hook has ${req.config_path}${req.config_path === options.configPath ? ' (changed since)' : ''}` });
    }
    trace('event queued');
    const work = async (held: HeldRead | undefined): Promise<EventReply> => {
      if (Date.now() > req.expires_at) {
        log.warn('event dropped: the hook stopped waiting for it and worked alone', { hook: req.hook, iface: req.decoded.ifname });
        return reply({ error: 'expired before it could start' });
      }
      const lines: string[] = [];
      const base = hookLogger(req.hook);
      const local = (level: string) => (message: string, fields?: Fields) => lines.push(`multihomed-routing ${req.hook}: ${level}${formatLine(message, fields)}`);
      const eventLog: Logger = {
        error: base.error,
        warn: base.warn,
        info: base.info,
        debug: req.verbose ? local('debug: ') : () => {},
        local: local(''),
        flush: async () => {},
      };
      let out = '';
      sink = lines;
      /** The hook's name servers into the servers-file, as the hook would (lib/dns/update.ts). */
      const writeDns = async (): Promise<{ dns_done?: true }> => {
        const d = req.decodedDns;
        if (!d || !config.dnsmasqMode) return {};
        try {
          await updateInterfaceServers(d, { serversFile: config.dnsmasqServersFile, pidFile: config.dnsmasqPidFile, log: eventLog, dryRun: req.dry_run });
        } catch (err) {
          eventLog.error(`dnsmasq servers not updated: ${(err as Error).message}`, { iface: d.ifname });
        }
        return { dns_done: true };
      };
      try {
        eventLog.debug('applied by the daemon', { pid: process.pid });
        const r = await handleEvent(req.decoded, {
          config,
          log: eventLog,
          dryRun: req.dry_run,
          allocator,
          ip,
          ...(held ? { held } : {}),
          out: (t) => void (out += t),
        });
        trace('event handled');
        const dns = await writeDns();
        trace('dns written');
        return reply({ table: r.table, degraded: r.degraded, changes: r.changes, lines, ...(req.dry_run ? { out } : {}), ...dns });
      } catch (err) {
        // handleEvent failed (the plan could not be applied twice): logged as the hook would, and the hook exits as it would.
        const failed = (err as Error).message;
        eventLog.error(`routing not configured: ${failed}`, { iface: req.decoded.ifname });
        // The servers are bound to the interface: they work with the address dhclient-script then configures.
        const dns = await writeDns();
        return reply({ table: 0, degraded: false, changes: 0, lines, failed, ...dns });
      } finally {
        sink = undefined;
      }
    };
    return (connection && prefetcher.take(connection, work)) ?? queue.run(() => work(undefined));
  }

  return {
    name: 'delegate',
    onEvent,
    onPrefetch,
    handle,
    queue,
    ip,
    async close() {
      await queue.run(async () => {});
      ip.close();
      for (const l of loggers.values()) await l.flush();
    },
  };
}
