#!/usr/bin/env node
// Upstream health benchmarks (issue 14), printed as one JSON object:
// - traffic: probe packets and bytes per uplink per minute with the default
//   settings, counted at the uplink's router (requests from the host's
//   address, answers from the targets), and the CPU of the daemon and all
//   it starts (its ping processes, its ip helpers) over TRAFFIC_S with 4
//   uplinks probing, scaled to an hour;
// - failover / failback: from router 0's WAN link going down (its LAN and
//   the host's carrier stay up) to `ip route get` answering through eth1,
//   and from the WAN coming back to eth0 again; p50 and max over TRIALS
//   trials, default settings, each trial started at a random point of the
//   probe schedule;
// - churn: the daemon's RSS (sampled every 5 s) over CHURN_ROUNDS probe
//   rounds (100,000) of CHURN_UPLINKS uplinks probing every 100 ms (the
//   shortest health_interval_ms), default methods or CHURN_METHODS (e.g.
//   `icmp`: a ping process per round); the rounds are counted at the
//   routers (a healthy round sends one packet: health_reliability 1).
// Namespaces: a host (eth0… through the ifupdown hook), one NAT router per
// uplink, and a "wan" holding the default IPv4 targets (with a dnsmasq
// answering DNS). All of it is removed at the end.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exe, percentile, round, rssMiB, treeCpuTicks } from './lib.mjs';

