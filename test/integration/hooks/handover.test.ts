// The hand-over end to end: the real /sbin/dhclient-script in the test bed's
// host, the shim install.sh renders, the daemon running. BOUND, RENEW,
// RELEASE and EXPIRE handed over give the same kernel state, outcome (what
// dhclient-script's exit hooks see) and exit status as the socket path a
// hook took before (the shim without the hand-over). A daemon stopped
// (SIGSTOP) or killed in the middle of a hand-over costs bounded time and the
// host ends as it does without a daemon. With every reply slot claimed a hook
// works alone at once. And who may hand over: only root, only a hook's bash
// holding slot.K (the if-up.d hook itself, the shim's under dhclient-script);
// a PID that is gone is refused.

import { existsSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderShim, setUpHookedHost } from '../../helpers/hooked-host.js';
import { createTestBed, waitFor, type SpawnedProcess, type TestBed } from '../../helpers/testbed.js';

const ROOT = join(import.meta.dirname, '../../..');
const HOOK_DIR = '/run/multihomed-routing/hook';
const TRACE = '/run/mhr-handover-trace';
const A = '192.168.1.60';
let bed: TestBed;
let exe: string;
let daemon: SpawnedProcess;
let shim: string;

const lease = (prefix: string, address = A) => ({
  [`${prefix}ip_address`]: address,
  [`${prefix}subnet_mask`]: '255.255.255.0',
  [`${prefix}broadcast_address`]: '192.168.1.255',
  [`${prefix}routers`]: '192.168.1.1',
  [`${prefix}domain_name_servers`]: '192.168.1.1',
  [`${prefix}dhcp_lease_time`]: '300',
});
const EVENTS = {
  BOUND: { reason: 'BOUND', interface: 'eth0', ...lease('new_') },
  RENEW: { reason: 'RENEW', interface: 'eth0', ...lease('old_'), ...lease('new_') },
  RELEASE: { reason: 'RELEASE', interface: 'eth0', ...lease('old_') },
  EXPIRE: { reason: 'EXPIRE', interface: 'eth0', ...lease('old_') },
} satisfies Record<string, Record<string, string>>;

