import { describe, expect, test } from 'vitest';
import { emptyHistogram, observe, renderMetrics, type MetricsInput } from '../../../lib/events/metrics.js';
import { parseConfig } from '../../../lib/config/parse.js';

const base = (): MetricsInput => ({
  uplinks: [{ family: 4, ifname: 'eth0', address: '10.0.0.2', table: 10000, rank: 0, up: true }, { family: 4, ifname: 'wwan0', address: '10.1.0.2', table: 10001, rank: 1, up: false }],
  carrying: new Set(['4|eth0|10.0.0.2']),
  health: [{ ifname: 'eth0', address: '10.0.0.2', family: 4, table: 10000, health: 'up', since: 0, lastRttMs: 12.5, loss: 0.25, answering: [], targets: [] }],
  failovers: new Map([['wwan0|4', 3]]), lastChange: new Map([['eth0|4', 1_700_000_000_500]]),
  leases: { inUse: 2, free: 998 }, degraded: 1,
  hookRuns: new Map([['ifupdown|ok', 2]]), hookDurations: new Map(), scriptRuns: new Map([['10-log|timeout', 1]]), events: new Map([['uplink-changed', 4]]),
});

describe('Prometheus text', () => {
  test('every family has HELP and TYPE once, before its samples; values as the operator reads them', () => {
    const h = emptyHistogram();
    observe(h, 0.004);
    observe(h, 0.3);
    observe(h, 60);
    const text = renderMetrics({ ...base(), hookDurations: new Map([['ifupdown', h]]) });
    const lines = text.trim().split('\n');
    const types = lines.filter((l) => l.startsWith('# TYPE')).map((l) => l.split(' ')[2]);
    expect(new Set(types).size).toBe(types.length);
    for (const l of lines.filter((x) => !x.startsWith('#'))) {
      const name = l.split(/[{ ]/)[0]!;
      expect(types.some((t) => name === t || name.startsWith(`${t}_`)), l).toBe(true);
      expect(name).toMatch(/^multihomed_routing_/);
    }
    expect(text).toContain('multihomed_routing_uplink_up{iface="wwan0",family="4",address="10.1.0.2",table="10001"} 0\n');
    expect(text).toContain('multihomed_routing_uplink_unbound{iface="eth0",family="4"} 1\n');
    expect(text).toContain('multihomed_routing_uplink_health{iface="eth0",family="4",state="up"} 1\n');
    expect(text).toContain('multihomed_routing_uplink_health{iface="eth0",family="4",state="down"} 0\n');
    expect(text).toContain('multihomed_routing_uplink_probe_rtt_seconds{iface="eth0",family="4"} 0.0125\n');
    expect(text).toContain('multihomed_routing_uplink_failovers_total{iface="wwan0",family="4"} 3\n');
    expect(text).toContain('multihomed_routing_uplink_last_change_timestamp_seconds{iface="eth0",family="4"} 1700000000.5\n');
    expect(text).toContain('multihomed_routing_leases{state="free"} 998\n');
    expect(text).toContain('multihomed_routing_hook_duration_seconds_bucket{hook="ifupdown",le="0.005"} 1\n');
    expect(text).toContain('multihomed_routing_hook_duration_seconds_bucket{hook="ifupdown",le="0.5"} 2\n');
    expect(text).toContain('multihomed_routing_hook_duration_seconds_bucket{hook="ifupdown",le="+Inf"} 3\n');
    expect(text).toContain('multihomed_routing_hook_duration_seconds_count{hook="ifupdown"} 3\n');
    expect(text).toContain('# TYPE multihomed_routing_hook_runs_total counter\n');
  });
  test('label values are escaped', () => {
    const text = renderMetrics({ ...base(), scriptRuns: new Map([['a"b\\c|ok', 1]]) });
    expect(text).toContain('multihomed_routing_event_script_runs_total{script="a\\"b\\\\c",outcome="ok"} 1\n');
  });
});

describe('config', () => {
  test('metrics_textfile: off by default, a .prom path, anything else refused', () => {
    expect(parseConfig('').metricsTextfile).toBe('');
    expect(parseConfig('metrics_textfile = /var/lib/prometheus/node-exporter/mhr.prom\n').metricsTextfile).toBe('/var/lib/prometheus/node-exporter/mhr.prom');
    expect(() => parseConfig('metrics_textfile = /tmp/mhr.txt\n')).toThrow(/ending in \.prom/);
    expect(() => parseConfig('event_script_timeout_ms = 0\n')).toThrow(/event_script_timeout_ms/);
    expect(parseConfig('').eventsDir).toBe('/etc/multihomed-routing/events.d');
  });
});
