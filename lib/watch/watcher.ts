// The daemon's kernel watcher: one `ip -o monitor` for the whole host (not a
// netlink client per address), its lines coalesced into
// reconcile passes (coalesce.ts), each pass a fresh `ip -json` read planned
// by reconcile.ts and carried out through handleEvent, the same entry the
// hooks use, under the same routing lock. Leases are renewed, claimed and
// released in-process: the watcher runs next to the allocator.
//
// Faults: `ip monitor` exiting is restarted with backoff (250 ms doubling to
// 10 s; reset after 30 s of running) and a pass follows each restart (events
// may have been missed). A failed pass is logged and retried in 2 s. A
// periodic pass (lease_time/4, at most 5 min) renews leases on a quiet host.

import { existsSync } from 'node:fs';
import type { AllocatorService } from '../allocator/allocator.js';
import type { Service } from '../daemon/service.js';
import { handleEvent } from '../apply/handle.js';
import { flushMasqueraded } from '../conntrack/flush.js';
import { forwardingChanged, syncForwardingAfterRouting } from '../forward/sync.js';
import { carrierLosses, type CarrierMemory } from './carrier.js';
import type { Config } from '../config/schema.js';
import { follow, type Followed } from '../exec/follow.js';
import type { IpChannel } from '../exec/ip-channel.js';
import type { Logger } from '../log/log.js';
import { isIgnored } from '../plan/ignore.js';
import { isSlaacAddress } from '../plan/ra.js';
import { readState } from '../state/read.js';
import type { KernelState } from '../state/types.js';
import { Coalescer } from './coalesce.js';
import { isRelevant, parseMonitorLine } from './monitor.js';
import { checkFails, leaseKey, reconcile, type WatchMemory } from './reconcile.js';
import { reclaimUnused, type Absence } from './reclaim.js';
import { readRecords } from '../state/records.js';
import { writeView, type DaemonView, type LeaseView, type RepairView } from './view.js';

export const MONITOR_ARGV = ['ip', '-o', 'monitor', 'label', 'link', 'address', 'route', 'rule'];

/**
 * The monitor dies with the daemon (kill -9 included: an orphaned `ip
 * monitor` would otherwise wait for netlink messages forever) through
 * util-linux's setpriv --pdeathsig, when the host has it.
 */
export function monitorArgv(): string[] {
  const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
  // Niced: every change a hook's event makes wakes the monitor while the
  // hook waits for its reply; the watcher coalesces for 150 ms anyway.
  const nice = ['/usr/bin/nice', '/bin/nice'].find((p) => existsSync(p));
  const monitor = nice ? [nice, '-n', '10', ...MONITOR_ARGV] : [...MONITOR_ARGV];
  return setpriv ? [setpriv, '--pdeathsig', 'TERM', '--', ...monitor] : monitor;
}

export interface WatcherOptions {
  config: Config;
  /** The config in use now (the daemon re-reads it on SIGHUP); default: `config`. */
  current?: () => Config;
  log: Logger;
  allocator: Pick<AllocatorService, 'table' | 'writer' | 'local'>;
  manageSlaac?: boolean;
  quietMs?: number;
  maxDelayMs?: number;
  tickMs?: number;
  /** The monitor's argv (tests: a program that exits). */
  monitorArgv?: readonly string[];
  /** The passes' reads go through the daemon's ip channel (lib/exec/ip-channel.ts), so a pass forks no ip. */
  ip?: IpChannel;
  /** The daemon's events (lib/events/service.ts): every state read after the actions, and the adoptions. */
  events?: { seen(state: KernelState, config: Config, readAt: number): void; adopted(family: 4 | 6, ifname: string, address: string): void };
  /** Tests: a fake kernel. */
  read?: () => Promise<KernelState>;
  handle?: typeof handleEvent;
  /** The daemon: after routing changes sync the reply marks, after a carrier loss flush masqueraded flows (docs/forwarding.md). */
  forwarding?: boolean;
  /** Unix seconds. */
  now?: () => number;
  /** Milliseconds (adoption's grace period). */
  nowMs?: () => number;
  /** Write run_dir/daemon-view.json (default true). */
  writeView?: boolean;
}