const TRIALS = Number(process.env.MHR_BENCH_HEALTH_TRIALS ?? 20);
const TRAFFIC_S = Number(process.env.MHR_BENCH_HEALTH_TRAFFIC_S ?? 60);
const CHURN_ROUNDS = Number(process.env.MHR_BENCH_HEALTH_CHURN_ROUNDS ?? 100_000);
const CHURN_UPLINKS = Number(process.env.MHR_BENCH_HEALTH_CHURN_UPLINKS ?? 12);
const CHURN_MAX_S = Number(process.env.MHR_BENCH_HEALTH_CHURN_MAX_S ?? 1200);
const CHURN_METHODS = process.env.MHR_BENCH_HEALTH_CHURN_METHODS;
const PROBED = 4; // uplinks of the traffic and failover parts
const UPLINKS = Math.max(PROBED, CHURN_UPLINKS);
const base = `mhr-bench-health-${process.pid}`;
const NS = { host: `${base}-h`, wan: `${base}-w`, ...Object.fromEntries(Array.from({ length: UPLINKS }, (_, i) => [`r${i}`, `${base}-r${i}`])) };
const dir = mkdtempSync(path.join(tmpdir(), 'mhr-bench-health-'));
const conf = path.join(dir, 'c.conf');
const TARGETS = ['1.1.1.1', '1.0.0.1', '8.8.8.8', '9.9.9.9', '208.67.222.222']; // health_targets' IPv4 default
const baseConf = `syslog = no\nsocket_path = ${dir}/alloc/a.sock\nstore_path = ${dir}/leases.json\nrun_dir = ${dir}/run\ndnsmasq_servers_file = ${dir}/run/servers.conf\ndnsmasq_pid_file = ${dir}/run/none.pid\n`;
const env = { PATH: process.env.PATH, MULTIHOMED_ROUTING_CONFIG: conf };
const sh = (ns, argv, input) => execFileSync('ip', ['netns', 'exec', ns, ...argv], { input, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => Number(process.hrtime.bigint()) / 1e6;
const stats = (xs) => ({ p50: round(percentile(xs, 50)), max: round(Math.max(...xs)), n: xs.length });
const procs = [];
let daemon;

function build() {
  for (const ns of Object.values(NS)) execFileSync('ip', ['netns', 'add', ns]);
  for (const ns of Object.values(NS)) sh(ns, ['ip', 'link', 'set', 'lo', 'up']);
  for (let i = 0; i < UPLINKS; i++) {
    const r = NS[`r${i}`];
    execFileSync('ip', ['link', 'add', `eth${i}`, 'netns', NS.host, 'type', 'veth', 'peer', 'name', 'lan', 'netns', r]);
    execFileSync('ip', ['link', 'add', `r${i}`, 'netns', NS.wan, 'type', 'veth', 'peer', 'name', 'wan', 'netns', r]);
    sh(r, ['ip', 'addr', 'add', `10.70.${i}.1/24`, 'dev', 'lan']);
    sh(r, ['ip', 'addr', 'add', `100.70.${i}.2/24`, 'dev', 'wan']);
    sh(NS.wan, ['ip', 'addr', 'add', `100.70.${i}.1/24`, 'dev', `r${i}`]);
    for (const [ns, dev] of [[r, 'lan'], [r, 'wan'], [NS.wan, `r${i}`], [NS.host, `eth${i}`]]) sh(ns, ['ip', 'link', 'set', dev, 'up']);
    sh(r, ['ip', 'route', 'add', 'default', 'via', `100.70.${i}.1`]);
    sh(r, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    sh(r, ['nft', '-f', '-'], `table ip nat {\n chain post {\n  type nat hook postrouting priority 100;\n  oifname "wan" masquerade\n }\n}\ntable ip count {\n chain pre {\n  type filter hook prerouting priority -300;\n  iifname "lan" ip saddr 10.70.${i}.2 ip daddr { ${TARGETS.join(', ')} } counter\n  iifname "wan" ip saddr { ${TARGETS.join(', ')} } counter\n }\n}\n`);
  }
  for (const t of TARGETS) sh(NS.wan, ['ip', 'addr', 'add', `${t}/32`, 'dev', 'lo']);
  const dns = spawn('ip', ['netns', 'exec', NS.wan, 'dnsmasq', '-k', '--no-resolv', '--no-hosts', '--conf-file=/dev/null', '--bind-interfaces', `--listen-address=${TARGETS.join(',')}`, '--user=root', '--pid-file='], { stdio: 'ignore' });
  procs.push(dns);
}

async function startDaemon(extra = '') {
  writeFileSync(conf, baseConf + extra);
  rmSync(`${dir}/alloc/a.sock`, { force: true });
  daemon = spawn('ip', ['netns', 'exec', NS.host, exe, 'daemon'], { env, stdio: 'ignore' });
  for (let i = 0; i < 200 && !existsSync(`${dir}/alloc/a.sock`); i++) await sleep(25);
}
async function stopDaemon() {
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.once('exit', r));
}
/** The daemon's own pid (ip netns exec execs it, so it is the child's). */
const daemonPid = () => daemon.pid;

function manage(i) {
  sh(NS.host, ['ip', 'addr', 'add', `10.70.${i}.2/24`, 'dev', `eth${i}`]);
  execFileSync('ip', ['netns', 'exec', NS.host, exe, 'ifupdown'], { env: { ...env, IFACE: `eth${i}`, ADDRFAM: 'inet', METHOD: 'static', MODE: 'start', PHASE: 'post-up', IF_ADDRESS: `10.70.${i}.2/24`, IF_GATEWAY: `10.70.${i}.1` }, stdio: 'ignore' });
}

const unboundDev = () => JSON.parse(sh(NS.host, ['ip', '-json', 'route', 'get', '1.1.1.1']))[0].dev;
const health = () => JSON.parse(readFileSync(`${dir}/run/health-view.json`, 'utf8')).uplinks;
async function until(what, check, timeoutMs) {
  const t0 = now();
  while (!check()) {
    if (now() - t0 > timeoutMs) throw new Error(`timed out: ${what}`);
    await sleep(20);
  }
  return now() - t0;
}
const setWan = (i, up) => sh(NS.wan, ['ip', 'link', 'set', `r${i}`, up ? 'up' : 'down']);
function counters(i) {
  const j = JSON.parse(sh(NS[`r${i}`], ['nft', '-j', 'list', 'table', 'ip', 'count']));
  const c = j.nftables.filter((x) => x.rule).map((x) => x.rule.expr.find((e) => e.counter).counter);
  return { out: c[0], back: c[1] };
}
/** Probe packets the routers saw from the host's addresses, all uplinks. */
const probesSent = () => Array.from({ length: UPLINKS }, (_, i) => counters(i).out.packets).reduce((a, b) => a + b);
const allUp = (n) => () => { try { return health().filter((u) => u.health === 'up').length === n; } catch { return false; } };

function cleanup() {
  try { daemon?.kill('SIGKILL'); } catch {}
  for (const p of procs) try { p.kill('SIGKILL'); } catch {}
  for (const ns of Object.values(NS)) try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }); } catch {}
  rmSync(dir, { recursive: true, force: true });
}
process.on('SIGINT', () => { cleanup(); process.exit(130); });

