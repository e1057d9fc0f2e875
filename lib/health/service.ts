// The daemon's health service: probes every managed address through its own
// uplink (probe.ts), feeds the rounds to the state machine (machine.ts) and,
// when an uplink goes down or comes back, re-converges that family's band
// through the daemon's one event queue (a `rerank` event: plan, apply, log,
// as any hook's event) and flushes the flows masqueraded out of a dead
// uplink (lib/conntrack). The set of down uplinks is what every plan of the
// daemon ranks with, so a hook's event in between keeps the order.
//
// Uplinks come from the kernel (uplinks.ts), re-read every 5 s (a new one is
// unknown until then, which ranks like up); each has its own loop of
// rounds, one at a time.

import { rmSync } from 'node:fs';
import type { AllocatorService } from '../allocator/allocator.js';
import type { HandleDeps, HandleResult } from '../apply/handle.js';
import { flushMasqueraded } from '../conntrack/flush.js';
import type { Config } from '../config/schema.js';
import type { Service } from '../daemon/service.js';
import { parseServersFile } from '../dns/servers-file.js';
import type { IpChannel } from '../exec/ip-channel.js';
import { run, type Runner } from '../exec/run.js';
import { readFileIfExists } from '../fs/atomic.js';
import type { Logger } from '../log/log.js';
import type { PlanEvent } from '../plan/event.js';
import { parseIp } from '../net/address.js';
import { rankTables } from '../plan/ranking.js';
import { parseAddrJson } from '../state/parse.js';
import { readState } from '../state/read.js';
import { carrierLost, initialTracker, lossOf, planRound, recordRound, type TargetAnswer, type Tracker, type Transition } from './machine.js';
import { sendProbe, type Prober } from './probe.js';
import { uplinksOf, type Uplink } from './uplinks.js';
import { healthViewPath, writeHealthView, type UplinkHealth } from './view.js';

export interface HealthServiceOptions {
  /** The config the daemon started with (run_dir). */
  config: Config;
  /** The config as last read (SIGHUP): priority, targets and timings follow it. */
  current?: () => Config;
  log: Logger;
  ip: IpChannel;
  allocator: Pick<AllocatorService, 'local'>;
  /** The event service's handle: the one queue every change goes through. */
  handle(event: PlanEvent, deps: HandleDeps): Promise<HandleResult>;
  /** The daemon's events: health-up and health-down (lib/events). */
  emit?: (e: { type: 'health-up' | 'health-down'; iface: string; family: 4 | 6; address: string; table: number; reason: string }) => void;
  /** Tests and benchmarks: what sends one probe. */
  probe?: Prober;
  /** Tests: what runs conntrack. */
  conntrack?: Runner;
}

export interface HealthService extends Service {
  /** Uplinks whose upstream is down (ranking.ts healthKey). */
  downKeys(): ReadonlySet<string>;
}

interface Probed {
  uplink: Uplink;
  tracker: Tracker;
  why?: string;
  gone: boolean;
  wake?: () => void;
}

/** How often the uplinks are re-read from the kernel and the view rewritten. */
const REFRESH_MS = 5000;

