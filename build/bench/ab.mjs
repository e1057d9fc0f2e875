#!/usr/bin/env node
// Same-run A/B of two executables' hook latency (BENCHMARKS.md): each in a
// namespace of its own with its own daemon, rounds alternating A and B so
// the machine's load hits both alike. A round: `--version`, if-up for one
// static IPv4 address, if-up again (nothing changed: a renewal), if-post-down;
// with --dhcp: `--version`, dhclient BOUND (a new lease), RENEW (nothing
// changed), RELEASE, with the store on disk and run_dir on a tmpfs as in
// dhcp.mjs.
// MHR_AB_TRACE=1 also traces the up step (BOUND, if-up) and reports the time
// from the bundle's first line to exit (`inside`): the hook's own part, free
// of the runtime start's noise, which hides sub-millisecond changes.
//   node build/bench/ab.mjs [--dhcp] A_EXE B_EXE [ROUNDS]
// Prints one JSON object: p50/p99 per executable and step, and the ratios.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DHCP_LEASE as lease, DHCP_OLD_LEASE as old, percentile, round, runScratchDir, tearDown, writeBenchConfig } from './lib.mjs';

const args = process.argv.slice(2);
const dhcp = args[0] === '--dhcp';
const [A, B, roundsArg] = dhcp ? args.slice(1) : args;
const rounds = Number(roundsArg ?? 30);
const traced = process.env.MHR_AB_TRACE === '1';
const sides = [
  { name: 'A', exe: A },
  { name: 'B', exe: B },
];
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const env = { IFACE: 'eth0', ADDRFAM: 'inet', METHOD: 'static', IF_ADDRESS: '10.1.0.2/24', IF_GATEWAY: '10.1.0.1' };

for (const s of sides) {
  s.ns = `mhr-bench-ab-${s.name}-${process.pid}`;
  s.dir = mkdtempSync(path.join(tmpdir(), `mhr-bench-ab-${s.name}-`));
  s.run = dhcp ? runScratchDir(`mhr-bench-ab-${s.name}-run-`) : s.dir;
  s.conf = writeBenchConfig(s.dir, s.run);
  s.ip = (...args) => execFileSync('ip', ['-n', s.ns, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  s.times = { version: [], up: [], renew: [], down: [], ...(traced ? { inside: [] } : {}) };
}
/** Milliseconds from the trace's first mark to its `exit` mark (lib/trace). */
const inside = (stderr) => {
  const at = (phase) => Number(new RegExp(`trace: ([\\d.]+) ms \\+[\\d.]+ ${phase}`).exec(stderr)?.[1]);
  return at('runtime started') >= 0 ? at('exit') - at('runtime started') : NaN;
};
const time = (s, argv, extra, trace = false) => {
  const t0 = process.hrtime.bigint();
  const env = { PATH: process.env.PATH, MULTIHOMED_ROUTING_CONFIG: s.conf, ...extra, ...(trace ? { MULTIHOMED_ROUTING_TRACE: '1' } : {}) };
  const r = spawnSync('ip', ['netns', 'exec', s.ns, s.exe, ...argv], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const t = ms(t0);
  if (r.status !== 0 || /error|warn/.test(r.stderr)) throw new Error(`${s.name} ${argv.join(' ')}: ${r.status} ${r.stderr}`);
  if (trace) s.times.inside.push(inside(r.stderr.toString()));
  return t;
};

try {
  for (const s of sides) {
    execFileSync('ip', ['netns', 'add', s.ns]);
    s.ip('link', 'set', 'lo', 'up');
    s.ip('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0');
    s.ip('link', 'set', 'eth0', 'up');
    s.ip('link', 'set', 'peer0', 'up');
    if (!dhcp) s.ip('address', 'add', '10.1.0.2/24', 'dev', 'eth0');
    s.daemon = spawn('ip', ['netns', 'exec', s.ns, s.exe, 'daemon'], { env: { PATH: process.env.PATH, MULTIHOMED_ROUTING_CONFIG: s.conf }, stdio: 'ignore' });
    for (let i = 0; i < 100 && !existsSync(`${s.run}/alloc/a.sock`); i++) execFileSync('sleep', ['0.05']);
  }
  for (let i = 0; i < rounds + 3; i++) {
    const order = i % 2 ? [sides[1], sides[0]] : sides;
    for (const s of order) {
      if (dhcp) {
        const v = time(s, ['--version'], {});
        const b = time(s, ['dhclient-hook'], { ...lease, reason: 'BOUND' }, traced);
        const r = time(s, ['dhclient-hook'], { ...lease, ...old, reason: 'RENEW' });
        const d = time(s, ['dhclient-hook'], { ...old, reason: 'RELEASE' });
        for (let k = 0; k < 2; k++) time(s, ['--version'], {}); // the daemon's store write (within STORE_SOON_MS) lands here, not in a measured run
        if (i >= 3) s.times.version.push(v), s.times.up.push(b), s.times.renew.push(r), s.times.down.push(d);
        continue;
      }
      s.ip('route', 'replace', 'default', 'via', '10.1.0.1', 'dev', 'eth0'); // what ifupdown adds before post-up
      const v = time(s, ['--version'], {});
      const u = time(s, ['ifupdown'], { ...env, MODE: 'start', PHASE: 'post-up' }, traced);
      const r = time(s, ['ifupdown'], { ...env, MODE: 'start', PHASE: 'post-up' });
      const d = time(s, ['ifupdown'], { ...env, MODE: 'stop', PHASE: 'post-down' });
      if (i >= 3) s.times.version.push(v), s.times.up.push(u), s.times.renew.push(r), s.times.down.push(d);
    }
  }
  for (const s of sides) s.times.inside?.splice(0, 3); // the warm-up rounds
  const out = {};
  for (const s of sides) {
    const p = (xs, q) => round(percentile(xs, q));
    const o = Object.fromEntries(Object.entries(s.times).map(([k, xs]) => [k, { p50: p(xs, 50), p99: p(xs, 99) }]));
    o.up_ratio = round(o.up.p50 / o.version.p50, 2);
    o.up_ratio_p99 = round(o.up.p99 / o.version.p99, 2);
    o.renew_ratio = round(o.renew.p50 / o.version.p50, 2);
    out[s.name] = { exe: s.exe, ...o };
  }
  out.load = execFileSync('cat', ['/proc/loadavg']).toString().trim();
  console.log(JSON.stringify(out));
} finally {
  for (const s of sides) await tearDown(s.daemon, s.ns, [s.dir, s.run]);
}
