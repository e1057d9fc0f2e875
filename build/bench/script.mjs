#!/usr/bin/env node
// The whole hook as its caller pays it (issue 16), same run, paired rounds,
// a clean environment (`env -i PATH=…` plus what dhclient / ifupdown pass):
// - dhcp: the real /sbin/dhclient-script with reason BOUND, RENEW (nothing
//   changed), RENEW again (the renewals after the first one take the shim's
//   shortcut, docs/dhcp.md), RELEASE; stock (no enter hook) vs our shim with the daemon
//   (the hand-over: no runtime start) vs our shim with the daemon but without
//   the hand-over (the socket: what a hook did before) vs our shim with no
//   daemon (the executable alone).
// - ifup: the if-up.d hook install.sh writes (hooks/ifupdown/hook.sh), run as
//   ifupdown runs it for one static IPv4 address: its whole time is what
//   ifupdown pays over running no hook. Hand-over vs socket vs alone.
// Each side has a network namespace, config, run_dir and daemon of its own;
// a round runs every side once, in a rotating order, so the machine's load
// hits all alike; every run starts after 200 ms of quiet, so no daemon's
// work after a reply falls into another run. Ratios are of the p50s and the
// median of per-round ratios.
// Without a daemon an event waits ~8 s for the allocator (its client's
// retries, then the main table): that side runs in the first ALONE_ROUNDS only.
// `--base DIR`: one more side, the hand-over of another checkout (its hooks
// and its built executable), for a same-run A/B of a hand-over change;
// `--sides a,b`: only those sides (stock always runs: the ratios are to it).
// The side `events` runs only when named (issue 15): the hand-over with two
// event scripts in events_dir, one sleeping 1 s and one exiting 1, so every
// event the hooks cause keeps the daemon's script runner busy (the if-up
// address then stays 0.4 s on every side, so the watcher sees it); with
// `handover` beside it, `events_vs_handover` is the median of per-round
// ratios (ms for if-up) of the two.
//   node build/bench/script.mjs [ROUNDS] [--base DIR] [--sides handover,base,events]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DHCP_LEASE as lease, DHCP_OLD_LEASE as old, exe, percentile, root, round, runScratchDir, tearDown, writeBenchConfig } from './lib.mjs';

const args = process.argv.slice(2);
const option = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const rounds = Number(args.find((a) => /^\d+$/.test(a)) ?? 40);
const base = option('--base');
const WARMUP = 3;
const ALONE_ROUNDS = 5;
const QUIET_MS = 200;
const quiet = new Int32Array(new SharedArrayBuffer(4));
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const RUNTIME_ENV = /^RUNTIME_ENV='([^']*)'$/m.exec(readFileSync(path.join(root, 'install.sh'), 'utf8'))[1];
const ifupEnv = { IFACE: 'eth0', LOGICAL: 'eth0', ADDRFAM: 'inet', METHOD: 'static', IF_ADDRESS: '10.1.0.2/24', IF_GATEWAY: '10.1.0.1', VERBOSITY: '0' };

// hook: which enter hook / if-up.d hook; daemon: started; handover: the hooks know its FIFO directory.
// root, exe: the checkout whose hooks and executable the side runs.
const all = [
  { name: 'stock', hook: false, daemon: false, handover: false },
  { name: 'handover', hook: true, daemon: true, handover: true },
  { name: 'socket', hook: true, daemon: true, handover: false },
  { name: 'alone', hook: true, daemon: false, handover: false },
  ...(base ? [{ name: 'base', hook: true, daemon: true, handover: true, root: path.resolve(base), exe: path.resolve(base, 'dist/multihomed-routing') }] : []),
];
const wanted = option('--sides')?.split(',');
if (wanted?.includes('events')) all.push({ name: 'events', hook: true, daemon: true, handover: true, scripts: true });
const sides = all.filter((s) => s.name === 'stock' || !wanted || wanted.includes(s.name));
// Events come from what the daemon's watcher sees (its passes follow a quiet 150 ms): with
// the events side, the if-up address stays a while on every side, so each round makes some.
const settle = sides.some((s) => s.scripts) ? '0.4' : undefined;