const result = {};
try {
  build();
  await startDaemon();
  for (let i = 0; i < PROBED; i++) manage(i);
  await until(`${PROBED} uplinks up`, allUp(PROBED), 30_000);

  // Steady state, default settings.
  const c0 = counters(0);
  const t0 = treeCpuTicks(daemonPid());
  await sleep(TRAFFIC_S * 1000);
  const c1 = counters(0);
  const ticks = treeCpuTicks(daemonPid()) - t0;
  const perMin = (x) => round((x * 60) / TRAFFIC_S);
  const cpuS = ticks / 100; // USER_HZ
  result.traffic = {
    uplink: 'eth0', seconds: TRAFFIC_S,
    packets_out_per_min: perMin(c1.out.packets - c0.out.packets), bytes_out_per_min: perMin(c1.out.bytes - c0.out.bytes),
    packets_back_per_min: perMin(c1.back.packets - c0.back.packets), bytes_back_per_min: perMin(c1.back.bytes - c0.back.bytes),
    [`daemon_cpu_s_per_hour_${PROBED}_uplinks`]: round((cpuS * 3600) / TRAFFIC_S, 2),
  };

  // Failover and failback, default settings.
  const over = [];
  const back = [];
  for (let i = 0; i < TRIALS; i++) {
    await sleep(Math.random() * 1000);
    const a = now();
    setWan(0, false);
    await until('failover', () => unboundDev() === 'eth1', 15_000);
    over.push(now() - a);
    await sleep(1500);
    const b = now();
    setWan(0, true);
    await until('failback', () => unboundDev() === 'eth0', 20_000);
    back.push(now() - b);
    await sleep(1500);
  }
  if (TRIALS) result.failover_ms = stats(over), (result.failback_ms = stats(back));

  // Accelerated: 100 ms rounds on every uplink, RSS sampled.
  await stopDaemon();
  await startDaemon(`health_interval_ms = 100\nhealth_timeout_ms = 100\n${CHURN_METHODS ? `health_methods = ${CHURN_METHODS}\n` : ''}`);
  for (let i = PROBED; i < UPLINKS; i++) manage(i);
  await until(`${UPLINKS} uplinks up`, allUp(UPLINKS), 30_000);
  const pid = daemonPid();
  const p0 = probesSent();
  const t1 = now();
  const samples = [];
  do {
    samples.push(rssMiB(pid));
    await sleep(5000);
  } while (probesSent() - p0 < CHURN_ROUNDS && now() - t1 < CHURN_MAX_S * 1000);
  samples.push(rssMiB(pid));
  const rounds = probesSent() - p0;
  const seconds = (now() - t1) / 1000;
  const tenth = Math.ceil(samples.length / 10);
  result.churn = {
    uplinks: UPLINKS, methods: CHURN_METHODS ?? 'default', rounds, seconds: round(seconds), rounds_per_s: round(rounds / seconds), uplinks_up_at_end: health().filter((u) => u.health === 'up').length,
    rss_mib_start: round(samples[0]), rss_mib_peak: round(Math.max(...samples)), rss_mib_end: round(samples.at(-1)),
    rss_mib_peak_per_tenth: Array.from({ length: Math.ceil(samples.length / tenth) }, (_, k) => round(Math.max(...samples.slice(k * tenth, (k + 1) * tenth)))),
  };
  await stopDaemon();
} finally {
  cleanup();
}
console.log(JSON.stringify(result, null, 2));