export function startHealth(options: HealthServiceOptions): HealthService {
  const { config, log } = options;
  const currentConfig = options.current ?? (() => config);
  const probe = options.probe ?? sendProbe;
  const runConntrack = options.conntrack ?? run;
  const probed = new Map<string, Probed>();
  const down = new Set<string>();
  let closed = false;
  const loops = new Set<Promise<void>>();
  const now = () => Date.now();

  const sleep = (p: Probed, ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => { p.wake = undefined; resolve(); }, ms);
      p.wake = () => { clearTimeout(t); p.wake = undefined; resolve(); };
    });

  /** Links as the kernel shows them, read at most twice a second for all uplinks (the daemon's ip process, no fork). */
  let links: { at: number; carrier: Map<string, boolean> } | undefined;
  async function hasCarrier(ifname: string): Promise<boolean> {
    if (!links || now() - links.at > 500) {
      const at = now();
      const { links: json } = await options.ip.read(4, ['links']);
      links = { at, carrier: new Map(parseAddrJson(json).map((l) => [l.ifname, l.carrier])) };
    }
    return links.carrier.get(ifname) ?? true; // unknown: the probes decide
  }

  async function round(p: Probed) {
    const { uplink: u } = p;
    const s = u.settings;
    if (!(await hasCarrier(u.ifname))) {
      const r = carrierLost(p.tracker, now());
      p.tracker = r.tracker;
      if (r.transition) await transition(p, r.transition);
      return;
    }
    // An address held by several interfaces: only a probe bound to the device tells them apart (ping -I DEV).
    const methods = u.shared ? [{ name: 'icmp' as const }] : s.methods;
    const plan = planRound(p.tracker, u.targets, methods, s);
    const answers = await Promise.all(
      plan.map(async ({ target, methods }): Promise<TargetAnswer> => {
        let sent = 0;
        for (const method of methods) {
          sent++;
          const r = await probe({ source: u.address, family: u.family, target, method, timeoutMs: s.timeoutMs, ...(u.shared ? { device: u.ifname } : {}) });
          if (r.ok) return { target, method, sent, ...(r.rttMs !== undefined ? { rttMs: r.rttMs } : {}) };
          if (closed || p.gone) break;
        }
        return { target, sent };
      }),
    );
    if (closed || p.gone) return;
    const r = recordRound(p.tracker, answers, s, methods, u.targets.length, now());
    p.tracker = r.tracker;
    if (r.transition) await transition(p, r.transition);
  }

  /** The uplink unbound traffic of a family now takes: the first of the band. */
  function firstOfBand(family: 4 | 6): string {
    const eff = demoted();
    const items = [...probed.values()].filter((p) => p.uplink.family === family).map((p) => ({
      ifname: p.uplink.ifname, address: parseIp(p.uplink.address).value, table: p.uplink.table, down: eff.has(p.uplink.key),
    }));
    const ranks = rankTables(currentConfig().interfacePriority, items);
    const first = items.find((i) => ranks.get(i.table) === 0);
    return first ? first.ifname : 'nothing';
  }

  /**
   * The down uplinks the band ranks last: those of a family in which some
   * uplink is up. Without one (every judged uplink down, the rest unknown)
   * nothing proves the targets reachable at all (filtered, or the host is
   * offline), so the plain priority order stays.
   */
  function demoted(): Set<string> {
    const out = new Set<string>();
    for (const f of [4, 6] as const) {
      const fam = [...probed.values()].filter((x) => x.uplink.family === f);
      if (!fam.some((x) => x.tracker.health === 'up')) continue;
      for (const x of fam) if (down.has(x.uplink.key)) out.add(x.uplink.key);
    }
    return out;
  }

  async function transition(p: Probed, t: Transition) {
    const u = p.uplink;
    p.why = t.evidence;
    const current = p.tracker;
    p.tracker = { ...current, health: t.from }; // what was demoted before this round
    const before = demoted();
    p.tracker = current;
    if (t.to === 'down') down.add(u.key);
    else down.delete(u.key);
    const after = demoted();
    const moved = before.size !== after.size || [...after].some((k) => !before.has(k));
    const fam = [...probed.values()].filter((x) => x.uplink.family === u.family);
    const noneUp = !fam.some((x) => x.tracker.health === 'up');
    const effect = noneUp && down.has(u.key)
      ? '; no uplink answers its probes: plain priority order stays'
      : moved ? `; unbound traffic now via ${firstOfBand(u.family)}` : '';
    // Info: a health change is the network's doing, not a fault of ours (doctor explains a down one).
    log.info(`${u.ifname} ${u.address}: ${t.evidence}${effect}`, { iface: u.ifname, address: u.address, health: t.to });
    if (t.to === 'up' || t.to === 'down') options.emit?.({ type: `health-${t.to}`, iface: u.ifname, family: u.family, address: u.address, table: u.table, reason: t.evidence });
    writeView();
    if (!moved) return;
    try {
      await options.handle({ kind: 'rerank', source: 'health', family: u.family, ifname: u.ifname }, { config: currentConfig(), log, dryRun: false, allocator: options.allocator.local });
    } catch (err) {
      log.error(`unbound band not re-ranked after a health change: ${(err as Error).message}`, { iface: u.ifname });
    }
    // Flows masqueraded out of an uplink unbound traffic has just left: they reconnect through the new one.
    for (const x of fam) if (after.has(x.uplink.key) && !before.has(x.uplink.key)) await flush(x.uplink);
  }

  let conntrackMissingSaid = false;
  async function flush(d: Uplink) {
    const f = await flushMasqueraded(d.family, parseIp(d.address, d.family), runConntrack);
    if (!f.error) log.info(`${f.deleted} masqueraded flows of the failed uplink flushed from conntrack`, { iface: d.ifname, address: d.address });
    else if (/ENOENT/.test(f.error)) {
      if (!conntrackMissingSaid) log.warn('conntrack (conntrack-tools) is not installed: flows masqueraded out of a failed uplink are not flushed and recover only when their applications reconnect');
      conntrackMissingSaid = true;
    } else if (!/0 flow entries/.test(f.error)) log.warn('conntrack flush failed', { iface: d.ifname, error: f.error });
  }

  async function loop(p: Probed) {
    while (!closed && !p.gone) {
      const started = now();
      try {
        await round(p);
      } catch (err) {
        log.warn(`health probe round failed: ${(err as Error).message}`, { iface: p.uplink.ifname });
      }
      if (closed || p.gone) return;
      await sleep(p, Math.max(0, p.uplink.settings.intervalMs - (now() - started)));
    }
  }

  function viewOf(p: Probed): UplinkHealth {
    const { uplink: u, tracker: t } = p;
    const off = !u.settings.check || !u.targets.length;
    const loss = lossOf(t, now());
    return {
      ifname: u.ifname, address: u.address, family: u.family, table: u.table,
      health: off ? 'off' : t.health, since: Math.floor(t.since / 1000),
      ...(t.lastRttMs !== undefined ? { lastRttMs: Math.round(t.lastRttMs * 10) / 10 } : {}),
      ...(loss !== undefined ? { loss: Math.round(loss * 1000) / 1000 } : {}),
      answering: t.answering, targets: u.targets,
      ...(off ? { why: u.settings.check ? `no health_targets of IPv${u.family}` : 'health_check = no for this interface' } : p.why ? { why: p.why } : {}),
    };
  }

  function writeView() {
    try {
      writeHealthView(config.runDir, { version: 1, pid: process.pid, updated: Math.floor(now() / 1000), uplinks: [...probed.values()].map(viewOf) });
    } catch (err) {
      log.warn('could not write the health view', { error: (err as Error).message });
    }
  }

  function learnedServers(): Map<string, string[]> {
    try {
      const text = readFileIfExists(currentConfig().dnsmasqServersFile);
      if (!text) return new Map();
      return new Map([...parseServersFile(text).model].map(([ifname, list]) => [ifname, list.map((a) => a.text)]));
    } catch {
      return new Map();
    }
  }

  async function refresh() {
    const state = await readState({ families: [4, 6], runDir: config.runDir, ip: options.ip });
    const seen = new Set<string>();
    for (const u of uplinksOf(state, currentConfig(), currentConfig().health, learnedServers())) {
      seen.add(u.key);
      const had = probed.get(u.key);
      if (had) {
        had.uplink = u;
        continue;
      }
      const p: Probed = { uplink: u, tracker: initialTracker(now()), gone: false };
      probed.set(u.key, p);
      if (u.settings.check && u.targets.length) {
        const running = loop(p).finally(() => loops.delete(running));
        loops.add(running);
      }
    }
    for (const [key, p] of probed) {
      if (seen.has(key)) continue;
      p.gone = true;
      p.wake?.();
      probed.delete(key);
      down.delete(key); // its band rule went with its address
    }
    writeView();
  }

  let refreshTimer: NodeJS.Timeout | undefined;
  const tick = async () => {
    try {
      await refresh();
    } catch (err) {
      log.warn(`health: could not read the managed addresses: ${(err as Error).message}`);
    }
    if (!closed) refreshTimer = setTimeout(() => void tick(), REFRESH_MS);
  };
  void tick();
  log.debug('health probes started', { interval_ms: config.health.intervalMs, down: config.health.down, up: config.health.up });

  return {
    name: 'health',
    downKeys: demoted,
    async close() {
      closed = true;
      clearTimeout(refreshTimer);
      for (const p of probed.values()) p.wake?.();
      await Promise.allSettled([...loops]);
      rmSync(healthViewPath(config.runDir), { force: true }); // no daemon, no health: status says so rather than show the last one
    },
  };
}
