#!/usr/bin/env node
// Adoption benchmarks (issue 17 item 1), printed as one JSON object:
// - adopt: from `ip addr add` (with a default route in main, as a DHCP client
//   without our hook leaves it) to the address's `from` rule and its table's
//   default route in place, p50 and max over 20 addresses, with the default
//   grace period (adopt_grace_ms = 2000) and with none (0: the watcher's own
//   latency: monitor line, coalescing, pass, event);
// - hook: from `ip addr add` to the same state through the ifupdown hook run
//   right after it (what a hook needs of the grace period, without the
//   caller's own delay: ifup's, NetworkManager's dispatcher);
// - takeover: daemon start to tables for 20 addresses present before it;
// - idle: the daemon's CPU over 10 s with 20 adopted addresses and nothing happening.
// Everything runs in a scratch network namespace with its own config, socket,
// run_dir and store under a temp dir; all of it is removed at the end.
import { cpuTicks, daemonNamespace, exe, percentile, round } from './lib.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => Number(process.hrtime.bigint()) / 1e6;
const stats = (xs) => ({ p50: round(percentile(xs, 50)), max: round(Math.max(...xs)) });
const N = 20;
const bed = daemonNamespace('adopt');
const { ip } = bed;

/** True when `address` has its `from` rule and its table a default route. */
function routed(address) {
  const rule = JSON.parse(ip('-N', '-json', 'rule', 'show')).find((r) => r.protocol === '201' && r.src === address);
  return !!rule && ip('route', 'show', 'table', String(rule.table)).includes('default via');
}
async function until(what, check) {
  const t0 = now();
  while (!check()) {
    if (now() - t0 > 15_000) throw new Error(`timed out: ${what}`);
    await sleep(5);
  }
}
/** A veth (NAME, peer NAMEp) up, with a default route via .1 of its /24 once `address` is added. */
function uplink(name, i, withAddress) {
  ip('link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`);
  ip('link', 'set', `${name}p`, 'up');
  ip('link', 'set', name, 'up');
  if (withAddress) addAddress(name, i);
}
function addAddress(name, i) {
  ip('address', 'add', `10.62.${i}.2/24`, 'dev', name);
  ip('route', 'add', 'default', 'via', `10.62.${i}.1`, 'dev', name, 'metric', String(100 + i));
}
const removeAll = (prefix, n) => { for (let i = 0; i < n; i++) ip('link', 'del', `${prefix}${i}`); };

/** Adoption time of N addresses added one after the other. */
async function adoptTimes(prefix, base) {
  const times = [];
  for (let i = 0; i < N; i++) {
    uplink(`${prefix}${i}`, base + i, false);
    await sleep(300); // the link's own events are handled first
    const t0 = now();
    addAddress(`${prefix}${i}`, base + i);
    await until(`adoption of 10.62.${base + i}.2`, () => routed(`10.62.${base + i}.2`));
    times.push(now() - t0);
  }
  removeAll(prefix, N);
  await sleep(1500);
  return times;
}

try {
  // Take-over: 20 addresses present before the daemon starts.
  for (let i = 0; i < N; i++) uplink(`bt${i}`, i, true);
  const t0 = now();
  await bed.startDaemon();
  await until('take-over', () => Array.from({ length: N }, (_, i) => `10.62.${i}.2`).every(routed));
  const takeover = { addresses: N, ms: round(now() - t0) };

  const c0 = cpuTicks(bed.daemon.pid);
  await sleep(10_000);
  const ticks = cpuTicks(bed.daemon.pid) - c0;
  const idle = { seconds: 10, cpu_ms: ticks * 10, cpu_percent: round((ticks / 100 / 10) * 100, 2) };
  removeAll('bt', N);
  await sleep(1500);

  const graceDefault = await adoptTimes('ba', 40);
  await bed.stopDaemon();
  await bed.startDaemon('adopt_grace_ms = 0\n');
  const graceZero = await adoptTimes('bz', 80);

  // A hook reporting the address right after it appears (grace default: the hook wins).
  await bed.stopDaemon();
  await bed.startDaemon();
  const hook = [];
  for (let i = 0; i < N; i++) {
    const name = `bh${i}`;
    uplink(name, 120 + i, false);
    await sleep(300);
    const t = now();
    addAddress(name, 120 + i);
    bed.inNs([exe, 'ifupdown'], { IFACE: name, ADDRFAM: 'inet', METHOD: 'static', MODE: 'start', PHASE: 'post-up', IF_ADDRESS: `10.62.${120 + i}.2/24`, IF_GATEWAY: `10.62.${120 + i}.1` });
    await until(`hook for ${name}`, () => routed(`10.62.${120 + i}.2`));
    hook.push(now() - t);
  }
  removeAll('bh', N);
  await bed.stopDaemon();

  console.log(JSON.stringify({
    adopt_grace_2000_address_to_routed_ms: stats(graceDefault),
    adopt_grace_0_address_to_routed_ms: stats(graceZero),
    hook_address_to_routed_ms: stats(hook),
    takeover,
    idle_with_20_adopted: idle,
  }));
} finally {
  bed.close();
}
