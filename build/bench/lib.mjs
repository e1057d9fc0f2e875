// Shared helpers for the benchmarks: timing child processes, percentiles and
// a bare single-executable (the runtime floor every hook is compared with).
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync, copyFileSync, chmodSync, renameSync, statfsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const root = path.resolve(import.meta.dirname, '../..');
/** The executable measured; MHR_BENCH_EXE measures another build (A/B runs). */
export const exe = process.env.MHR_BENCH_EXE ?? path.join(root, 'dist/multihomed-routing');

/** Percentile (nearest rank) of a list of numbers. */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export const round = (x, digits = 1) => Number(x.toFixed(digits));

/** p50, p99, slowest and mean of a list of times. */
export const summarize = (times) => ({
  p50: round(percentile(times, 50)),
  p99: round(percentile(times, 99)),
  max: round(Math.max(...times)),
  mean: round(times.reduce((a, b) => a + b) / times.length),
});

/**
 * Measured runs of a hook's latency: a p99 of 30 runs is their slowest; of
 * 200, the third slowest. Each up run is followed by its down run and two
 * unmeasured runs of `--version`: the daemon writes a delegated event's lease
 * change within STORE_SOON_MS (50 ms), after the hook has gone, and that
 * write must not land in a measured run, the floor's included. (A pause
 * instead lets the CPUs idle: every process after it, the floor's too,
 * started ~5 ms slower on this VM.)
 */
export const HOOK_RUNS = 200;

/** The lease the dhclient benchmarks hand the hook with BOUND (one IPv4 address on eth0). */
export const DHCP_LEASE = {
  interface: 'eth0',
  new_ip_address: '10.1.0.2',
  new_subnet_mask: '255.255.255.0',
  new_broadcast_address: '10.1.0.255',
  new_routers: '10.1.0.1',
  new_domain_name_servers: '10.1.0.1',
  new_dhcp_lease_time: '3600',
};
/** The interface with the lease's old_* variables, as dhclient-script passes them with RENEW and RELEASE. */
export const DHCP_OLD_LEASE = Object.fromEntries(Object.entries(DHCP_LEASE).map(([k, v]) => [k.replace(/^new_/, 'old_'), v]));

/** Wall time of `runs` sequential runs of argv, after `warmup` unmeasured ones (`raw`: the list of times). */
export function timeCommand(argv, { runs = 40, warmup = 3, env = process.env, raw = false } = {}) {
  const times = [];
  for (let i = 0; i < runs + warmup; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(argv[0], argv.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'] });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
    if (i >= warmup) times.push(ms);
  }
  return raw ? times : summarize(times);
}

/** Builds (once) a single-executable that does nothing: the start-up floor. */
export function bareExecutable() {
  const dir = path.join(root, '.bench');
  const bare = path.join(dir, 'bare-sea');
  if (existsSync(bare)) return bare;
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'bare.cjs'), '');
  writeFileSync(
    path.join(dir, 'bare-sea.json'),
    JSON.stringify({ main: path.join(dir, 'bare.cjs'), output: path.join(dir, 'bare.blob'), disableExperimentalSEAWarning: true, useCodeCache: true }),
  );
  execFileSync(process.execPath, ['--experimental-sea-config', path.join(dir, 'bare-sea.json')], { stdio: 'ignore' });
  copyFileSync(process.execPath, `${bare}.tmp`);
  chmodSync(`${bare}.tmp`, 0o755);
  execFileSync(path.join(root, 'node_modules/.bin/postject'), [`${bare}.tmp`, 'NODE_SEA_BLOB', path.join(dir, 'bare.blob'), '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'], { stdio: 'ignore' });
  renameSync(`${bare}.tmp`, bare);
  return bare;
}

