// The single entry every hook calls: lease → read state → plan → apply, one
// log line per decision. Routing changes are serialised by a lock; a failed
// apply is undone and planned once more from fresh state, and if that fails
// too it is undone again, so the host never keeps half a configuration.

import type { Config } from '../config/schema.js';
import { openHookIpChannel, type IpChannel } from '../exec/ip-channel.js';
import type { Logger } from '../log/log.js';
import type { Family } from '../net/address.js';
import type { Change, Plan } from '../plan/change.js';
import type { PlanEvent } from '../plan/event.js';
import { indexState } from '../plan/index.js';
import { isIgnored } from '../plan/ignore.js';
import { planEvent } from '../plan/plan.js';
import { describeChange } from '../plan/render.js';
import { readState } from '../state/read.js';
import type { KernelState } from '../state/types.js';
import { trace, traceSpan } from '../trace/trace.js';
import { leaseNotTaken, socketAllocator, type TableAllocator } from './allocator.js';
import { tableTakenBy } from '../allocator/kernel-claims.js';
import { applyChanges, undoChanges, type ApplyOptions } from './apply.js';
import { takeLock } from './lock.js';
import { removeRecord, writeRecord } from '../state/records.js';
import { writeStdout } from '../log/fd.js';

export interface HandleDeps {
  config: Config;
  log: Logger;
  dryRun: boolean;
  /** The daemon's ip channel; without one, the event opens a channel of its own. */
  ip?: IpChannel;
  allocator?: TableAllocator;
  /** Where a dry run prints its plan; stdout by default. */
  out?: (text: string) => void;
  /** Root of the sysctl tree (tests). */
  procSys?: string;
  /**
   * Checked against the state read under the routing lock, before planning:
   * a reason string skips the event (the watcher acts on what it saw a moment
   * ago; a hook may have changed it meanwhile).
   */
  precondition?: (state: KernelState) => string | undefined;
  /** Uplinks whose upstream is down (the daemon's health probes), asked under the lock when planning. */
  down?: () => ReadonlySet<string>;
}

export interface HandleResult {
  /** Table of the event's address (0: main or nothing managed). */
  table: number;
  degraded: boolean;
  /** Changes applied (or, in a dry run, planned). */
  changes: number;
}

/** How long the lease may keep the routing lock waiting before it is let go. */
const LEASE_WAIT_UNDER_LOCK_MS = 300;
/** A pause that does not keep the process alive once everything else is done. */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

/**
 * The address families whose state an event reads: an address-up its own
 * (it changes nothing of the other); a down, of an address or of the whole
 * interface, both (a lease of the other family may go with it).
 */
export const familiesRead = (event: PlanEvent): Family[] =>
  event.kind === 'address-up' ? [event.address.address.family] : event.kind === 'rerank' ? [event.family] : [4, 6];

/** The table this (interface, address) already has in the kernel, if any. */
function tableInKernel(state: KernelState, config: Config, event: PlanEvent): number {
  if (event.kind !== 'address-up') return 0;
  const A = event.address.address;
  for (const e of indexState(state, config).entries.values()) {
    if (e.family === A.family && e.ifname === event.ifname && e.address?.text === A.text) return e.table;
  }
  return 0;
}

