// Event scripts with the single executable in a test bed: two uplinks
// configured by their ifupdown hook, one plug pulled and put back (carrier),
// one upstream dead and back (health probes), an address added by hand
// (adopted), a device deleted. A recording script
// sees exactly that sequence with the right MHR_* variables; a script that
// hangs and one that exits 1 are logged and killed, and neither delays the
// routing (the hook returns with its rules in place) nor the next script.
// `events --follow` sees the same live; a user other than root is refused.
// The real prometheus-node-exporter, in the bed's host namespace with its
// textfile collector on our metrics_textfile, is scraped over HTTP after
// each step: the uplinks, failovers, leases, hooks and scripts it serves;
// and after each step Prometheus' own linter, `promtool check metrics`
// (Debian's prometheus package), passes the file without a complaint.

import { readFileSync, existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestBed, waitFor, type TestBed } from '../helpers/testbed.js';
import { cli, EXE, setUpRoutingHost, type RoutingHost } from './routing-host.js';
import type { SpawnedProcess } from '../helpers/testbed.js';

let bed: TestBed;
let rh: RoutingHost;
let follower: SpawnedProcess | undefined;
let exporter: SpawnedProcess | undefined;
const EXPORTER = 'prometheus-node-exporter';
const LISTEN = '127.0.0.1:9117';

