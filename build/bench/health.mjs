#!/usr/bin/env node
// Upstream health benchmarks (issue 14), printed as one JSON object:
// - traffic: probe packets and bytes per uplink per minute with the default
//   settings, counted at the uplink's router (requests from the host's
//   address, answers from the targets), and the daemon's CPU over that
//   minute with 2 uplinks probing (scaled to an hour and to 4 uplinks);
// - failover / failback: from the router's WAN link going down (its LAN and
//   the host's carrier stay up) to `ip route get` answering through the other
//   uplink, and from the WAN coming back to the first uplink again; p50 and
//   max over TRIALS trials, default settings, each trial started at a random
//   point of the probe schedule;
// - churn: the daemon's RSS over an accelerated run (100 ms rounds).
// Namespaces: a host (eth0, eth1 through the ifupdown hook), two NAT
// routers, and a "wan" holding the targets 1.1.1.1 and 8.8.8.8 (with a
// dnsmasq answering DNS). All of it is removed at the end.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exe, percentile, round } from './lib.mjs';

const TRIALS = Number(process.env.MHR_BENCH_HEALTH_TRIALS ?? 20);
const TRAFFIC_S = Number(process.env.MHR_BENCH_HEALTH_TRAFFIC_S ?? 60);
const CHURN_S = Number(process.env.MHR_BENCH_HEALTH_CHURN_S ?? 60);
const base = `mhr-bench-health-${process.pid}`;
const NS = { host: `${base}-h`, r0: `${base}-r0`, r1: `${base}-r1`, wan: `${base}-w` };
const dir = mkdtempSync(path.join(tmpdir(), 'mhr-bench-health-'));
const conf = path.join(dir, 'c.conf');
const TARGETS = ['1.1.1.1', '8.8.8.8'];
const baseConf = `syslog = no\nsocket_path = ${dir}/alloc/a.sock\nstore_path = ${dir}/leases.json\nrun_dir = ${dir}/run\ndnsmasq_servers_file = ${dir}/run/servers.conf\ndnsmasq_pid_file = ${dir}/run/none.pid\nhealth_targets = ${TARGETS.join(' ')}\n`;
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
  for (const i of [0, 1]) {
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
const cpuTicks = (pid) => {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]); // utime + stime + children's (the ping processes)
};
const rss = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

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
  manage(0);
  manage(1);
  await until('both uplinks up', () => { try { return health().filter((u) => u.health === 'up').length === 2; } catch { return false; } }, 20_000);

  // Steady state, default settings.
  const c0 = counters(0);
  const t0 = cpuTicks(daemonPid());
  await sleep(TRAFFIC_S * 1000);
  const c1 = counters(0);
  const ticks = cpuTicks(daemonPid()) - t0;
  const perMin = (x) => round((x * 60) / TRAFFIC_S);
  const cpuS = ticks / 100; // USER_HZ
  result.traffic = {
    uplink: 'eth0', seconds: TRAFFIC_S,
    packets_out_per_min: perMin(c1.out.packets - c0.out.packets), bytes_out_per_min: perMin(c1.out.bytes - c0.out.bytes),
    packets_back_per_min: perMin(c1.back.packets - c0.back.packets), bytes_back_per_min: perMin(c1.back.bytes - c0.back.bytes),
    daemon_cpu_s_per_hour_2_uplinks: round((cpuS * 3600) / TRAFFIC_S, 2),
    daemon_cpu_s_per_hour_4_uplinks_scaled: round((cpuS * 3600 * 2) / TRAFFIC_S, 2),
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
  result.failover_ms = stats(over);
  result.failback_ms = stats(back);

  // Accelerated: 100 ms rounds, RSS sampled.
  await stopDaemon();
  await startDaemon('health_interval_ms = 100\nhealth_timeout_ms = 100\n');
  await sleep(2000);
  const pid = daemonPid();
  const samples = [];
  for (let s = 0; s < CHURN_S; s += 5) {
    samples.push(rss(pid));
    await sleep(5000);
  }
  samples.push(rss(pid));
  result.churn = { seconds: CHURN_S, rounds_approx: Math.round((CHURN_S * 1000 * 2) / 100), rss_mb_start: round(samples[0]), rss_mb_peak: round(Math.max(...samples)), rss_mb_end: round(samples.at(-1)) };
  await stopDaemon();
} finally {
  cleanup();
}
console.log(JSON.stringify(result, null, 2));
