// Synchronous teardown primitives for the namespace test bed. Synchronous on
// purpose: they also run from process 'exit' and signal handlers, where no
// promise would ever settle. Every step tolerates "already gone", so teardown
// is idempotent and safe after a partial set-up.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Where `ip netns exec` looks for per-namespace /etc files. */
export const NETNS_ETC = '/etc/netns';

/** Blocks the thread for ms milliseconds (usable where await is not). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** True when a process with this pid exists (and is not a zombie of ours). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3 (after the parenthesised command) is the state; Z = zombie.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Reads a pid file; undefined when missing or not a number. */
export function readPidFile(file: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** SIGTERM, wait up to graceMs, then SIGKILL; returns once all are gone (or 2 s after SIGKILL). */
export function killPids(pids: Iterable<number>, graceMs = 1500): void {
  const live = [...new Set(pids)].filter((p) => p > 1 && p !== process.pid && isAlive(p));
  for (const pid of live) signal(pid, graceMs > 0 ? 'SIGTERM' : 'SIGKILL');
  const waitFor = (ms: number) => {
    for (let waited = 0; waited < ms && live.some(isAlive); waited += 20) sleepSync(20);
  };
  waitFor(graceMs);
  for (const pid of live) if (isAlive(pid)) signal(pid, 'SIGKILL');
  waitFor(2000);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Names of all named network namespaces (`ip netns list`). */
export function listNetns(): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return (r.stdout ?? '')
    .split('\n')
    .map((line) => line.split(' ')[0]!)
    .filter(Boolean);
}

/** Pids of every process whose network namespace is `name`. */
export function netnsPids(name: string): number[] {
  const r = spawnSync('ip', ['netns', 'pids', name], { encoding: 'utf8' });
  return (r.stdout ?? '')
    .split('\n')
    .map((s) => Number.parseInt(s, 10))
    .filter((n) => Number.isInteger(n));
}

/** Kills every process left in the namespace, then deletes it (its veths go with it). */
export function deleteNetns(name: string, graceMs = 1500): void {
  if (!listNetns().includes(name)) return;
  killPids(netnsPids(name), graceMs);
  const r = spawnSync('ip', ['netns', 'delete', name], { encoding: 'utf8' });
  if (r.status !== 0 && listNetns().includes(name)) {
    throw new Error(`ip netns delete ${name} failed: ${r.stderr}`);
  }
}

/** rm -rf that only accepts paths the test bed owns (a guard against a bad join). */
export function removeOwnedPath(p: string, prefix: string): void {
  const base = path.basename(p);
  if (!base.startsWith(prefix) && !base.startsWith(`.${prefix}`)) {
    throw new Error(`refusing to remove ${p}: not named after the test bed prefix ${prefix}`);
  }
  // An overlay work dir holds a root-only 000 directory; rm as root copes.
  fs.rmSync(p, { recursive: true, force: true, maxRetries: 3 });
}

/** Everything one test bed created, so that it can be removed. */
export interface Resources {
  prefix: string;
  namespaces: string[];
  /** Directories to remove: /etc/netns/NAME, overlay work dirs, temp dirs. */
  dirs: string[];
  /** Pid files of daemons we started (dnsmasq, dhclient). */
  pidFiles: string[];
  /** Pids we started ourselves (namespace holder, spawned processes). */
  pids: Set<number>;
}

/**
 * Removes everything in `res`: processes first, then namespaces, then files.
 * Idempotent. `urgent` (on a signal: vitest sends SIGKILL 500 ms after
 * SIGTERM) kills at once instead of SIGTERM and a grace period.
 */
export function destroyResources(res: Resources, urgent = false): void {
  const graceMs = urgent ? 0 : 1500;
  const errors: string[] = [];
  const pids = new Set(res.pids);
  for (const file of res.pidFiles) {
    const pid = readPidFile(file);
    if (pid) pids.add(pid);
  }
  killPids(pids, graceMs);
  // Namespaces in reverse order of creation (host holder last, it owns the mounts).
  for (const ns of [...res.namespaces].reverse()) {
    try {
      deleteNetns(ns, graceMs);
    } catch (err) {
      errors.push(String(err));
    }
  }
  for (const dir of res.dirs) {
    try {
      removeOwnedPath(dir, res.prefix);
    } catch (err) {
      errors.push(String(err));
    }
  }
  if (errors.length) throw new Error(`test bed teardown: ${errors.join('; ')}`);
}

/**
 * Removes leftovers of earlier, crashed runs of the same test file: namespaces,
 * /etc/netns entries and temp dirs named `mhr-<short>-<pid>-…` whose pid is not
 * alive any more. A run whose process still lives (a parallel run) is left alone.
 */
export function sweepStale(short: string): string[] {
  const pattern = new RegExp(`^\\.?mhr-${escapeRegExp(short)}-(\\d+)(?:-|\\.|$)`);
  const stale = (name: string) => {
    const m = pattern.exec(name);
    if (!m) return false;
    const pid = Number(m[1]);
    return pid !== process.pid && !isAlive(pid);
  };
  const removed: string[] = [];
  for (const ns of listNetns().filter(stale)) {
    deleteNetns(ns);
    removed.push(`netns ${ns}`);
  }
  for (const dir of [NETNS_ETC, os.tmpdir()]) {
    let entries: string[] = [];
    try {
      entries = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const entry of entries.filter(stale)) {
      fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
      removed.push(path.join(dir, entry));
    }
  }
  return removed;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const live = new Set<(urgent: boolean) => void>();
let handlersInstalled = false;

/**
 * Registers a teardown to run if the process exits or is interrupted before the
 * test removes it. Returns the function that unregisters it.
 */
export function onInterrupt(teardown: (urgent: boolean) => void): () => void {
  live.add(teardown);
  if (!handlersInstalled) {
    handlersInstalled = true;
    const runAll = (urgent: boolean) => {
      for (const fn of [...live]) {
        live.delete(fn);
        try {
          fn(urgent);
        } catch (err) {
          process.stderr.write(`test bed teardown on exit: ${String(err)}\n`);
        }
      }
    };
    process.on('exit', () => runAll(true));
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.once(sig, () => {
        runAll(true);
        // Die of the same signal, as the default action would have.
        process.kill(process.pid, sig);
      });
    }
  }
  return () => live.delete(teardown);
}
