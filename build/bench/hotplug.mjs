#!/usr/bin/env node
// Hot-plug benchmarks (issue 5), printed as one JSON object:
// - watcher: from `ip link del` of a managed interface to its rules gone
//   (the daemon's kernel watcher, no udev), p50 and max over 20 unplugs;
// - udev: the udev-remove handler run as udev runs it (env -i with the
//   device's properties only), start to exit, p50 and max over 20 unplugs
//   (watcher off, so the handler does the work; no dhclient to stop here:
//   the integration test measures that one, SIGTERM → exit is ~10-30 ms);
// - idle: the daemon's CPU over 10 s with nothing happening (/proc/PID/stat);
// - churn: RSS of the daemon over ~1000 kernel events (veth pairs created
//   and deleted in bursts): start, peak, end; events and passes it counted.
// Everything runs in a scratch network namespace with its own config,
// socket, run_dir and store under a temp dir; all of it is removed at the end.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exe, percentile, round } from './lib.mjs';

const ns = `mhr-bench-hotplug-${process.pid}`;
const dir = mkdtempSync(path.join(tmpdir(), 'mhr-bench-hotplug-'));
const conf = path.join(dir, 'c.conf');
const baseConf = `syslog = no\nsocket_path = ${dir}/alloc/a.sock\nstore_path = ${dir}/leases.json\nrun_dir = ${dir}/run\ndnsmasq_servers_file = ${dir}/run/servers.conf\ndnsmasq_pid_file = ${dir}/run/none.pid\n`;
const ip = (...args) => execFileSync('ip', ['-n', ns, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const inNs = (argv, env) => execFileSync('nsenter', [`--net=/run/netns/${ns}`, '--', ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => Number(process.hrtime.bigint()) / 1e6;
const stats = (xs) => ({ p50: round(percentile(xs, 50)), max: round(Math.max(...xs)) });
const env = { PATH: process.env.PATH, MULTIHOMED_ROUTING_CONFIG: conf };
let daemon;

async function startDaemon(extra = '') {
  writeFileSync(conf, baseConf + extra);
  daemon = spawn('nsenter', [`--net=/run/netns/${ns}`, '--', exe, 'daemon'], { env, stdio: 'ignore' });
  for (let i = 0; i < 200 && !existsSync(`${dir}/alloc/a.sock`); i++) await sleep(25);
  await sleep(300); // first reconcile pass
}
async function stopDaemon() {
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.once('exit', r));
}
const rss = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const cpuTicks = (pid) => {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime
};
const ourRuleTables = () => JSON.parse(ip('-N', '-json', 'rule', 'show')).filter((r) => r.protocol === '201').map((r) => String(r.table));

/** A veth with a static address configured through the ifupdown hook; returns its table and ifindex. */
function managed(name, i) {
  ip('link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`);
  ip('link', 'set', name, 'up');
  ip('link', 'set', `${name}p`, 'up');
  ip('address', 'add', `10.60.${i}.2/24`, 'dev', name);
  inNs([exe, 'ifupdown'], { ...env, IFACE: name, ADDRFAM: 'inet', METHOD: 'static', MODE: 'start', PHASE: 'post-up', IF_ADDRESS: `10.60.${i}.2/24`, IF_GATEWAY: `10.60.${i}.1` });
  const rule = JSON.parse(ip('-N', '-json', 'rule', 'show')).find((r) => r.src === `10.60.${i}.2`);
  const ifindex = JSON.parse(ip('-json', 'link', 'show', 'dev', name))[0].ifindex;
  return { table: String(rule.table), ifindex };
}

try {
  execFileSync('ip', ['netns', 'add', ns]);
  ip('link', 'set', 'lo', 'up');
  const N = 20;

  // Watcher path.
  await startDaemon();
  const watcher = [];
  for (let i = 0; i < N; i++) {
    const { table } = managed(`hw${i}`, i);
    const t0 = now();
    ip('link', 'del', `hw${i}`);
    while (ourRuleTables().includes(table)) {
      if (now() - t0 > 10_000) throw new Error(`watcher did not remove table ${table}'s rules`);
      await sleep(5);
    }
    watcher.push(now() - t0);
  }

  // Idle CPU and churn RSS (same daemon).
  const pid = daemon.pid;
  const c0 = cpuTicks(pid);
  await sleep(10_000);
  const idleTicks = cpuTicks(pid) - c0;
  const hz = 100;
  const idle = { seconds: 10, cpu_ms: idleTicks * (1000 / hz), cpu_percent: round((idleTicks / hz / 10) * 100, 2) };

  const start = rss(pid);
  let peak = start;
  const sampler = setInterval(() => (peak = Math.max(peak, rss(pid))), 50);
  // ~9 monitor lines per veth pair added and deleted: 12 rounds of 25 pairs ≈ 1000+ events.
  for (let round_ = 0; round_ < 12; round_++) {
    const add = Array.from({ length: 25 }, (_, i) => `link add ch${i} type veth peer name ch${i}p\nlink set ch${i} up\nlink set ch${i}p up`).join('\n');
    const del = Array.from({ length: 25 }, (_, i) => `link del ch${i}`).join('\n');
    execFileSync('ip', ['-n', ns, '-batch', '-'], { input: `${add}\n` });
    await sleep(200);
    execFileSync('ip', ['-n', ns, '-batch', '-'], { input: `${del}\n` });
    await sleep(200);
  }
  await sleep(2000);
  clearInterval(sampler);
  const end = rss(pid);
  await stopDaemon(); // writes its final view
  const view = JSON.parse(readFileSync(`${dir}/run/daemon-view.json`, 'utf8'));
  const churn = { rss_mib: { start: round(start), peak: round(peak), end: round(end) }, events: view.events, passes: view.passes };

  // udev path (watcher off: the handler does the work).
  await startDaemon('watch_kernel = no\n');
  const udev = [];
  for (let i = 0; i < N; i++) {
    const { table, ifindex } = managed(`hu${i}`, 100 + i);
    ip('link', 'del', `hu${i}`);
    const t0 = now();
    execFileSync('nsenter', [`--net=/run/netns/${ns}`, '--', 'env', '-i', 'ACTION=remove', 'SUBSYSTEM=net', `INTERFACE=hu${i}`, `IFINDEX=${ifindex}`, `DEVPATH=/devices/virtual/net/hu${i}`, 'SEQNUM=1',
      exe, '--config', conf, 'udev-remove'], { stdio: ['ignore', 'ignore', 'pipe'] });
    udev.push(now() - t0);
    if (ourRuleTables().includes(table)) throw new Error(`udev-remove left table ${table}'s rules`);
  }
  await stopDaemon();
  daemon = undefined;

  console.log(JSON.stringify({ watcher_link_del_to_rules_gone_ms: stats(watcher), udev_remove_handler_ms: stats(udev), udev_timeout_s: 180, idle, churn }));
} finally {
  daemon?.kill('SIGTERM');
  try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }); } catch {}
  rmSync(dir, { recursive: true, force: true });
}
