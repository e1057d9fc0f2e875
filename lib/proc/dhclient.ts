// Finding and stopping exactly one interface's dhclient.
//
// `pgrep -f "dhclient.*eth1"` and `kill -9` would also match eth10's and
// eth1.100's clients, and never let one exit cleanly. Here a
// dhclient is found through its pid file (Debian's ifupdown:
// /run/dhclient.IFACE.pid and /run/dhclient6.IFACE.pid; NetworkManager:
// /run/NetworkManager/dhclient[6]-IFACE.pid; anything else named dhclient*.pid
// in /run, /var/run or /run/NetworkManager) and confirmed by the process's
// own command line: its program is dhclient and the interface is one of its
// interface arguments, compared whole (option values are skipped). A client
// serving other interfaces too is left alone (stopping it would stop them).
// It gets SIGTERM, and SIGKILL only if it has not exited after a grace time.

import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';

/** dhclient options that take a value (ISC dhclient 4.4, dhclient(8)). */
const WITH_VALUE = new Set([
  '-p', '-s', '-g', '-e', '-pf', '-lf', '-cf', '-sf', '-df', '-D', '-4o6',
  '--dad-wait-time', '--prefix-len-hint', '--decline-wait-time', '--address-prefix-len', '-timeout',
]);

/** The interface arguments of a dhclient command line (argv), or undefined when it is not dhclient. */
export function dhclientInterfaces(argv: readonly string[]): string[] | undefined {
  const program = argv[0];
  if (program === undefined || !/^dhclient[0-9]*$/.test(basename(program))) return undefined;
  const out: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (WITH_VALUE.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    out.push(a);
  }
  return out;
}

/** /proc/PID/cmdline as an argv ('' entries dropped at the end). */
export function parseCmdline(raw: string): string[] {
  const parts = raw.split('\0');
  while (parts.length && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

export interface DhclientMatch {
  pid: number;
  pidFiles: string[];
  argv: string[];
}

export interface FindOptions {
  /** Where pid files are looked for. */
  pidDirs?: readonly string[];
  procRoot?: string;
}

export const DEFAULT_PID_DIRS = ['/run', '/var/run', '/run/NetworkManager', '/var/lib/NetworkManager'];

/** Candidate pid files: the layouts we know first, then any dhclient*.pid in the directories. */
function candidatePidFiles(ifname: string, dirs: readonly string[]): string[] {
  const files = new Set<string>();
  for (const dir of dirs) {
    for (const name of [`dhclient.${ifname}.pid`, `dhclient6.${ifname}.pid`, `dhclient-${ifname}.pid`, `dhclient6-${ifname}.pid`]) files.add(join(dir, name));
    let entries: string[] = [];
    try {
      entries = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of entries) if (/^dhclient.*\.pid$/.test(name)) files.add(join(dir, name));
  }
  return [...files];
}

function readPid(file: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
  return /^[1-9]\d{0,9}$/.test(text) ? Number(text) : undefined;
}

function readArgv(pid: number, procRoot: string): string[] | undefined {
  try {
    return parseCmdline(readFileSync(join(procRoot, String(pid), 'cmdline'), 'utf8'));
  } catch {
    return undefined;
  }
}

export interface FindResult {
  /** dhclients of exactly this interface. */
  matches: DhclientMatch[];
  /** dhclients naming this interface among others: left alone. */
  shared: DhclientMatch[];
}

/** The running dhclients of `ifname`, found by pid file and confirmed by their command line. */
export function findDhclients(ifname: string, options: FindOptions = {}): FindResult {
  const procRoot = options.procRoot ?? '/proc';
  const byPid = new Map<number, DhclientMatch>();
  const shared = new Map<number, DhclientMatch>();
  for (const file of candidatePidFiles(ifname, options.pidDirs ?? DEFAULT_PID_DIRS)) {
    const pid = readPid(file);
    if (pid === undefined) continue;
    const known = byPid.get(pid) ?? shared.get(pid);
    if (known) {
      if (!known.pidFiles.includes(file)) known.pidFiles.push(file);
      continue;
    }
    const argv = readArgv(pid, procRoot);
    if (!argv) continue;
    const ifaces = dhclientInterfaces(argv);
    if (!ifaces?.includes(ifname)) continue;
    const match = { pid, pidFiles: [file], argv };
    if (ifaces.every((i) => i === ifname)) byPid.set(pid, match);
    else shared.set(pid, match);
  }
  return { matches: [...byPid.values()], shared: [...shared.values()] };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function isRunning(pid: number, procRoot: string): boolean {
  // A zombie still answers kill(0): look at its state.
  try {
    const stat = readFileSync(join(procRoot, String(pid), 'stat'), 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export interface StopResult {
  pid: number;
  how: 'SIGTERM' | 'SIGKILL' | 'already gone' | 'survived SIGKILL';
  ms: number;
}

/**
 * SIGTERM, then SIGKILL after `graceMs` if it is still running; the pid is
 * confirmed again (same command line) right before each signal. Removes
 * the pid files that still name it afterwards.
 */
export async function stopDhclient(match: DhclientMatch, options: { graceMs?: number; procRoot?: string } = {}): Promise<StopResult> {
  const procRoot = options.procRoot ?? '/proc';
  const graceMs = options.graceMs ?? 1000;
  const t0 = Date.now();
  const same = () => {
    const argv = readArgv(match.pid, procRoot);
    return !!argv && argv.join('\0') === match.argv.join('\0') && isRunning(match.pid, procRoot);
  };
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(match.pid, s);
      return true;
    } catch {
      return false;
    }
  };
  const cleanup = () => {
    for (const f of match.pidFiles) if (readPid(f) === match.pid) rmSync(f, { force: true });
  };
  if (!same() || !signal('SIGTERM')) {
    cleanup();
    return { pid: match.pid, how: 'already gone', ms: Date.now() - t0 };
  }
  for (let waited = 0; waited < graceMs; waited += 10) {
    await sleep(10);
    if (!isRunning(match.pid, procRoot)) {
      cleanup();
      return { pid: match.pid, how: 'SIGTERM', ms: Date.now() - t0 };
    }
  }
  if (same()) signal('SIGKILL');
  for (let waited = 0; waited < 1000; waited += 10) {
    if (!isRunning(match.pid, procRoot)) {
      cleanup();
      return { pid: match.pid, how: 'SIGKILL', ms: Date.now() - t0 };
    }
    await sleep(10);
  }
  return { pid: match.pid, how: 'survived SIGKILL', ms: Date.now() - t0 };
}
