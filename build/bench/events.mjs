#!/usr/bin/env node
// Events benchmark (issue 15), printed as one JSON object: the whole
// daemon's RSS over EVENTS emitted events (100,000) with a slow event
// script (it sleeps SCRIPT_S per event, so the queue stays full and drops
// its oldest) and metrics_textfile on.
// The events are real, and the fastest the daemon makes: UPLINKS uplinks
// probed every 100 ms (the shortest health_interval_ms) with health_down =
// health_up = 1, and every second probe of each dropped on its way (nft
// numgen), so every round is a health-down or health-up, each re-ranking
// the band through the daemon's queue (the watcher's passes and the
// uplink-changed events follow). The probe is a TCP connect to a closed
// port (refused counts as an answer): no helper process, no server.
// The count is the daemon's own: the sum of events_total in its metrics
// file. RSS is sampled every SAMPLE_S: start, peak, end, peak per tenth.
// Namespaces: the host with UPLINKS veths (eth0…, addresses through the
// ifupdown hook), their peers in a "wan" holding the target; removed at the end.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exe, round, rssMiB } from './lib.mjs';

const EVENTS = Number(process.env.MHR_BENCH_EVENTS ?? 100_000);
const UPLINKS = Number(process.env.MHR_BENCH_EVENTS_UPLINKS ?? 12);
const SCRIPT_S = process.env.MHR_BENCH_EVENTS_SCRIPT_S ?? '0.1';
const MAX_S = Number(process.env.MHR_BENCH_EVENTS_MAX_S ?? 1500);
const SAMPLE_S = 5;
const TARGET = '192.0.2.53';
const host = `mhr-bench-events-${process.pid}`;
const wan = `${host}-w`;
const dir = mkdtempSync(path.join(tmpdir(), 'mhr-bench-events-'));
const conf = path.join(dir, 'c.conf');
const metrics = `${dir}/run/metrics.prom`;
const env = { PATH: process.env.PATH, MULTIHOMED_ROUTING_CONFIG: conf };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const inNs = (ns, argv, input) => execFileSync('ip', ['netns', 'exec', ns, ...argv], { input, env, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
let daemon;
function cleanup() {
  daemon?.kill('SIGKILL');
  for (const ns of [host, wan]) try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }); } catch {}
  rmSync(dir, { recursive: true, force: true });
}
process.on('SIGINT', () => { cleanup(); process.exit(130); });

/** The daemon's own count: the sum of multihomed_routing_events_total (0 before its first write). */
function emitted() {
  let text = '';
  try { text = readFileSync(metrics, 'utf8'); } catch { return 0; }
  return [...text.matchAll(/^multihomed_routing_events_total\{[^}]*\} (\d+)$/gm)].reduce((s, m) => s + Number(m[1]), 0);
}

try {
  for (const ns of [host, wan]) execFileSync('ip', ['netns', 'add', ns]), inNs(ns, ['ip', 'link', 'set', 'lo', 'up']);
  inNs(wan, ['ip', 'addr', 'add', `${TARGET}/32`, 'dev', 'lo']);
  const drops = [];
  for (let i = 0; i < UPLINKS; i++) {
    execFileSync('ip', ['link', 'add', `eth${i}`, 'netns', host, 'type', 'veth', 'peer', 'name', `p${i}`, 'netns', wan]);
    inNs(wan, ['ip', 'addr', 'add', `10.65.${i}.1/24`, 'dev', `p${i}`]);
    inNs(wan, ['ip', 'link', 'set', `p${i}`, 'up']);
    inNs(host, ['ip', 'addr', 'add', `10.65.${i}.2/24`, 'dev', `eth${i}`]);
    inNs(host, ['ip', 'link', 'set', `eth${i}`, 'up']);
    drops.push(`  iifname "p${i}" numgen inc mod 2 == 0 drop`);
  }
  inNs(wan, ['nft', '-f', '-'], `table inet flap {\n chain in {\n  type filter hook prerouting priority -300;\n${drops.join('\n')}\n }\n}\n`);
  mkdirSync(`${dir}/events.d`);
  writeFileSync(`${dir}/events.d/50-slow`, `#!/bin/sh\ntouch ${dir}/script-ran\nsleep ${SCRIPT_S}\n`);
  chmodSync(`${dir}/events.d/50-slow`, 0o755);
  writeFileSync(conf, `syslog = no\nsocket_path = ${dir}/alloc/a.sock\nstore_path = ${dir}/leases.json\nrun_dir = ${dir}/run\ndnsmasq_servers_file = ${dir}/run/servers.conf\ndnsmasq_pid_file = ${dir}/run/none.pid\n` +
    `events_dir = ${dir}/events.d\nmetrics_textfile = ${metrics}\nhealth_targets = ${TARGET}\nhealth_methods = tcp:9\nhealth_interval_ms = 100\nhealth_timeout_ms = 100\nhealth_down = 1\nhealth_up = 1\n`);
  daemon = spawn('ip', ['netns', 'exec', host, exe, 'daemon'], { env, stdio: 'ignore' });
  for (let i = 0; i < 200 && !existsSync(`${dir}/alloc/a.sock`); i++) await sleep(25);
  for (let i = 0; i < UPLINKS; i++) {
    execFileSync('ip', ['netns', 'exec', host, exe, 'ifupdown'], { env: { ...env, IFACE: `eth${i}`, ADDRFAM: 'inet', METHOD: 'static', MODE: 'start', PHASE: 'post-up', IF_ADDRESS: `10.65.${i}.2/24`, IF_GATEWAY: `10.65.${i}.1` }, stdio: 'ignore' });
  }
  const t0 = Date.now();
  const samples = [];
  do {
    samples.push({ events: emitted(), rss: rssMiB(daemon.pid) });
    await sleep(SAMPLE_S * 1000);
  } while (samples.at(-1).events < EVENTS && Date.now() - t0 < MAX_S * 1000);
  samples.push({ events: emitted(), rss: rssMiB(daemon.pid) });
  const seconds = (Date.now() - t0) / 1000;
  const byType = Object.fromEntries([...readFileSync(metrics, 'utf8').matchAll(/^multihomed_routing_(events_total\{type|event_script_runs_total\{script="[^"]*",outcome)="([^"]+)"\} (\d+)$/gm)].map((m) => [`${m[1].startsWith('events') ? '' : 'script '}${m[2]}`, Number(m[3])]));
  const rss = samples.map((x) => x.rss);
  const tenth = Math.ceil(rss.length / 10);
  console.log(JSON.stringify({
    events: samples.at(-1).events, seconds: round(seconds), events_per_s: round(samples.at(-1).events / seconds), uplinks: UPLINKS, script_sleep_s: Number(SCRIPT_S),
    counts: byType,
    rss_mib: { start: round(rss[0]), peak: round(Math.max(...rss)), end: round(rss.at(-1)) },
    rss_mib_peak_per_tenth: Array.from({ length: Math.ceil(rss.length / tenth) }, (_, k) => round(Math.max(...rss.slice(k * tenth, (k + 1) * tenth)))),
  }));
} finally {
  if (daemon && daemon.exitCode === null) {
    const exited = new Promise((r) => daemon.once('exit', r));
    daemon.kill('SIGTERM'); // it stops its helpers (ip, the scripts' process groups)
    await Promise.race([exited, sleep(10_000)]);
  }
  cleanup();
}