/** dhclient-script in a clean environment, as dhclient runs it; what its exit hooks saw. */
async function script(env: Record<string, string>) {
  rmSync(bed.host.path(TRACE), { force: true });
  const t0 = Date.now();
  const r = await bed.host.exec(['env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), '/sbin/dhclient-script'], { reject: false, timeoutMs: 120_000 });
  return { status: r.exitCode, stderr: r.stderr, ms: Date.now() - t0, exitHook: existsSync(bed.host.path(TRACE)) ? readFileSync(bed.host.path(TRACE), 'utf8').trim() : '' };
}

/** What an operator compares: eth0's addresses, our rules and routes (table numbers as T), main's routes. */
async function state() {
  const rules = (await bed.host.rules(4)).filter((r) => !['main', 'local', 'default'].includes(r.table));
  const tables = [...new Set(rules.map((r) => r.table))];
  const routes = (await Promise.all(tables.map((t) => bed.host.routes(t)))).flat();
  const t = (x: unknown) => JSON.stringify(x).replaceAll(/"table":"?\d+"?/g, '"table":"T"');
  return {
    addresses: (await bed.host.addresses('eth0', 4)).map((a) => `${a.local}/${a.prefixlen}`),
    rules: rules.map((r) => t({ ...r, table: 'T' })).sort(),
    routes: routes.map((r) => t(r)).sort(),
    main: (await bed.host.routes('main')).filter((r) => r.dev === 'eth0').map((r) => t(r)).sort(),
  };
}

/** Every event in turn; for each, the exit status, the outcome and the state after it. */
async function cycle() {
  const out: Record<string, unknown> = {};
  for (const [name, env] of [['BOUND', EVENTS.BOUND], ['RENEW', EVENTS.RENEW], ['RELEASE', EVENTS.RELEASE], ['BOUND again', EVENTS.BOUND], ['EXPIRE', EVENTS.EXPIRE]] as const) {
    const r = await script(env);
    out[name] = { status: r.status, exitHook: r.exitHook, state: await state() };
  }
  return out;
}

const daemonLog = () => readFileSync(daemon.logFile, 'utf8');
const served = () => daemonLog().split('\n').filter((l) => l.includes('hand-over served')).length;

async function startDaemon() {
  daemon = bed.host.spawn([exe, '--verbose', 'daemon'], { logName: 'daemon' });
  await waitFor('the hand-over FIFO', () => existsSync(bed.host.path(`${HOOK_DIR}/daemon.pid`)), 20_000, 50);
}
async function stopDaemon() {
  daemon.kill('SIGTERM');
  await daemon.exited;
}
const claims = () => readdirSync(bed.host.path(HOOK_DIR)).filter((f) => f.startsWith('claim.'));
const SLOTS = Array.from({ length: 32 }, (_, k) => `slot.${k}`);

/** Runs `during` once the hook has claimed a reply slot (the event is then on its way to the daemon). */
async function whenHandingOver<T>(during: () => void, run: () => Promise<T>): Promise<T> {
  let done = false;
  const watch = (async () => {
    while (!done) {
      if (claims().length) return during();
      await new Promise((r) => setTimeout(r, 1));
    }
  })();
  const r = await run();
  done = true;
  await watch;
  return r;
}

beforeAll(async () => {
  bed = await createTestBed({ name: 'handover', routers: [{ hostIfname: 'eth0', ipv4: { subnet: '192.168.1.0/24', address: '192.168.1.1' } }] });
  // The hook and the executable are compared: a hook slowed by load must not race the watcher's adoption of its address.
  ({ exe, daemon } = await setUpHookedHost(bed, 'adopt_addresses = no\n'));
  await waitFor('the hand-over FIFO', () => existsSync(bed.host.path(`${HOOK_DIR}/daemon.pid`)), 20_000, 50);
  shim = renderShim(bed.dir);
  expect(shim).toContain(`mhr_handover='${HOOK_DIR}'`);
  await bed.host.writeEtc('dhcp/dhclient-exit-hooks.d/record', `echo "reason=\${reason-<unset>} exit_status=$exit_status" > ${TRACE}\n`);
}, 120_000);
afterAll(() => bed?.destroy());

describe('handed over to the daemon', () => {
  it('BOUND, RENEW, RELEASE, EXPIRE: the same state, outcome and status as through the socket', async () => {
    // Before: the shim without the hand-over (its directory is not the daemon's): the executable, over the socket.
    await bed.host.writeEtc('dhcp/dhclient-enter-hooks.d/multihomed-routing', shim.replace(`mhr_handover='${HOOK_DIR}'`, "mhr_handover='/nonexistent'"));
    const before = await cycle();
    expect(served()).toBe(0);
    await bed.host.writeEtc('dhcp/dhclient-enter-hooks.d/multihomed-routing', shim);
    const after = await cycle();
    expect(served()).toBe(4); // the RENEW after the BOUND took the shim's shortcut (below), with the same outcome
    expect(after).toEqual(before);
    // What that is: BOUND and RENEW handled by us (reason unset for the exit hooks), the address in a table of ours, gone after RELEASE and EXPIRE.
    expect(after.BOUND).toMatchObject({ status: 0, exitHook: 'reason=<unset> exit_status=0', state: { addresses: [`${A}/24`] } });
    expect((after.BOUND as { state: { rules: string[] } }).state.rules.length).toBeGreaterThan(0);
    expect(after.RENEW).toMatchObject({ status: 0, exitHook: 'reason=RENEW exit_status=0' }); // nothing changed: left to the stock RENEW branch
    expect(after.EXPIRE).toMatchObject({ status: 0, state: { addresses: [], rules: [], routes: [] } });
    // Every slot free again (the renewal file is the shim's, lib/dhcp/renewal.ts).
    expect(readdirSync(bed.host.path(HOOK_DIR)).filter((f) => !f.startsWith('renewal.')).sort()).toEqual(['daemon.pid', 'hook.fifo', ...SLOTS].sort());
  }, 240_000);

  it('a daemon stopped (SIGSTOP) or killed while a hook hands over: bounded time, then the host as without a daemon', async () => {
    const handed = await script(EVENTS.BOUND);
    const daemonState = await state();
    await script(EVENTS.RELEASE);
    // The reference: no daemon at all (the executable alone: the allocator retried, then the main table).
    await stopDaemon();
    const alone = await script(EVENTS.BOUND);
    const aloneState = await state();
    expect(alone).toMatchObject({ status: 0, exitHook: 'reason=<unset> exit_status=0' });
    await script(EVENTS.RELEASE);
    await startDaemon();

    // Stopped before the event, once idle (stopped inside its first watcher pass it would hold the routing lock too):
    // the hand-over waits 10 s, then the executable works alone at once (the daemon is not asked again over the socket).
    await waitFor('the daemon idle', () => (daemonLog().includes('watcher pass') && !existsSync(bed.host.path('/run/multihomed-routing/routing.lock'))) || undefined, 20_000, 50);
    const servedBefore = served();
    daemon.kill('SIGSTOP');
    const stopped = await script(EVENTS.BOUND);
    const stoppedState = await state();
    daemon.kill('SIGCONT');
    expect(stopped).toMatchObject({ status: 0, exitHook: alone.exitHook });
    expect(stopped.ms).toBeGreaterThan(10_000);
    expect(stopped.ms).toBeLessThan(60_000);
    expect(stoppedState).toEqual(aloneState);
    // Woken up, it does not apply the event late: nobody waits for its answer.
    await waitFor('the late hand-over dropped', () => daemonLog().includes('hand-over dropped'), 10_000);
    expect(served()).toBe(servedBefore);
    await script(EVENTS.RELEASE);

    // Killed once the hook's reader is waiting: before or after the daemon applied it, the executable finishes the work alone.
    const killed = await whenHandingOver(() => daemon.kill('SIGKILL'), () => script(EVENTS.BOUND));
    const killedState = await state();
    expect(killed).toMatchObject({ status: 0, exitHook: handed.exitHook });
    expect(killed.ms).toBeLessThan(60_000);
    expect([aloneState, daemonState]).toContainEqual(killedState);
    await startDaemon(); // over what the dead one left
    await script(EVENTS.RELEASE);
    expect(await state()).toMatchObject({ addresses: [], rules: [] });
  }, 240_000);
});

describe('the if-up.d / if-post-down.d hook handed over', () => {
  const C = '192.168.1.70';
  let hook: string;
  /** The hook as ifupdown runs it (run-parts executes it) for one static address on eth0. */
  const runHook = (address: string, phase: 'post-up' | 'post-down') => {
    const vars = { IFACE: 'eth0', LOGICAL: 'eth0', ADDRFAM: 'inet', METHOD: 'static', IF_ADDRESS: `${address}/24`, IF_GATEWAY: '192.168.1.1', MODE: phase === 'post-up' ? 'start' : 'stop', PHASE: phase };
    const dir = phase === 'post-up' ? 'if-up.d' : 'if-post-down.d';
    return bed.host.exec(['env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', ...Object.entries(vars).map(([k, v]) => `${k}=${v}`), `/etc/network/${dir}/multihomed-routing`], { reject: false, timeoutMs: 120_000 });
  };
  /** The hook for C, the address put on and flushed as ifupdown does; its status, time and the state after. */
  const ifupdown = async (phase: 'post-up' | 'post-down') => {
    if (phase === 'post-up') await bed.host.exec(['ip', 'address', 'add', `${C}/24`, 'dev', 'eth0']); // what ifupdown does before post-up
    const t0 = Date.now();
    const r = await runHook(C, phase);
    const ms = Date.now() - t0;
    if (phase === 'post-down') await bed.host.exec(['ip', 'address', 'flush', 'dev', 'eth0']);
    return { status: r.exitCode, ms, state: await state() };
  };
  const install = async (text: string) => {
    for (const dir of ['if-up.d', 'if-post-down.d']) await bed.host.writeEtc(`network/${dir}/multihomed-routing`, text, 0o755);
  };
  const withoutTime = ({ status, state }: Awaited<ReturnType<typeof ifupdown>>) => ({ status, state });

  beforeAll(async () => {
    hook = (await bed.host.exec([`${ROOT}/install.sh`, '--print', 'ifupdown-hook', '--prefix', bed.dir])).stdout;
    expect(hook).toContain(`mhr_handover='${HOOK_DIR}'`);
  });

  it('a static address up and down: the same state as the executable gives, through the hand-over', async () => {
    await install(hook.replace(`mhr_handover='${HOOK_DIR}'`, "mhr_handover='/nonexistent'"));
    const before = [await ifupdown('post-up'), await ifupdown('post-down')].map(withoutTime);
    const servedBefore = served();
    await install(hook);
    const after = [await ifupdown('post-up'), await ifupdown('post-down')].map(withoutTime);
    expect(served()).toBe(servedBefore + 2);
    expect(after).toEqual(before);
    expect(after[0]!.state.rules.some((r) => r.includes(`"src":"${C}"`))).toBe(true);
    expect(after[1]!.state).toMatchObject({ addresses: [], rules: [] });
  }, 120_000);

  it('many at once, each slot claimed again as soon as it is free: every hook gets its own reply, never another\'s', async () => {
    await install(hook);
    const addresses = Array.from({ length: 12 }, (_, i) => `192.168.1.${80 + i}`);
    for (const a of addresses) await bed.host.exec(['ip', 'address', 'add', `${a}/24`, 'dev', 'eth0']);
    const servedBefore = served();
    try {
      const ups = await Promise.all(addresses.map((a) => runHook(a, 'post-up')));
      for (const [i, r] of ups.entries()) {
        expect(r.exitCode).toBe(0);
        // Its own reply's log lines, and none of another hook's.
        expect(r.stderr).toMatch(new RegExp(`routing updated .*address=${addresses[i]!.replaceAll('.', '\\.')}/24`));
        for (const other of addresses) if (other !== addresses[i]) expect(r.stderr).not.toContain(`address=${other}/`);
      }
      expect(served()).toBe(servedBefore + addresses.length); // all handed over, none worked alone
      const rules = (await bed.host.rules(4)).map((r) => r.src);
      for (const a of addresses) expect(rules).toContain(a);
    } finally {
      await Promise.all(addresses.map((a) => runHook(a, 'post-down')));
      await bed.host.exec(['ip', 'address', 'flush', 'dev', 'eth0']);
    }
    expect((await bed.host.rules(4)).filter((r) => addresses.includes(r.src ?? ''))).toEqual([]);
    await waitFor('every slot free', () => claims().length === 0 || undefined, 5_000, 20);
  }, 120_000);

  it('the daemon stopped (SIGSTOP) or killed while the hook waits: bounded time, then the host as without a daemon', async () => {
    await install(hook);
    const handed = await ifupdown('post-up');
    await ifupdown('post-down');
    // The reference: no daemon at all (the executable alone: the allocator retried, then the main table).
    await stopDaemon();
    const alone = await ifupdown('post-up');
    await ifupdown('post-down');
    await startDaemon();
    // Stopped once idle: the hook waits its 10 s, then the executable works alone at once (no socket wait).
    await waitFor('the daemon idle', () => (daemonLog().includes('watcher pass') && !existsSync(bed.host.path('/run/multihomed-routing/routing.lock'))) || undefined, 20_000, 50);
    daemon.kill('SIGSTOP');
    let stopped;
    try {
      stopped = await ifupdown('post-up');
    } finally {
      daemon.kill('SIGCONT');
    }
    expect(stopped.ms).toBeGreaterThan(10_000);
    expect(stopped.ms).toBeLessThan(alone.ms + 15_000);
    expect(withoutTime(stopped)).toEqual(withoutTime(alone));
    await ifupdown('post-down');
    // Killed once the hook has claimed its slot: the hook sees the daemon gone within a quarter second, not after 10 s.
    let killedIt = false;
    try {
      const killed = await whenHandingOver(() => ((killedIt = true), daemon.kill('SIGKILL')), () => ifupdown('post-up'));
      expect(killedIt).toBe(true);
      expect(killed.status).toBe(0);
      expect(killed.ms).toBeLessThan(alone.ms + 5_000);
      expect([alone.state, handed.state]).toContainEqual(killed.state);
    } finally {
      if (killedIt) {
        await daemon.exited;
        rmSync(bed.host.path(`${HOOK_DIR}/daemon.pid`), { force: true }); // startDaemon waits for the new daemon's
        await startDaemon(); // over what the dead one left
      }
    }
    await ifupdown('post-down');
    expect((await state()).rules.filter((r) => r.includes(`"src":"${C}"`))).toEqual([]);
  }, 240_000);
});

describe('a renewal that changes nothing, again', () => {
  it('is answered by the shim alone (no process) until a record, the config or dnsmasq\'s pid file is newer than the hook\'s judgement', async () => {
    const renewal = bed.host.path(`${HOOK_DIR}/renewal.eth0.4`);
    const pidFile = bed.host.path(`${HOOK_DIR}/daemon.pid`);
    const pidText = readFileSync(pidFile, 'utf8');
    rmSync(renewal, { force: true });
    await script(EVENTS.BOUND); // configured and recorded by the command (in the daemon), which leaves the shim its lease
    try {
      expect(readFileSync(renewal, 'utf8')).toMatch(/^12:192\.168\.1\.60;13:255\.255\.255\.0;/);
      const servedBefore = served();
      const first = await script(EVENTS.RENEW);
      expect(first.stderr).toMatch(/renewal changes nothing of ours/);
      expect(served()).toBe(servedBefore);
      const again = await script(EVENTS.RENEW);
      expect(again).toMatchObject({ status: 0, exitHook: 'reason=RENEW exit_status=0' }); // left to dhclient-script's RENEW branch
      expect(again.stderr).toMatch(/renewal changes nothing of ours: left to dhclient-script \(address lifetime\) reason=RENEW iface=eth0/);
      expect(served()).toBe(servedBefore); // nobody asked
      // A lease that differs from the judged one: the hook's full path (handled, through the daemon).
      const moved = await script({ ...EVENTS.RENEW, new_routers: '192.168.1.254' });
      expect(moved.exitHook).toBe('reason=<unset> exit_status=0');
      expect(served()).toBe(servedBefore + 1);
      await script(EVENTS.BOUND); // back to the first lease, which it leaves the shim again
      const judged = served();
      // The config file touched: judged again by the command.
      const conf = bed.host.path('/etc/multihomed-routing/multihomed-routing.conf');
      await script(EVENTS.RENEW);
      expect(served()).toBe(judged);
      utimesSync(conf, new Date(), new Date()); // as an edit leaves it
      const reloads = daemonLog().split('config reloaded').length;
      daemon.kill('SIGHUP'); // the daemon reads it again (else it refuses hand-overs with a changed config)
      await waitFor('the config re-read', () => daemonLog().split('config reloaded').length > reloads || undefined, 10_000, 50);
      await script(EVENTS.RENEW);
      expect(served()).toBe(judged + 1);
      // dnsmasq (re)started (its pid file newer): judged again, per-uplink DNS may be on now.
      await script(EVENTS.RENEW);
      expect(served()).toBe(judged + 1);
      const dnsmasqPid = readFileSync(renewal, 'utf8').split('\n')[1]!;
      await bed.host.exec(['sh', '-c', `mkdir -p "$(dirname ${dnsmasqPid})" && echo 4194001 > ${dnsmasqPid}`]);
      await script(EVENTS.RENEW);
      expect(served()).toBe(judged + 2);
      // The daemon gone (its pid file names no process): the shim does not trust the file.
      writeFileSync(pidFile, '4194000\n');
      const stale = await script(EVENTS.RENEW);
      expect(stale.stderr).toMatch(/renewal changes nothing of ours/); // the executable's own judgement, over the socket
      expect(served()).toBe(judged + 2);
    } finally {
      writeFileSync(pidFile, pidText);
      await script(EVENTS.RELEASE);
    }
  }, 120_000);
});

describe('a daemon that died without cleaning up', () => {
  it('its FIFO left behind and its pid now another live process\'s: the hook neither blocks nor hangs, it works alone after the bounded wait', async () => {
    const pidFile = bed.host.path(`${HOOK_DIR}/daemon.pid`);
    daemon.kill('SIGKILL');
    await daemon.exited;
    const other = bed.host.spawn(['sleep', '120'], { logName: 'other' }); // the dead daemon's pid, reused
    try {
      writeFileSync(pidFile, `${other.pid}\n`);
      expect(existsSync(bed.host.path(`${HOOK_DIR}/hook.fifo`))).toBe(true);
      const r = await script(EVENTS.BOUND);
      expect(r).toMatchObject({ status: 0, exitHook: 'reason=<unset> exit_status=0' });
      expect(r.ms).toBeLessThan(60_000); // 10 s for the answer that cannot come, then the executable alone (its allocator retries)
      expect((await state()).addresses).toEqual([`${A}/24`]);
      await script(EVENTS.RELEASE);
    } finally {
      other.kill('SIGKILL');
      rmSync(pidFile, { force: true }); // startDaemon waits for the new daemon's
      await startDaemon();
    }
  }, 120_000);
});

describe('no free slot', () => {
  it('every slot claimed (requests that never reached a daemon): the hook works alone at once, over the socket', async () => {
    const servedBefore = served();
    for (const k of SLOTS.keys()) await bed.host.exec(['sh', '-c', `: > ${HOOK_DIR}/claim.${k}`]);
    try {
      const r = await script(EVENTS.BOUND);
      expect(r).toMatchObject({ status: 0, exitHook: 'reason=<unset> exit_status=0' });
      expect(r.ms).toBeLessThan(10_000); // no wait for a reply that cannot come
      expect(served()).toBe(servedBefore);
      expect((await state()).addresses).toEqual([`${A}/24`]);
    } finally {
      for (const k of SLOTS.keys()) rmSync(bed.host.path(`${HOOK_DIR}/claim.${k}`), { force: true });
      await script(EVENTS.RELEASE);
    }
  }, 120_000);
});

describe('who may hand over', () => {
  const B = '192.168.1.61';
  const bound = Object.entries({ reason: 'BOUND', interface: 'eth0', ...lease('new_', B) }).map(([k, v]) => `${k}=${v}`);
  const nothingOfB = async () => expect((await bed.host.rules(4)).filter((r) => r.src === B)).toEqual([]);
  /**
   * A hand-over made by hand on slot K: claim, the slot held read-write on fd 3, a request of `kind` naming `pid`
   * (a shell expression), then `wait` (which reads fd 3).
   */
  const byHand = (k: number, pid: string, wait: string, kind = 'dhclient-hook') =>
    `set -C; : > ${HOOK_DIR}/claim.${k} && exec 3<>${HOOK_DIR}/slot.${k} && echo "${kind} ${pid} ${k}" 1<>${HOOK_DIR}/hook.fifo && ${wait}`;
  /** bash reading one line of the reply on fd 3, for at most 5 s. */
  const bashReads = `read -r -t 5 -u 3 x; echo "$x"`;

  it('not an unprivileged user: the directory, its FIFOs and slots are root\'s', async () => {
    const asNobody = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--'];
    for (const cmd of [`set -C; : > ${HOOK_DIR}/claim.9`, `echo "dhclient-hook 1 9" > ${HOOK_DIR}/hook.fifo`, `timeout 10 cat ${HOOK_DIR}/slot.9`]) {
      const r = await bed.host.exec(['env', '-i', 'PATH=/usr/bin:/bin', ...bound, ...asNobody, 'sh', '-c', cmd], { reject: false, timeoutMs: 20_000 });
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toMatch(/Permission denied/);
    }
    await nothingOfB();
    expect(claims()).toEqual([]);
  });

  it('not a process that is not the hook\'s bash, under dhclient-script or the if-up.d hook itself: refused, nothing applied, the slot freed', async () => {
    const mark = daemonLog().length;
    const asRoot = (script: string) => bed.host.exec(['env', '-i', 'PATH=/usr/bin:/bin', ...bound, 'sh', '-c', script], { reject: false, timeoutMs: 20_000 });
    const inBash = (script: string) => `bash -c '${script}'`;
    const refusals = [
      // Root, by hand: the waiter is sh's timeout(1), not bash (refused once the daemon stopped waiting for bash).
      await asRoot(byHand(10, '$$', 'exec timeout 5 head -n 1 <&3')),
      // bash holding the slot, but its parent is no dhclient-script.
      await asRoot(inBash(byHand(11, '$$', bashReads))),
      // bash that is no if-up.d / if-post-down.d hook.
      await asRoot(inBash(byHand(14, '$$', bashReads, 'ifupdown'))),
    ];
    // bash holding another slot than the one its request names: the refusal goes to that slot, nobody reads it.
    const otherSlot = await asRoot(inBash(`set -C; : > ${HOOK_DIR}/claim.12 && exec 3<>${HOOK_DIR}/slot.13 && echo "dhclient-hook $$ 12" 1<>${HOOK_DIR}/hook.fifo && ${bashReads}`));
    for (const r of refusals) expect(r.stdout.trim()).toMatch(/^[1-9]\d* 0$/); // the empty reply, to its PID: no `done`, the hook works alone at once
    expect(otherSlot.stdout.trim()).toBe(''); // its read timed out
    const log = daemonLog().slice(mark);
    expect(log).toMatch(/refused a hand-over.*not a hook's bash waiting on \S*slot\.10/);
    expect(log).toMatch(/refused a hand-over.*is not a dhclient-script/);
    expect(log).toMatch(/refused a hand-over.*is not a if-up.d\/if-post-down.d hook/);
    expect(log).toMatch(/refused a hand-over.*waiting on \S*slot\.12/); // its request named slot.12, it holds slot.13
    await nothingOfB();
    await waitFor('the claims freed', () => claims().length === 0 || undefined, 5_000, 20);
  }, 60_000);

  it('not a PID whose process is gone', async () => {
    const pid = 4_194_000;
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    const mark = daemonLog().length;
    const r = await bed.host.exec(['bash', '-c', byHand(15, String(pid), bashReads)], { reject: false });
    expect(r.stdout.trim()).toBe(''); // nothing to whoever holds the slot: it is not the requester (its read timed out)
    expect(daemonLog().slice(mark)).toMatch(/hand-over dropped: the hook gave up or was never there.*pid=4194000/);
  });
});
