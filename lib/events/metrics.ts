// The Prometheus text format of the daemon's metrics (node_exporter's
// textfile collector reads it): names multihomed_routing_*, one HELP and
// TYPE per family, counters _total, times _seconds. Pure: the numbers in,
// the file's text out (metrics-file.ts gathers and writes them).

import type { HealthState, UplinkHealth } from '../health/view.js';
import type { Managed } from './observe.js';

/** Upper bounds of the hook duration histogram, seconds. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface Histogram {
  /** Counts per bucket of DURATION_BUCKETS (not cumulative), then +Inf. */
  counts: number[];
  sum: number;
}

export interface MetricsInput {
  uplinks: Managed[];
  /** Managed keys (observe.ts) of the uplinks carrying unbound traffic. */
  carrying: ReadonlySet<string>;
  health: UplinkHealth[];
  /** `iface|family` → times unbound traffic left that uplink for another since the daemon started. */
  failovers: ReadonlyMap<string, number>;
  /** `iface|family` → unix ms of the uplink's last event. */
  lastChange: ReadonlyMap<string, number>;
  leases: { inUse: number; free: number };
  degraded: number;
  /** `hook|outcome` → jobs the daemon ran. */
  hookRuns: ReadonlyMap<string, number>;
  hookDurations: ReadonlyMap<string, Histogram>;
  /** `script|outcome` → event script runs. */
  scriptRuns: ReadonlyMap<string, number>;
  /** event type → events emitted. */
  events: ReadonlyMap<string, number>;
}

export function emptyHistogram(): Histogram {
  return { counts: DURATION_BUCKETS.map(() => 0).concat(0), sum: 0 };
}

export function observe(h: Histogram, seconds: number): void {
  const i = DURATION_BUCKETS.findIndex((b) => seconds <= b);
  h.counts[i < 0 ? DURATION_BUCKETS.length : i]!++;
  h.sum += seconds;
}

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const labels = (l: Record<string, string | number>) => {
  const s = Object.entries(l).map(([k, v]) => `${k}="${esc(String(v))}"`).join(',');
  return s ? `{${s}}` : '';
};
const num = (n: number) => (Number.isInteger(n) ? String(n) : String(Math.round(n * 1e6) / 1e6));

const HEALTH_STATES: HealthState[] = ['up', 'down', 'unknown', 'off'];

export function renderMetrics(m: MetricsInput): string {
  const out: string[] = [];
  const family = (name: string, type: 'gauge' | 'counter' | 'histogram', help: string, samples: [Record<string, string | number>, number, string?][]) => {
    const full = `multihomed_routing_${name}`;
    out.push(`# HELP ${full} ${help}`, `# TYPE ${full} ${type}`);
    for (const [l, v, suffix] of samples) out.push(`${full}${suffix ?? ''}${labels(l)} ${num(v)}`);
  };
  const id = (u: { ifname: string; family: 4 | 6 }) => ({ iface: u.ifname, family: String(u.family) });
  const split = (key: string) => key.split('|') as [string, string];

  family('uplink_up', 'gauge', 'A managed address (an uplink): 1 while its link is up with carrier, 0 while not.',
    m.uplinks.map((u) => [{ ...id(u), address: u.address, table: u.table }, u.up ? 1 : 0]));
  family('uplink_unbound', 'gauge', '1 for the uplink carrying unbound (and forwarded) traffic of its family.',
    m.uplinks.map((u) => [id(u), m.carrying.has(`${u.family}|${u.ifname}|${u.address}`) ? 1 : 0]));
  family('uplink_rank', 'gauge', 'Place of the uplink in its family\'s unbound band (0 first).',
    m.uplinks.filter((u) => u.rank !== undefined).map((u) => [id(u), u.rank!]));
  family('uplink_health', 'gauge', 'Health of the uplink\'s upstream by its probes: 1 for the current state.',
    m.health.flatMap((h) => HEALTH_STATES.map((s): [Record<string, string>, number] => [{ ...id(h), state: s }, h.health === s ? 1 : 0])));
  family('uplink_probe_rtt_seconds', 'gauge', 'Round-trip time of the uplink\'s latest answered probe.',
    m.health.filter((h) => h.lastRttMs !== undefined).map((h) => [id(h), h.lastRttMs! / 1000]));
  family('uplink_probe_loss_ratio', 'gauge', 'Share of the uplink\'s probe packets lost over the last minute (0-1).',
    m.health.filter((h) => h.loss !== undefined).map((h) => [id(h), h.loss!]));
  family('uplink_failovers_total', 'counter', 'Times unbound traffic left this uplink for another (carrier, health, removal), since the daemon started.',
    [...m.failovers].map(([k, v]) => { const [iface, fam] = split(k); return [{ iface, family: fam }, v]; }));
  family('uplink_last_change_timestamp_seconds', 'gauge', 'Unix time of the uplink\'s last event (time() minus it: seconds since).',
    [...m.lastChange].map(([k, v]) => { const [iface, fam] = split(k); return [{ iface, family: fam }, v / 1000]; }));
  family('leases', 'gauge', 'Routing tables of table_range: in use (leased) and free.',
    [[{ state: 'in_use' }, m.leases.inUse], [{ state: 'free' }, m.leases.free]]);
  family('degraded_addresses', 'gauge', 'Managed addresses without a table (no lease free): they use main\'s routes.', [[{}, m.degraded]]);
  family('hook_runs_total', 'counter', 'Hooks\' jobs the daemon ran, by hook and outcome.',
    [...m.hookRuns].map(([k, v]) => { const [hook, outcome] = split(k); return [{ hook, outcome }, v]; }));
  const hist: [Record<string, string | number>, number, string][] = [];
  for (const [hook, h] of m.hookDurations) {
    let acc = 0;
    DURATION_BUCKETS.forEach((b, i) => { acc += h.counts[i]!; hist.push([{ hook, le: String(b) }, acc, '_bucket']); });
    acc += h.counts[DURATION_BUCKETS.length]!;
    hist.push([{ hook, le: '+Inf' }, acc, '_bucket'], [{ hook }, h.sum, '_sum'], [{ hook }, acc, '_count']);
  }
  family('hook_duration_seconds', 'histogram', 'Time the daemon took to run a hook\'s job.', hist);
  family('event_script_runs_total', 'counter', 'Event script runs, by script and outcome (ok, failed, timeout).',
    [...m.scriptRuns].map(([k, v]) => { const [script, outcome] = split(k); return [{ script, outcome }, v]; }));
  family('events_total', 'counter', 'Events emitted, by type.', [...m.events].map(([type, v]) => [{ type }, v]));
  return `${out.join('\n')}\n`;
}
