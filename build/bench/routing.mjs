#!/usr/bin/env node
// Routing benchmarks (issue 3), printed as one JSON object:
// - hook latency: the if-up.d hook for one static IPv4 address, start to
//   routing in place, p50/p99 over HOOK_RUNS runs (each followed by the
//   if-post-down hook, so every up run does the full work, and by two
//   unmeasured runs, see lib.mjs), as a ratio to `--version` of the same
//   executable. Target ≤ 1.3×.
// - scale: 64 interfaces, their hooks run concurrently: wall time, and
//   correctness (64 distinct tables, 4 rules each, no duplicate, dense band).
// - planner: the cost of one more address when 500 rules of ours exist
//   (in-process, lib/plan bundled with esbuild), against one with 20.
// Everything runs in a scratch network namespace with its own config, socket
// and state under a temp dir; all of it is removed at the end.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { exe, HOOK_RUNS, percentile, round, root, runScratchDir, summarize } from './lib.mjs';

const ns = `mhr-bench-routing-${process.pid}`;
const dir = mkdtempSync(path.join(tmpdir(), 'mhr-bench-routing-'));
const conf = path.join(dir, 'c.conf');
const run = runScratchDir('mhr-bench-routing-run-');
writeFileSync(conf, `syslog = no\nsocket_path = ${run}/alloc/a.sock\nstore_path = ${dir}/leases.json\nrun_dir = ${run}/run\n`);
const ip = (...args) => execFileSync('ip', ['-n', ns, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const inNs = (argv, env = {}) => ['ip', ['netns', 'exec', ns, ...argv], { env: { PATH: process.env.PATH, MULTIHOMED_ROUTING_CONFIG: conf, ...env } }];
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
let daemon;

function timeRun(argv, env) {
  const [file, args, opts] = inNs(argv, env);
  const t0 = process.hrtime.bigint();
  execFileSync(file, args, { ...opts, stdio: ['ignore', 'ignore', 'pipe'] });
  return ms(t0);
}
const runAsync = (argv, env) =>
  new Promise((resolve, reject) => {
    const [file, args, opts] = inNs(argv, env);
    const child = spawn(file, args, { ...opts, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b) => (err += b));
    child.on('close', (code) => (code === 0 && !/error/.test(err) ? resolve() : reject(new Error(err))));
  });

try {
  execFileSync('ip', ['netns', 'add', ns]);
  ip('link', 'set', 'lo', 'up');
  const [f, a, o] = inNs([exe, 'daemon']);
  daemon = spawn(f, a, { ...o, stdio: 'ignore' });
  for (let i = 0; i < 100 && !existsSync(`${run}/alloc/a.sock`); i++) execFileSync('sleep', ['0.05']);

  // Hook latency.
  ip('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0');
  ip('link', 'set', 'eth0', 'up');
  ip('link', 'set', 'peer0', 'up');
  ip('address', 'add', '10.1.0.2/24', 'dev', 'eth0');
  const env = { IFACE: 'eth0', ADDRFAM: 'inet', METHOD: 'static', IF_ADDRESS: '10.1.0.2/24', IF_GATEWAY: '10.1.0.1' };
  const version = [];
  const up = [];
  const down = [];
  for (let i = 0; i < HOOK_RUNS + 3; i++) {
    ip('route', 'replace', 'default', 'via', '10.1.0.1', 'dev', 'eth0'); // what ifupdown adds before post-up
    const v = timeRun([exe, '--version'], {});
    const u = timeRun([exe, 'ifupdown'], { ...env, MODE: 'start', PHASE: 'post-up' });
    const d = timeRun([exe, 'ifupdown'], { ...env, MODE: 'stop', PHASE: 'post-down' });
    timeRun([exe, '--version'], {});
    timeRun([exe, '--version'], {});
    if (i >= 3) version.push(v), up.push(u), down.push(d);
  }
  const hook = { version_ms: summarize(version), if_up_ms: summarize(up), if_post_down_ms: summarize(down) };
  hook.ratio_p50 = round(hook.if_up_ms.p50 / hook.version_ms.p50, 2);
  hook.ratio_p99 = round(hook.if_up_ms.p99 / hook.version_ms.p99, 2);
  hook.target_ratio = 1.3;

  // Scale: 64 interfaces, hooks at once.
  const N = 64;
  const batch = [];
  for (let i = 0; i < N; i++) batch.push(`link add up${i} type veth peer name dn${i}`, `link set up${i} up`, `link set dn${i} up`, `address add 10.2.${i}.2/24 dev up${i}`);
  execFileSync('ip', ['-n', ns, '-batch', '-'], { input: `${batch.join('\n')}\n` });
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: N }, (_, i) => runAsync([exe, 'ifupdown'], { IFACE: `up${i}`, ADDRFAM: 'inet', METHOD: 'static', MODE: 'start', PHASE: 'post-up', IF_ADDRESS: `10.2.${i}.2/24`, IF_GATEWAY: `10.2.${i}.1` })));
  const wall = ms(t0);
  const rules = JSON.parse(ip('-N', '-json', 'rule', 'show')).filter((r) => r.protocol === '201');
  const keys = rules.map((r) => `${r.priority} ${r.src} ${r.dst} ${r.iif} ${r.oif} ${r.table}`);
  const tables = new Set(rules.map((r) => r.table));
  // The band: `from all lookup T` (no selector); main's suppress rule (table 254) is the family's one more rule.
  const band = rules.filter((r) => r.src === 'all' && !r.iif && !r.oif && !r.dst && r.table !== '254').map((r) => r.priority).sort((x, y) => x - y);
  const scale = {
    interfaces: N,
    wall_ms: round(wall),
    distinct_tables: tables.size,
    rules: rules.length,
    duplicate_rules: keys.length - new Set(keys).size,
    dense_band: band.length === N && band.every((p, i) => p === 31000 + i),
    suppress_rules: rules.filter((r) => r.table === '254' && r.suppress_prefixlen === 0).length,
  };

  // Planner: one more address with 20 vs 500 rules of ours.
  const planJs = path.join(dir, 'plan.mjs');
  await build({
    stdin: {
      contents: `export { planEvent } from './lib/plan/plan.ts'; export { parseConfig } from './lib/config/parse.ts'; export { parseInterfaceAddress, parsePrefix } from './lib/net/address.ts';`,
      resolveDir: root, loader: 'ts',
    },
    bundle: true, platform: 'node', format: 'esm', outfile: planJs, logLevel: 'error',
  });
  const { planEvent, parseConfig, parseInterfaceAddress, parsePrefix } = await import(planJs);
  const config = parseConfig('');
  const stateWith = (n) => {
    const links = [];
    const rules = [];
    for (let i = 0; i < n; i++) {
      const a = parseInterfaceAddress(`10.${i >> 8}.${i & 255}.2/24`);
      links.push({ ifindex: 10 + i, ifname: `eth${i}`, up: true, carrier: true, addresses: [{ address: a, scope: 0, flags: [] }] });
      const base = { family: 4, table: 10000 + i, protocol: 201, detached: false, foreignSelectors: false };
      rules.push({ ...base, priority: 10000, src: parsePrefix(`${a.address.text}/32`) }, { ...base, priority: 15000, oif: `eth${i}` },
        { ...base, priority: 20000, dst: a.prefix }, { ...base, priority: 31000 + i });
    }
    rules.push({ family: 4, priority: 30000, table: 254, suppressPrefixLength: 0, protocol: 201, detached: false, foreignSelectors: false });
    links.push({ ifindex: 5000, ifname: 'wwan0', up: true, carrier: true, addresses: [{ address: parseInterfaceAddress('100.64.0.2/24'), scope: 0, flags: [] }] });
    return { links, routes: [], rules, sysctls: {} };
  };
  const event = { kind: 'address-up', source: 'ifupdown', ifname: 'wwan0', address: parseInterfaceAddress('100.64.0.2/24'), gateways: [], routes: [], manageAddress: false };
  const timePlan = (n) => {
    const state = stateWith(n);
    const xs = [];
    for (let i = 0; i < 200; i++) {
      const t = process.hrtime.bigint();
      planEvent({ state, event, config, table: 10999 });
      xs.push(ms(t));
    }
    return round(percentile(xs, 50), 3);
  };
  const planner = { rules_20_ms: timePlan(5), rules_500_ms: timePlan(125) };
  planner.ratio = round(planner.rules_500_ms / planner.rules_20_ms, 1);

  console.log(JSON.stringify({ hook, scale, planner }));
} finally {
  // Wait for the daemon to exit: it may still write under the dir being removed.
  if (daemon && daemon.exitCode === null) {
    const exited = new Promise((resolve) => daemon.once('exit', resolve));
    daemon.kill('SIGTERM');
    await exited;
  }
  try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }); } catch {}
  rmSync(dir, { recursive: true, force: true });
  rmSync(run, { recursive: true, force: true });
}