/** Runs a benchmark script that prints one JSON object on stdout. */
export function runJsonScript(script, args = []) {
  const out = execFileSync(process.execPath, [path.join(root, script), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out);
}

/**
 * A scratch directory standing for /run: on a Debian host /run is a tmpfs,
 * so run_dir, the servers-file and the socket live in memory and their
 * fsyncs cost nothing. /dev/shm when it is a tmpfs (this machine's /run is
 * not), else the temp dir; the lease store stays on disk as in /var/lib.
 */
export function runScratchDir(prefix) {
  const TMPFS_MAGIC = 0x01021994;
  let base = tmpdir();
  try {
    if (statfsSync('/dev/shm').type === TMPFS_MAGIC) base = '/dev/shm';
  } catch {}
  return mkdtempSync(path.join(base, prefix));
}

/**
 * A scratch network namespace for a benchmark with the daemon in it: its own
 * config, socket, run_dir and store under a temp dir. `close()` stops the
 * daemon and removes the namespace and the dir.
 */
export function daemonNamespace(label) {
  const ns = `mhr-bench-${label}-${process.pid}`;
  const dir = mkdtempSync(path.join(tmpdir(), `mhr-bench-${label}-`));
  const conf = path.join(dir, 'c.conf');
  const baseConf = `syslog = no\nsocket_path = ${dir}/alloc/a.sock\nstore_path = ${dir}/leases.json\nrun_dir = ${dir}/run\ndnsmasq_servers_file = ${dir}/run/servers.conf\ndnsmasq_pid_file = ${dir}/run/none.pid\n`;
  const env = { PATH: process.env.PATH, MULTIHOMED_ROUTING_CONFIG: conf };
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  execFileSync('ip', ['netns', 'add', ns]);
  const b = {
    ns, dir, env, daemon: undefined,
    ip: (...args) => execFileSync('ip', ['-n', ns, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }).toString(),
    inNs: (argv, extraEnv = {}) => execFileSync('nsenter', [`--net=/run/netns/${ns}`, '--', ...argv], { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] }),
    async startDaemon(extra = '') {
      writeFileSync(conf, baseConf + extra);
      b.daemon = spawn('nsenter', [`--net=/run/netns/${ns}`, '--', exe, 'daemon'], { env, stdio: 'ignore' });
      for (let i = 0; i < 200 && !existsSync(`${dir}/alloc/a.sock`); i++) await sleep(25);
    },
    async stopDaemon() {
      const d = b.daemon;
      b.daemon = undefined;
      d?.kill('SIGTERM');
      if (d && d.exitCode === null) await new Promise((r) => d.once('exit', r));
    },
    close() {
      b.daemon?.kill('SIGTERM');
      try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }); } catch {}
      rmSync(dir, { recursive: true, force: true });
    },
  };
  b.ip('link', 'set', 'lo', 'up');
  return b;
}

/** utime + stime of a process, in clock ticks (100 per second). */
export function cpuTicks(pid) {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

/** Resident set of a process, MiB. */
export const rssMiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

/**
 * CPU of a process and everything it started, in clock ticks: for it and
 * each live descendant (long-lived helpers: `ip monitor`, the ip channels)
 * utime + stime + the reaped children's cutime + cstime (short-lived ones:
 * a probe's ping, an event script). A process that exits moves into its
 * parent's cutime, so the difference of two calls is what the tree used.
 */
export function treeCpuTicks(pid) {
  const stats = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      stats.set(Number(d), s.slice(s.lastIndexOf(')') + 2).split(' '));
    } catch {} // gone meanwhile
  }
  const own = (f) => Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  let ticks = own(stats.get(pid));
  const tree = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [p, f] of stats) if (!tree.has(p) && tree.has(Number(f[1]))) tree.add(p), (ticks += own(f)), (grew = true);
  }
  return ticks;
}

/** Stops a benchmark's daemon (waiting for it: it may still write under the dirs), then removes its namespace and dirs. */
export async function tearDown(daemon, ns, dirs) {
  if (daemon && daemon.exitCode === null) {
    const exited = new Promise((resolve) => daemon.once('exit', resolve));
    daemon.kill('SIGTERM');
    await exited;
  }
  try {
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  } catch {}
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

/** A benchmark's config: its state under dir (the lease store) and run (a /run stand-in); returns its path. */
export function writeBenchConfig(dir, run) {
  const conf = path.join(dir, 'c.conf');
  writeFileSync(
    conf,
    `syslog = no\nsocket_path = ${run}/alloc/a.sock\nstore_path = ${dir}/leases.json\nrun_dir = ${run}/run\n` +
      `dnsmasq_servers_file = ${run}/servers.conf\ndnsmasq_pid_file = ${run}/no-dnsmasq.pid\n`,
  );
  return conf;
}