for (const s of sides) {
  s.ns = `mhr-bench-script-${s.name}-${process.pid}`;
  s.etc = `/etc/netns/${s.ns}`;
  s.dir = mkdtempSync(path.join(tmpdir(), `mhr-bench-script-${s.name}-`));
  s.run = runScratchDir(`mhr-bench-script-${s.name}-run-`);
  s.conf = writeBenchConfig(s.dir, s.run);
  if (s.scripts) {
    mkdirSync(`${s.dir}/events.d`);
    writeFileSync(`${s.dir}/events.d/10-sleep`, `#!/bin/sh\necho "$MHR_EVENT" >> ${s.dir}/events.log\nsleep 1\n`, { mode: 0o755 });
    writeFileSync(`${s.dir}/events.d/20-fail`, '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    appendFileSync(s.conf, `events_dir = ${s.dir}/events.d\n`);
  }
  s.ip = (...args) => execFileSync('ip', ['-n', s.ns, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  // floor: `/bin/true` through the same `ip netns exec … env -i`, the harness's own cost.
  s.times = { floor: [], bound: [], renew: [], renew_again: [], release: [], ifup: [] };
}

/** The hook templates with this side's paths, as install.sh renders them. */
function render(s, template) {
  let text = readFileSync(path.join(s.root ?? root, template), 'utf8')
    .replaceAll("'@EXECUTABLE@'", `'${s.exe ?? exe}'`)
    .replaceAll("'@CONFIG@'", `'${s.conf}'`)
    .replaceAll('@RUNTIME_ENV@', RUNTIME_ENV);
  if (s.handover) text = text.replace("'@HANDOVER@'", `'${s.run}/run/hook'`);
  return text;
}

/**
 * One clean-environment run in the side's namespace; its wall time (`expect`: a line its stderr must hold).
 * It starts after QUIET_MS: a daemon's work after its reply (the watcher's pass after 150 ms of quiet, the
 * event scripts, the metrics file) would otherwise fall into the next run, of this side or another one,
 * where a real hook's events come seconds apart.
 */
function time(s, argv, vars, expect) {
  Atomics.wait(quiet, 0, 0, QUIET_MS);
  const env = Object.entries({ PATH, ...vars }).map(([k, v]) => `${k}=${v}`);
  const t0 = process.hrtime.bigint();
  const r = spawnSync('ip', ['netns', 'exec', s.ns, 'env', '-i', ...env, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  const t = ms(t0);
  if (r.status !== 0) throw new Error(`${s.name}: ${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  if (expect && !r.stderr.toString().includes(expect)) throw new Error(`${s.name}: ${argv.join(' ')}: no "${expect}" in ${r.stderr}`);
  return t;
}

const stats = (xs) => ({ p50: round(percentile(xs, 50)), p99: round(percentile(xs, 99)) });
const median = (xs) => percentile(xs, 50);

try {
  for (const s of sides) {
    execFileSync('ip', ['netns', 'add', s.ns]);
    // The namespace's own /etc/dhcp, /etc/network and resolv.conf (bind-mounted by `ip netns exec`): never the machine's.
    for (const d of ['dhcp/dhclient-enter-hooks.d', 'dhcp/dhclient-exit-hooks.d', 'network/if-up.d']) mkdirSync(path.join(s.etc, d), { recursive: true });
    writeFileSync(path.join(s.etc, 'resolv.conf'), 'nameserver 127.0.0.1\n');
    if (s.hook) {
      writeFileSync(path.join(s.etc, 'dhcp/dhclient-enter-hooks.d/multihomed-routing'), render(s, 'hooks/dhclient/shim.sh'));
      writeFileSync(path.join(s.etc, 'network/if-up.d/multihomed-routing'), render(s, 'hooks/ifupdown/hook.sh'), { mode: 0o755 });
    }
    s.ip('link', 'set', 'lo', 'up');
    s.ip('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0');
    s.ip('link', 'set', 'eth0', 'up');
    s.ip('link', 'set', 'peer0', 'up');
    if (s.daemon) {
      s.proc = spawn('ip', ['netns', 'exec', s.ns, s.exe ?? exe, '--config', s.conf, 'daemon'], { env: { PATH }, stdio: 'ignore' });
      for (let i = 0; i < 200 && !existsSync(`${s.run}/run/hook/daemon.pid`); i++) execFileSync('sleep', ['0.05']);
    }
  }
  const started = Date.now();
  const script = ['/sbin/dhclient-script'];
  // Executed, as run-parts does: its #! line picks the shell.
  const hook = ['/etc/network/if-up.d/multihomed-routing'];
  for (let i = 0; i < rounds + WARMUP; i++) {
    const order = sides.map((_, k) => sides[(i + k) % sides.length]);
    for (const s of order) {
      if (s.name === 'alone' && i >= WARMUP + ALONE_ROUNDS) continue;
      const f = time(s, ['/bin/true'], {});
      const b = time(s, script, { ...lease, reason: 'BOUND' }, s.daemon ? 'routing updated' : undefined);
      const r = time(s, script, { ...lease, ...old, reason: 'RENEW' }, s.daemon ? 'renewal changes nothing of ours' : undefined);
      const r2 = time(s, script, { ...lease, ...old, reason: 'RENEW' }, s.daemon ? 'renewal changes nothing of ours' : undefined);
      const d = time(s, script, { ...old, reason: 'RELEASE' });
      let u = NaN;
      if (s.hook) {
        s.ip('address', 'add', '10.1.0.2/24', 'dev', 'eth0');
        s.ip('route', 'replace', 'default', 'via', '10.1.0.1', 'dev', 'eth0'); // what ifupdown adds before post-up
        u = time(s, hook, { ...ifupEnv, MODE: 'start', PHASE: 'post-up' });
        if (settle) execFileSync('sleep', [settle]);
        time(s, hook, { ...ifupEnv, MODE: 'stop', PHASE: 'post-down' });
        s.ip('address', 'flush', 'dev', 'eth0');
      }
      if (i >= WARMUP) s.times.floor.push(f), s.times.bound.push(b), s.times.renew.push(r), s.times.renew_again.push(r2), s.times.release.push(d), s.times.ifup.push(u);
    }
  }
  const [stock, ...ours] = sides;
  const out = {
    rounds, alone_rounds: Math.min(rounds, ALONE_ROUNDS), load: readFileSync('/proc/loadavg', 'utf8').trim(),
    stock: Object.fromEntries(['floor', 'bound', 'renew', 'renew_again', 'release'].map((k) => [k, stats(stock.times[k])])),
  };
  for (const s of ours) {
    const o = Object.fromEntries(Object.entries(s.times).map(([k, xs]) => [k, stats(xs)]));
    for (const step of ['bound', 'renew', 'renew_again', 'release']) {
      o[`${step}_ratio_p50`] = round(percentile(s.times[step], 50) / percentile(stock.times[step], 50), 2);
      o[`${step}_ratio_paired`] = round(median(s.times[step].map((t, k) => t / stock.times[step][k])), 2);
    }
    // What ifupdown pays for the hook over running none: its time beyond the harness's, per round.
    o.ifup_over_floor_paired_ms = round(median(s.times.ifup.map((t, k) => t - s.times.floor[k])));
    out[s.name] = o;
  }
  out.targets = { bound_ratio: 1.15, renew_ratio: 1.15, ifup_ms: 10 };
  const [plain, scripted] = ['handover', 'events'].map((n) => sides.find((s) => s.name === n));
  if (plain && scripted) {
    const paired = (step, f) => round(median(scripted.times[step].map((t, k) => f(t, plain.times[step][k]))), 2);
    out.events_vs_handover = {
      bound_ratio: paired('bound', (a, b) => a / b), renew_ratio: paired('renew', (a, b) => a / b), release_ratio: paired('release', (a, b) => a / b),
      ifup_ms: paired('ifup', (a, b) => a - b), script_runs_started: readFileSync(`${scripted.dir}/events.log`, 'utf8').split('\n').length - 1,
    };
    // Each run of the sleeping script holds the runner 1 s: its share of the measured rounds' wall time.
    out.events_vs_handover.script_busy_share = round(out.events_vs_handover.script_runs_started / ((Date.now() - started) / 1000), 2);
  }
  console.log(JSON.stringify(out));
} finally {
  for (const s of sides) await tearDown(s.proc, s.ns, [s.dir, s.run, s.etc]);
}