interface Sample { name: string; labels: Record<string, string>; value: number }
/** node_exporter's page, fetched over HTTP inside the bed's host namespace. */
async function scrape(): Promise<Sample[]> {
  const js = `fetch('http://${LISTEN}/metrics').then((r) => r.text()).then((t) => process.stdout.write(t), (e) => { console.error(e.message); process.exit(1); })`;
  const r = await bed.host.exec([process.execPath, '-e', js]);
  return r.stdout.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => {
    const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(l)!;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, x[2]!]));
    return { name: m[1]!, labels, value: Number(m[3]) };
  });
}
/** The value of the one sample of `name` with these labels (undefined when absent). */
const valueOf = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.find((s) => s.name === `multihomed_routing_${name}` && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
const METRICS = '/run/metrics/multihomed-routing.prom';
const PROMTOOL = '/usr/bin/promtool';
// CI installs it (.ci/run): there a missing promtool fails every step; a machine without it skips the lint, saying so.
const lintable = existsSync(PROMTOOL) || !!process.env.CI;
if (!lintable) console.warn(`${PROMTOOL} is absent: the metrics file is not linted (apt-get install --no-install-recommends prometheus)`);
/** `promtool check metrics < file`: exit 0, nothing on stdout or stderr (a lint problem is a line there). */
async function lint(): Promise<void> {
  if (!lintable) return;
  const r = await bed.host.exec(['sh', '-c', `${PROMTOOL} check metrics < ${METRICS}`], { reject: false });
  expect({ exitCode: r.exitCode, output: `${r.stdout}${r.stderr}` }).toEqual({ exitCode: 0, output: '' });
}
/** Waits until every expectation holds in one scrape (the file is rewritten within a second of a change), then lints the file. */
async function metricsMatch(want: [string, Record<string, string>, number | undefined][]): Promise<Sample[]> {
  let last: Sample[] = [];
  const ok = await waitFor('metrics', async () => {
    last = await scrape();
    return want.every(([n, l, v]) => valueOf(last, n, l) === v) || undefined;
  }, 10_000, 200).catch(() => undefined);
  if (!ok) expect(want.map(([n, l]) => [n, l, valueOf(last, n, l)])).toEqual(want);
  expect(valueOf(last.map((s) => ({ ...s, name: `multihomed_routing_${s.name}` })), 'node_textfile_scrape_error')).toBe(0); // our file parsed
  await lint();
  return last;
}
const TIMEOUT_MS = 1000;
const HANG = 'sleep 6151'; // unique: the test finds it by argv

const RECORD = '#!/bin/sh\necho "$MHR_EVENT|$MHR_IFACE|$MHR_FAMILY|$MHR_ADDRESS|$MHR_TABLE|$MHR_RANK|$MHR_REASON|$MHR_TIME" >> /run/events-record.log\n';
const AFTER = '#!/bin/sh\necho "$MHR_EVENT $(date +%s%3N)" >> /run/events-after.log\n';

const lines = (file: string) => (existsSync(bed.host.path(file)) ? readFileSync(bed.host.path(file), 'utf8').trim().split('\n').filter(Boolean) : []);
/** Recorded events as `type iface family address table rank` (table as T0/T1… by first appearance). */
const recorded = () => lines('/run/events-record.log').map((l) => l.split('|'));
const ours = async () => (await bed.host.rules(4)).filter((r) => r.protocol === '201');
const tableOf = async (address: string) => (await ours()).find((r) => r.src === address)?.table;
const daemonLog = () => readFileSync(rh.daemon!.logFile, 'utf8');

const compact = ([type, iface, family, address, table, rank]: string[]) => [type, iface, family, address, table ? 'T' : '', rank].filter(Boolean).join(' ');
/** Recorded events other than health-up/down (the probes judge uplinks in between the others, as they please). */
const routing = () => recorded().filter(([type]) => !type!.startsWith('health-'));
/**
 * Waits until the record holds `n` events other than health-up/down, then gives those as compact strings
 * (the probes judge each new uplink up a few seconds after it came, in between the others).
 */
async function events(n: number): Promise<string[]> {
  await waitFor(`${n} recorded events`, () => (routing().length >= n ? true : undefined), 20_000, 50);
  return routing().map(compact);
}
/** Waits for an event after the `from`th recorded one, returning its compact form and the events since. */
async function eventAfter(from: number, want: string): Promise<string[]> {
  await waitFor(want, () => (recorded().slice(from).map(compact).includes(want) ? true : undefined), 30_000, 100);
  return recorded().slice(from).map(compact);
}

beforeAll(async () => {
  bed = await createTestBed({
    name: 'events',
    routers: [
      { hostIfname: 'eth0', ipv4: { subnet: '10.81.0.0/24', address: '10.81.0.1' } },
      { hostIfname: 'eth1', ipv4: { subnet: '10.82.0.0/24', address: '10.82.0.1' } },
      { hostIfname: 'eth2', ipv4: { subnet: '10.83.0.0/24', address: '10.83.0.1' } },
    ],
  });
  await bed.host.writeEtc('multihomed-routing/events.d/10-record', RECORD, 0o755);
  await bed.host.writeEtc('multihomed-routing/events.d/20-hang', `#!/bin/sh\n${HANG}\n`, 0o755);
  await bed.host.writeEtc('multihomed-routing/events.d/30-fail', '#!/bin/sh\necho nope >&2\nexit 1\n', 0o755);
  await bed.host.writeEtc('multihomed-routing/events.d/40-after', AFTER, 0o755);
  // Skipped by run-parts conventions: a dotfile, a name with a dot, one without the executable bit.
  await bed.host.writeEtc('multihomed-routing/events.d/.hidden', RECORD, 0o755);
  await bed.host.writeEtc('multihomed-routing/events.d/50-record.disabled', RECORD, 0o755);
  await bed.host.writeEtc('multihomed-routing/events.d/60-notexec', RECORD, 0o644);
  await bed.host.exec(['mkdir', '-p', '/run/metrics']);
  rh = await setUpRoutingHost(bed, '', [
    'interface_priority = eth0 eth1 eth2 *', `event_script_timeout_ms = ${TIMEOUT_MS}`, `metrics_textfile = ${METRICS}`,
    'health_check = yes', 'health_targets = 1.1.1.1 8.8.8.8', 'health_methods = icmp', '',
  ].join('\n'));
  exporter = bed.host.spawn([EXPORTER, '--collector.disable-defaults', '--collector.textfile', '--collector.textfile.directory=/run/metrics', `--web.listen-address=${LISTEN}`], { logName: 'node-exporter' });
  await waitFor('node_exporter listening', async () => (await scrape().catch(() => [])).length > 0 || undefined, 15_000, 200);
  // The stream, live from the start: it must see what the scripts see.
  follower = bed.host.spawn([EXE, 'events', '--json', '--follow'], { logName: 'follower' });
}, 180_000);

afterAll(async () => {
  follower?.kill();
  exporter?.kill();
  await rh?.stopDaemon().catch(() => {});
  bed?.destroy();
});

const up = async (i: number) => {
  const dev = `eth${i}`;
  await bed.host.exec(['ip', 'link', 'set', dev, 'up']);
  await bed.host.exec(['ip', 'addr', 'add', `10.8${i + 1}.0.2/24`, 'dev', dev]);
  const t0 = Date.now();
  const r = await rh.hook({ IFACE: dev, ADDRFAM: 'inet', METHOD: 'static', MODE: 'start', PHASE: 'post-up', IF_ADDRESS: `10.8${i + 1}.0.2/24`, IF_GATEWAY: `10.8${i + 1}.0.1` });
  const ms = Date.now() - t0;
  expect(r.exitCode, r.stderr).toBe(0);
  // The routing is in place when the hook returns, whatever the scripts do.
  expect(await tableOf(`10.8${i + 1}.0.2`)).toBeDefined();
  return ms;
};

describe('event scripts', () => {
  test.skipIf(!lintable)('promtool is there to lint the metrics file after each step', async () => {
    expect(existsSync(PROMTOOL), `${PROMTOOL} missing: CI installs the prometheus package (.ci/run)`).toBe(true);
    await waitFor('the metrics file', () => existsSync(bed.host.path(METRICS)) || undefined, 10_000, 100);
    await lint();
  });

  test('daemon started, two uplinks configured: the scripts see them in order, with the variables', async () => {
    expect(await events(1)).toEqual(['daemon-started']);
    const ms0 = await up(0);
    expect(await events(3)).toEqual(['daemon-started', 'address-configured eth0 4 10.81.0.2 T 0', 'uplink-changed eth0 4 10.81.0.2 T 0']);
    const ms1 = await up(1);
    expect(await events(4)).toEqual(['daemon-started', 'address-configured eth0 4 10.81.0.2 T 0', 'uplink-changed eth0 4 10.81.0.2 T 0', 'address-configured eth1 4 10.82.0.2 T 1']);
    const rec = routing();
    expect(rec[1]![4]).toBe(await tableOf('10.81.0.2'));
    expect(rec[3]![4]).toBe(await tableOf('10.82.0.2'));
    expect(rec[2]![6]).toBe('unbound IPv4 traffic now via eth0');
    expect(new Date(rec[1]![7]!).getTime()).toBeGreaterThan(Date.now() - 60_000);
    console.log(`hooks with hanging event scripts: ${ms0} ms, ${ms1} ms`);
    const m = await metricsMatch([
      ['uplink_up', { iface: 'eth0', address: '10.81.0.2' }, 1], ['uplink_up', { iface: 'eth1', address: '10.82.0.2' }, 1],
      ['uplink_unbound', { iface: 'eth0', family: '4' }, 1], ['uplink_unbound', { iface: 'eth1', family: '4' }, 0],
      ['uplink_rank', { iface: 'eth1' }, 1], ['leases', { state: 'in_use' }, 2], ['leases', { state: 'free' }, 998],
      ['degraded_addresses', {}, 0], ['hook_runs_total', { hook: 'ifupdown', outcome: 'ok' }, 2],
      ['hook_duration_seconds_count', { hook: 'ifupdown' }, 2], ['hook_duration_seconds_bucket', { hook: 'ifupdown', le: '+Inf' }, 2],
      ['events_total', { type: 'address-configured' }, 2],
    ]);
    expect(valueOf(m, 'uplink_last_change_timestamp_seconds', { iface: 'eth1' })).toBeGreaterThan(Date.now() / 1000 - 60);
  });

  test('a plug pulled and put back: unbound traffic fails over to eth1 and back', async () => {
    await bed.routers[0]!.setLan(false);
    expect((await events(5)).slice(4)).toEqual(['uplink-changed eth1 4 10.82.0.2 T 1']);
    expect(routing()[4]![6]).toBe('unbound IPv4 traffic now via eth1 (was eth0)');
    await metricsMatch([['uplink_up', { iface: 'eth0' }, 0], ['uplink_unbound', { iface: 'eth1' }, 1], ['uplink_unbound', { iface: 'eth0' }, 0], ['uplink_failovers_total', { iface: 'eth0' }, 1]]);
    await bed.routers[0]!.setLan(true);
    expect((await events(6)).slice(5)).toEqual(['uplink-changed eth0 4 10.81.0.2 T 0']);
    await metricsMatch([['uplink_up', { iface: 'eth0' }, 1], ['uplink_unbound', { iface: 'eth0' }, 1], ['uplink_failovers_total', { iface: 'eth0' }, 1], ['uplink_failovers_total', { iface: 'eth1' }, 1]]);
  });

  test('an upstream dies and comes back: health-down, failover; health-up, failback (the probes)', async () => {
    const from = recorded().length;
    await eventAfter(0, 'health-up eth0 4 10.81.0.2 T');
    await eventAfter(0, 'health-up eth1 4 10.82.0.2 T');
    const setWan = (up: boolean) => bed.internet.exec(['ip', 'link', 'set', bed.routers[0]!.internetIfname, up ? 'up' : 'down']);
    await setWan(false);
    try {
      let since = await eventAfter(from, 'uplink-changed eth1 4 10.82.0.2 T 0');
      expect(since.filter((e) => !e.startsWith('health-up'))).toEqual(['health-down eth0 4 10.81.0.2 T', 'uplink-changed eth1 4 10.82.0.2 T 0']);
      expect(recorded().find(([t]) => t === 'health-down')![6]).toMatch(/lost/);
      await metricsMatch([['uplink_health', { iface: 'eth0', state: 'down' }, 1], ['uplink_health', { iface: 'eth1', state: 'up' }, 1], ['uplink_failovers_total', { iface: 'eth0' }, 2]]);
      const mark = recorded().length;
      await setWan(true);
      since = await eventAfter(mark, 'uplink-changed eth0 4 10.81.0.2 T 0');
      expect(since).toEqual(['health-up eth0 4 10.81.0.2 T', 'uplink-changed eth0 4 10.81.0.2 T 0']);
      const m = await metricsMatch([['uplink_health', { iface: 'eth0', state: 'up' }, 1], ['uplink_failovers_total', { iface: 'eth1' }, 2]]);
      expect(valueOf(m, 'uplink_probe_rtt_seconds', { iface: 'eth0' })).toBeGreaterThan(0);
      expect(valueOf(m, 'uplink_probe_loss_ratio', { iface: 'eth0' })).toBeGreaterThan(0);
    } finally {
      await setWan(true);
    }
  });

  test('an address added by hand is adopted; the device deleted removes it', async () => {
    await bed.host.exec(['ip', 'link', 'set', 'eth2', 'up']);
    await bed.host.exec(['ip', 'addr', 'add', '10.83.0.2/24', 'dev', 'eth2']);
    await bed.host.exec(['ip', 'route', 'add', 'default', 'via', '10.83.0.1', 'dev', 'eth2', 'metric', '300']);
    expect((await events(9)).slice(8)).toEqual(['address-adopted eth2 4 10.83.0.2 T 2']);
    await metricsMatch([['uplink_up', { iface: 'eth2' }, 1], ['leases', { state: 'in_use' }, 3], ['events_total', { type: 'address-adopted' }, 1]]);
    await bed.host.exec(['ip', 'link', 'del', 'eth2']);
    expect((await events(10)).slice(9)).toEqual(['address-removed eth2 4 10.83.0.2 T 2']);
    await metricsMatch([['uplink_up', { iface: 'eth2' }, undefined], ['leases', { state: 'in_use' }, 2], ['events_total', { type: 'address-removed' }, 1]]);
  });

  test('the hanging and the failing script were logged and killed; the next script never waited longer than the timeout', async () => {
    // Quiet: every recorded event's scripts done (40-after runs last).
    await waitFor('40-after ran for the last event', () => (lines('/run/events-after.log').length === recorded().length ? true : undefined), 20_000, 50);
    const n = recorded().length;
    const log = daemonLog();
    expect(log.match(/event script killed after 1000 ms/g)?.length).toBe(n);
    expect(log).toMatch(/event script failed.*30-fail.*nope/);
    // No hanging script outlived its timeout (one of an event that came since may be running: younger than that).
    const ps = (await bed.host.exec(['ps', '-eo', 'etimes=,args='])).stdout.split('\n').filter((l) => l.trim().endsWith(HANG));
    expect(ps.map((l) => Number(l.trim().split(' ')[0])).filter((age) => age > 2)).toEqual([]);
    // 40-after ran for every event, after 20-hang's timeout, never more than a second beyond it.
    const after = lines('/run/events-after.log').map((l) => l.split(' '));
    expect(after.map(([type]) => type)).toEqual(recorded().map(([type]) => type));
    const rec = recorded();
    const delays = after.map(([, ms], i) => Number(ms) - new Date(rec[i]![7]!).getTime());
    console.log(`40-after ran ${delays.join(', ')} ms after its event (timeout ${TIMEOUT_MS} ms)`);
    // Events that came while earlier ones' scripts ran wait their turn: one timeout per event before them.
    delays.forEach((d, i) => expect(d).toBeLessThan((i + 1) * (TIMEOUT_MS + 1000)));
    expect(recorded().length).toBe(new Set(lines('/run/events-record.log')).size); // each event once: the dotfile, .disabled and non-executable copies never ran
    // Scripts' runs as the metrics count them (events may still come: the probes judge the adopted uplink meanwhile).
    const m = await metricsMatch([]);
    const ok = valueOf(m, 'event_script_runs_total', { script: '10-record', outcome: 'ok' })!;
    expect(ok).toBeGreaterThanOrEqual(n);
    expect(valueOf(m, 'event_script_runs_total', { script: '20-hang', outcome: 'timeout' })).toBeGreaterThanOrEqual(ok - 1);
    expect(valueOf(m, 'event_script_runs_total', { script: '30-fail', outcome: 'failed' })).toBeGreaterThanOrEqual(ok - 1);
    console.log(`events after the steps: ${recorded().slice(-4).map(compact).join('; ')}`);
  });

  test('events: readable lines of the recent events; a user other than root is refused', async () => {
    const r = await cli(bed.host, ['events']);
    expect(r.exitCode, r.stderr).toBe(0);
    const text = r.stdout.trim().split('\n');
    expect(text.map((l) => l.split(' ')[1])).toEqual(recorded().map(([type]) => type));
    expect(text[1]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z address-configured eth0 IPv4 10\.81\.0\.2 table \d+ rank 0: routed through table \d+$/);
    const nobody = await bed.host.exec(['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', EXE, 'events'], { reject: false });
    expect(nobody.exitCode).toBe(1);
    expect(nobody.stderr).toMatch(/permission denied \(only root may read them/);
    expect(nobody.stdout).toBe('');
  });

  test('daemon stopping reaches the scripts before it exits; the follower saw the same sequence live and ends with the daemon', async () => {
    await rh.stopDaemon();
    expect(recorded().at(-1)![0]).toBe('daemon-stopping');
    expect(await follower!.exited).toBe(0);
    const seen = readFileSync(follower!.logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; iface?: string; address?: string; table?: number; rank?: number });
    expect(seen.map((e) => [e.type, e.iface ?? '', e.address ?? '', e.table ?? '', e.rank ?? ''].join('|'))).toEqual(recorded().map(([type, iface, , address, table, rank]) => [type, iface, address, table, rank].join('|')));
  });
});