export interface WatcherService extends Service {
  /** Resolves when no pass is running or due. */
  idle(): Promise<void>;
  readonly stats: { passes: number; events: number; monitorRestarts: number };
  readonly repairs: readonly RepairView[];
}

const MAX_REPAIRS = 50;
const unixNow = () => Math.floor(Date.now() / 1000);

export async function startWatcher(options: WatcherOptions): Promise<WatcherService> {
  const { log, allocator } = options;
  const current = options.current ?? (() => options.config);
  const config = options.config; // what the watcher was started with: run_dir, lease time, protocol (restart-only keys)
  const now = options.now ?? unixNow;
  const nowMs = options.nowMs ?? Date.now;
  const handle = options.handle ?? handleEvent;
  const read = options.read ?? (() => readState({ families: [4, 6], runDir: config.runDir, ...(options.ip ? { ip: options.ip } : {}) }));
  const manageSlaac = () => options.manageSlaac ?? current().manageSlaac;
  const started = now();
  let memory: WatchMemory = { held: new Set(), snapshots: new Map() };
  let absent = new Map<string, Absence>();
  const repairs: RepairView[] = [];
  let monitorRestarts = 0;
  let closed = false;
  let lastViewText = '';
  let lastViewAt = 0;
  let lastCounters = '';
  let lastState: KernelState | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let recheckTimer: NodeJS.Timeout | undefined;

  const { table, writer } = allocator;
  const record = (r: Omit<RepairView, 'at'>, what = 'repaired') => {
    repairs.push({ at: now(), ...r });
    if (repairs.length > MAX_REPAIRS) repairs.splice(0, repairs.length - MAX_REPAIRS);
    log.info(`${what}: ${r.found}: ${r.did}`, { iface: r.ifname, address: r.address });
  };

  function publish(state: KernelState, force: boolean) {
    if (options.writeView === false) return;
    const present = new Map<string, boolean>();
    for (const l of state.links) for (const a of l.addresses) present.set(leaseKey(a.address.address.family, l.ifname, a.address.address.text), isSlaacAddress(a));
    const leases: LeaseView[] = table.list().map((l) => {
      const key = leaseKey(l.addr_family, l.ifname, l.address);
      return { ifname: l.ifname, address: l.address, family: l.addr_family, table: l.table, expires: l.lease_expires, held: present.has(key), ...(present.get(key) ? { slaac: true } : {}) };
    });
    const problem = writer.problem;
    const body = { leases, repairs, monitorRestarts, ...(problem ? { store: { path: config.storePath, ...problem } } : {}) };
    const text = JSON.stringify(body);
    const t = now();
    lastState = state;
    // Unchanged leases and repairs: rewritten at most every 5 s (the pass and event counters), else every minute.
    const counters = `${coalescer.passes}/${coalescer.events}`;
    if (!force && text === lastViewText && t - lastViewAt < (counters !== lastCounters ? 5 : 60)) return;
    lastCounters = counters;
    const view: DaemonView = { version: 1, pid: process.pid, updated: t, started, passes: coalescer.passes, events: coalescer.events, ...body };
    try {
      writeView(config.runDir, view);
      lastViewText = text;
      lastViewAt = t;
    } catch (err) {
      log.warn('could not write the daemon view', { error: (err as Error).message });
    }
  }

  let firstPass = true;
  let carrier: CarrierMemory | undefined;
  /** Failover by carrier: forwarded flows masqueraded out of the dead uplink start again through a live one. */
  async function flushAfterCarrierLoss(state: KernelState, config: Config) {
    const { losses, memory } = carrierLosses(carrier, state, config);
    carrier = memory;
    if (!options.forwarding) return;
    for (const l of losses) {
      const r = await flushMasqueraded(l.family, l.address);
      if (r.error) log.warn(`masqueraded flows of a dead uplink not flushed: ${r.error}`, { iface: l.ifname, address: l.address.text });
      else if (r.deleted) log.info(`carrier lost: ${r.deleted} masqueraded flow(s) flushed, they start again through a live uplink`, { iface: l.ifname, address: l.address.text });
    }
  }

  async function pass(): Promise<void> {
    let failed = false;
    const config = current();
    try {
      let readAt = Date.now(); // the events' notes (lib/events/alone.ts) are judged by when the state was read
      const state = await read();
      await flushAfterCarrierLoss(state, config);
      const { records, bad } = readRecords(config.runDir);
      for (const name of bad) log.warn('ignoring a damaged address record', { file: name });
      const adopt = config.adoptAddresses ? { nowMs: nowMs(), takeOver: firstPass } : undefined;
      const result = reconcile({ state, leases: table.list(), config, memory, records, now: now(), manageSlaac: manageSlaac(), ...(adopt ? { adopt } : {}) });
      firstPass = false;
      memory = result.memory;
      // Leases nobody uses go after lease_reclaim_grace (reclaim.ts).
      const reclaim = reclaimUnused({ state, leases: table.list(), absent, actions: result.actions, now: now(), graceS: config.leaseReclaimGrace });
      absent = reclaim.absent;
      const actions = [...result.actions, ...reclaim.releases];
      let save = false;
      let routingChanged = false;
      for (const action of actions) {
        if (closed) break;
        switch (action.kind) {
          case 'renew': {
            const l = action.lease;
            const r = table.request({ ifname: l.ifname, address: l.address, addr_family: l.addr_family, ...(l.tag ? { tag: l.tag } : {}) }, now());
            if (r.ok) log.debug('lease renewed: its address is present', { ifname: l.ifname, address: l.address, table: l.table });
            save = true;
            break;
          }
          case 'claim': {
            // The address is live and complete in that table: the kernel is the truth, a store lease of another key for it goes.
            const got = table.reassign({ ifname: action.ifname, address: action.address, addr_family: action.family }, action.table, now());
            const dropped = got?.dropped.map((l) => `${l.ifname} ${l.address}`).join(', ');
            if (got) record({ ifname: action.ifname, address: action.address, found: `${action.why} (${action.table})`, did: `lease claimed for that table${dropped ? ` (dropped the store's lease of ${dropped})` : ''}` });
            else log.warn(`${action.why}: table ${action.table} is outside table_range, not leased`, { iface: action.ifname, address: action.address });
            save = save || !!got;
            break;
          }
          case 'release': {
            const l = action.lease;
            const key = { ifname: l.ifname, address: l.address, addr_family: l.addr_family };
            if (table.get(key)?.lease_expires !== l.lease_expires) break; // requested since the pass read it: a hook is using it
            if (table.release(key)) {
              record({ ifname: l.ifname, address: l.address, found: action.why, did: `lease of table ${l.table} released` });
              save = true;
            }
            break;
          }
          case 'event': {
            const e = action.event;
            try {
              const r = await handle(e, {
                config,
                log,
                dryRun: false,
                allocator: allocator.local,
                precondition: (s) => checkFails(action.check, s, config),
              });
              if (r.changes > 0) {
                routingChanged = true;
                const address = e.kind === 'interface-gone' ? undefined : `${e.address.address.text}/${e.address.prefix.length}`;
                const did = e.kind === 'address-up' ? `table ${r.table}: ${r.changes} changes` : `rules and routes removed, lease released (${r.changes} changes)`;
                record({ ifname: e.ifname, ...(address ? { address } : {}), found: action.why, did }, e.kind === 'address-up' && e.adopted ? 'adopted' : 'repaired');
                if (e.kind === 'address-up' && e.adopted) options.events?.adopted(e.address.address.family, e.ifname, e.address.address.text);
              }
            } catch (err) {
              failed = true;
              log.error(`watcher could not repair: ${(err as Error).message}`, { iface: e.ifname, why: action.why });
            }
            break;
          }
        }
      }
      if (options.forwarding && (routingChanged || forwardingChanged())) await syncForwardingAfterRouting(config, log, options.ip);
      clearTimeout(recheckTimer);
      const recheckInS = Math.min(result.recheckInS ?? Infinity, reclaim.recheckInS ?? Infinity);
      const recheckMs = Math.min(recheckInS * 1000 + 1000, result.adoptInMs ?? Infinity);
      if (recheckMs !== Infinity && !closed) recheckTimer = setTimeout(() => coalescer.runSoon(), recheckMs);
      log.debug('watcher pass', { actions: actions.length, kinds: [...new Set(actions.map((a) => a.kind))].join(',') || undefined });
      if (save) await writer.save().catch(() => {}); // a store that cannot be written is reported by the allocator's writer, once
      // The view reflects the leases after the actions, presence before them (good enough for a status line).
      let after = state;
      if (actions.some((a) => a.kind === 'event')) {
        const at = Date.now();
        const fresh = await read().catch(() => undefined);
        if (fresh) [after, readAt] = [fresh, at];
      }
      options.events?.seen(after, config, readAt);
      publish(after, actions.length > 0);
    } catch (err) {
      failed = true;
      log.error(`watcher pass failed: ${(err as Error).message}`);
    }
    if (failed && !closed) {
      clearTimeout(retryTimer);
      retryTimer = setTimeout(() => coalescer.trigger(), 2000);
    }
  }

  const coalescer = new Coalescer(pass, { quietMs: options.quietMs ?? 150, maxDelayMs: options.maxDelayMs ?? 1000 });

  const relevance = { protocol: config.protocol, isIgnored: (ifname: string) => isIgnored(current(), ifname) };
  let monitor: Followed | undefined;
  let restartTimer: NodeJS.Timeout | undefined;
  let backoffMs = 250;
  const argv = options.monitorArgv ?? monitorArgv();
  function startMonitor() {
    const since = Date.now();
    const m = follow(argv, (line) => {
      const ev = parseMonitorLine(line);
      if (ev && isRelevant(ev, relevance)) coalescer.trigger();
    });
    monitor = m;
    void m.exited.then(({ code, signal, stderr }) => {
      if (closed) return;
      monitorRestarts++;
      if (Date.now() - since > 30_000) backoffMs = 250;
      log.warn('ip monitor exited: restarting it', { code: code ?? undefined, signal: signal ?? undefined, stderr: stderr.trim().slice(0, 200) || undefined, in_ms: backoffMs });
      restartTimer = setTimeout(() => {
        if (closed) return;
        startMonitor();
        coalescer.runSoon(); // what happened while nobody listened
      }, backoffMs);
      backoffMs = Math.min(backoffMs * 2, 10_000);
    });
  }

  startMonitor(); // listen first, then look: nothing falls between
  coalescer.runSoon();
  const tickMs = options.tickMs ?? Math.min(300_000, Math.max(1000, (config.leaseTime * 1000) / 4));
  const ticker = setInterval(() => coalescer.runSoon(), tickMs);
  log.info('watcher started', { monitor: argv.join(' '), slaac: manageSlaac(), adopt: config.adoptAddresses, tick_s: Math.round(tickMs / 1000) });

  return {
    name: 'watcher',
    stats: {
      get passes() { return coalescer.passes; },
      get events() { return coalescer.events; },
      get monitorRestarts() { return monitorRestarts; },
    },
    repairs,
    idle: () => coalescer.idle(),
    async close() {
      closed = true;
      clearInterval(ticker);
      clearTimeout(restartTimer);
      clearTimeout(retryTimer);
      clearTimeout(recheckTimer);
      monitor?.stop();
      await coalescer.close();
      await monitor?.exited;
      if (lastState) publish(lastState, true); // final counters
      log.info('watcher stopped', { passes: coalescer.passes, events: coalescer.events });
    },
  };
}