function logChange(log: Logger, c: Change) {
  log.info(c.reason, { iface: c.subject.ifname, address: c.subject.address, table: c.subject.table, do: describeChange(c).replace(/ {2}#.*$/, '') });
}

/**
 * Handles one routing event from a hook, the watcher or the CLI. Without the
 * daemon's ip channel, the state read and the changes go through a channel of
 * the event's own, closed when it is done (lib/exec/ip-channel.ts).
 */
export async function handleEvent(event: PlanEvent, deps: HandleDeps): Promise<HandleResult> {
  if (deps.ip) return handle(event, deps, () => deps.ip!);
  let own: IpChannel | undefined;
  try {
    return await handle(event, deps, () => {
      own = openHookIpChannel(event.kind === 'address-up' ? event.address.address.family : 4);
      trace('ip channel opened');
      return own;
    });
  } finally {
    own?.close();
  }
}

async function handle(event: PlanEvent, deps: HandleDeps, channel: () => IpChannel): Promise<HandleResult> {
  const { config, log, dryRun } = deps;
  const allocator = deps.allocator ?? socketAllocator(config, log);
  const iface = event.ifname;
  const address = 'address' in event ? `${event.address.address.text}/${event.address.prefix.length}` : undefined;
  if (isIgnored(config, iface)) {
    log.debug('interface ignored (ignore_interfaces)', { iface });
    return { table: 0, degraded: false, changes: 0 };
  }

  // The lease request (a round trip to the allocator) overlaps the lock and
  // the state read; should the allocator be slow (retries), the lock is let
  // go while waiting, so other hooks are not held up, and state is read again.
  let leasePromise: Promise<number> = Promise.resolve(0);
  if (event.kind === 'address-up') {
    const key = { ifname: iface, address: event.address.address };
    leasePromise = traceSpan('lease', () =>
      dryRun ? (allocator.peekTable?.(key) ?? Promise.resolve(0)).catch(() => 0) : allocator.requestTable(key),
    );
    leasePromise.catch(() => {}); // awaited below; never an unhandled rejection
    // One turn of the event loop: the allocator's connect completes and the
    // request goes out, so the daemon works (and fsyncs) while ip is started,
    // which blocks this thread for milliseconds (a fork of the runtime).
    await new Promise((resolve) => setImmediate(resolve));
  }
  const ip = channel();
  const read = () => traceSpan('state read', () => readState({ families: familiesRead(event), sysctlInterfaces: [iface], runDir: config.runDir, ip, ...(deps.procSys ? { procSys: deps.procSys } : {}) }));

  const options: ApplyOptions = {
    ip,
    runDir: config.runDir,
    dryRun,
    out: deps.out ?? writeStdout,
    warn: (m, f) => log.warn(m, { iface, ...f }),
    ...(deps.procSys ? { procSys: deps.procSys } : {}),
  };
  const lock = () => (dryRun ? Promise.resolve(undefined) : takeLock(config.runDir));
  let release = await lock();
  trace('routing lock taken');
  let leased = 0;
  /** The last state read: what the plan starts from, and whether the kernel routes the address through the lease (then it is in use, whatever this event did). */
  let seen: KernelState | undefined;
  /**
   * A lease this event took but does not use (it skipped, or failed) goes
   * back at once: failing events must not exhaust table_range. Kept when the
   * kernel routes the address through that table, and when no state was read
   * (nothing says it is unused; the allocator's claims settle it).
   */
  const returnUnused = async () => {
    if (dryRun || event.kind !== 'address-up' || leased <= 0 || !seen || tableInKernel(seen, config, event) === leased) return;
    try {
      await allocator.releaseTable({ ifname: iface, address: event.address.address });
      log.debug('unused lease released', { iface, address, table: leased });
    } catch (err) {
      log.warn('could not release the unused table lease (it expires on its own)', { iface, address, table: leased, error: (err as Error).message });
    }
  };
  try {
    seen = await read();
    const quick = await Promise.race([leasePromise, sleep(LEASE_WAIT_UNDER_LOCK_MS).then(() => 'slow' as const)]);
    if (quick === 'slow') {
      await release?.();
      release = undefined;
      leased = await leasePromise;
      release = await lock();
      seen = await read();
    } else leased = quick;
    if (event.kind === 'address-up' && leased > 0) {
      const key = { ifname: iface, address: event.address.address };
      leased = dryRun ? (tableTakenBy(seen, config, key.address.family, leased, { ifname: iface, address: key.address.text }) ? 0 : leased) : await leaseNotTaken(allocator, seen, config, key, leased, log);
    }
  } catch (err) {
    await release?.();
    await returnUnused();
    throw err;
  }
  let plan: Plan | undefined;
  let applied: Change[] = [];
  const nothingDone = async (): Promise<HandleResult> => {
    await returnUnused();
    return { table: 0, degraded: false, changes: 0 };
  };
  try {
    for (let attempt = 1; ; attempt++) {
      const state = attempt === 1 && seen ? seen : (seen = await read());
      const stale = deps.precondition?.(state);
      if (stale) {
        log.debug(`nothing to do: ${stale}`, { iface, address });
        return await nothingDone();
      }
      let table = leased;
      if (event.kind === 'address-up' && table === 0) {
        table = tableInKernel(state, config, event);
        if (table) log.warn('no lease from the allocator: keeping the table this address already has', { iface, address, table });
      }
      plan = planEvent({ state, event, config, table, ...(deps.down ? { down: deps.down() } : {}) });
      trace(`planned ${plan.changes.length} changes`);
      if (plan.skipped) {
        log.info(`nothing to do: ${plan.skipped}`, { iface, address });
        return await nothingDone();
      }
      if (dryRun && event.kind === 'address-up' && leased === 0 && !table) {
        options.out(`# no table leased for ${iface} ${address} yet: a real run asks the allocator; shown: the fallback\n`);
      }
      const applying = applyChanges(plan.changes, options);
      // Every applied change is logged: start logger(1) while ip applies the batch.
      if (!dryRun && plan.changes.length) log.prepare?.();
      const result = await applying;
      trace('applied');
      if (!result.error) {
        applied = result.applied;
        break;
      }
      log.warn('applying the plan failed: undoing what ran', {
        iface, address, attempt, failed: result.failed ? describeChange(result.failed) : undefined, error: result.error.message,
      });
      await undoChanges(result.applied, options);
      if (attempt >= 2) {
        throw new Error(`routing for ${iface} ${address ?? ''} not changed: ${result.error.message}`);
      }
    }
  } catch (err) {
    await returnUnused();
    throw err;
  } finally {
    await release?.();
  }
  trace('routing lock released');

  if (!dryRun) for (const c of applied) logChange(log, c);
  if (plan.degraded) {
    log.error('no routing table lease: fallback to the main table with metric = interface index (degraded)', { iface, address });
  }
  if (!dryRun) {
    // What the address came with, for the watcher to rebuild a flushed table (lib/state/records.ts).
    try {
      if (event.kind === 'address-up' && plan.table > 0) writeRecord(config.runDir, event, plan.table);
      for (const k of plan.released) removeRecord(config.runDir, k.address.address.family, k.table);
      if (event.kind === 'address-down' && plan.table > 0) removeRecord(config.runDir, event.address.address.family, plan.table);
    } catch (err) {
      log.warn('could not record the address configuration (a flushed table is not rebuilt)', { iface, error: (err as Error).message });
    }
    // address-down releases its own lease even when the kernel held nothing of it (and those of stale leases it removed).
    const keys = event.kind === 'address-down'
      ? [{ ifname: iface, address: event.address }, ...plan.released.filter((k) => k.address.address.text !== event.address.address.text)]
      : plan.released;
    for (const k of keys) {
      try {
        const had = await allocator.releaseTable({ ifname: k.ifname, address: k.address.address });
        log.debug('lease released', { iface: k.ifname, address: k.address.address.text, had });
      } catch (err) {
        log.warn('could not release the table lease (it expires on its own)', { iface: k.ifname, address: k.address.address.text, error: (err as Error).message });
      }
    }
  }
  trace('logged, leases released');
  const changes = dryRun ? plan.changes.length : applied.length;
  const outcome = { iface, address, table: plan.table, degraded: plan.degraded || undefined, changes };
  if (changes) log.info('routing updated', outcome);
  // Nothing changed (a renewal): the caller sees it, syslog gets no line and no logger(1) is started.
  else (log.local ?? log.info)('routing already in place', outcome);
  return { table: plan.table, degraded: plan.degraded, changes };
}
