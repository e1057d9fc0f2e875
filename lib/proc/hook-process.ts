// A process as /proc shows it, and the check that a PID handed to the daemon
// over its hand-over FIFO (lib/daemon/handover.ts) is a hook waiting for its
// answer: a root bash holding DIR/slot.K open (the slot the request names),
// that is the if-up.d / if-post-down.d hook itself, or whose parent is a root
// shell running dhclient-script (the shim's `bash -c`). Only root can write
// the FIFO; the check keeps a stale, reused or mistaken PID from making the
// daemon apply another process's environment.

import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface ProcInfo {
  pid: number;
  ppid: number;
  /** Real, effective, saved and file-system uid. */
  uids: number[];
  /** The executable, as /proc/PID/exe links it. */
  exe: string;
  argv: string[];
}

export type HookKind = 'dhclient-hook' | 'ifupdown';

/** Where the daemon and the hooks' shells meet (install.sh bakes it into the hooks): the hand-over FIFOs, the renewal files. */
export const handoverDir = (runDir: string): string => join(runDir, 'hook');

const SHELLS = new Set(['sh', 'dash', 'bash', 'busybox']);

/** The process, or undefined when it is gone (or was never there). */
export function readProc(pid: number, proc = '/proc'): ProcInfo | undefined {
  try {
    const status = readFileSync(`${proc}/${pid}/status`, 'utf8');
    const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '';
    const argv = readFileSync(`${proc}/${pid}/cmdline`, 'utf8').split('\0');
    if (argv.at(-1) === '') argv.pop();
    return {
      pid,
      ppid: Number(field('PPid')),
      uids: field('Uid').split(/\s+/).filter(Boolean).map(Number),
      exe: readlinkSync(`${proc}/${pid}/exe`),
      argv,
    };
  } catch {
    return undefined;
  }
}

/** What the process's file descriptors point to (a gone process: none). */
export function readOpenFiles(pid: number, proc = '/proc'): string[] {
  const files: string[] = [];
  try {
    for (const fd of readdirSync(`${proc}/${pid}/fd`)) {
      try {
        files.push(readlinkSync(`${proc}/${pid}/fd/${fd}`));
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    // gone
  }
  return files;
}

/**
 * The process's environment as it was started with, or undefined while it is
 * not whole: empty, or with an entry that has no `=`. bash, as it imports its
 * environment at start, writes a NUL over each entry's `=` for a moment (its
 * variables.c, initialize_shell_variables), so a read then shows that entry
 * as a name and a value apart, and the variable would be lost (seen with the
 * dhclient shim's bash, read while it starts: a BOUND without
 * new_ip_address, 1 in ~600 on a loaded VM). A shell's exec passes only
 * NAME=VALUE entries; one with an empty name is dropped.
 */
export function readEnviron(pid: number, maxBytes: number, proc = '/proc'): Record<string, string> | undefined {
  const raw = readFileSync(`${proc}/${pid}/environ`);
  if (raw.length > maxBytes) throw new Error(`environment of ${raw.length} bytes, more than ${maxBytes}`);
  const env: Record<string, string> = Object.create(null);
  for (const entry of raw.toString('utf8').split('\0')) {
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    if (eq < 0) return undefined;
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return Object.keys(env).length ? env : undefined;
}

/** The environment once whole (readEnviron), read again every ms until `deadline` (ms since the epoch); undefined after it. */
export async function wholeEnviron(pid: number, maxBytes: number, deadline: number, proc = '/proc'): Promise<Record<string, string> | undefined> {
  for (;;) {
    const env = readEnviron(pid, maxBytes, proc);
    if (env || Date.now() > deadline) return env;
    await new Promise((r) => setTimeout(r, 1));
  }
}

const isRoot = (p: ProcInfo) => p.uids.length > 0 && p.uids.every((u) => u === 0);
const isShell = (p: ProcInfo) => SHELLS.has(basename(p.exe));
// install.sh's hook is PREFIX-independent in name: …/if-up.d/multihomed-routing or …/if-post-down.d/multihomed-routing.
const isIfupdownHook = (arg: string) => basename(arg) === 'multihomed-routing' && ['if-up.d', 'if-post-down.d'].includes(basename(dirname(arg)));

/**
 * Why `waiter` (with its open files, and its parent) is not a hook of `kind`
 * waiting on `slot` for the daemon, or undefined when it is. Pure: tests hand
 * it made-up processes.
 */
export function refuseHookChain(kind: HookKind, slot: string, waiter: ProcInfo | undefined, files: readonly string[], parent: ProcInfo | undefined): string | undefined {
  if (!waiter) return 'the process is gone';
  if (!isRoot(waiter) || basename(waiter.exe) !== 'bash' || !files.includes(slot)) {
    return `process ${waiter.pid} is not a hook's bash waiting on ${slot} (${waiter.exe})`;
  }
  if (kind === 'ifupdown') {
    // The if-up.d / if-post-down.d hook waits itself.
    return waiter.argv.slice(1).some(isIfupdownHook) ? undefined : `process ${waiter.pid} (${waiter.argv.slice(0, 3).join(' ')}) is not a if-up.d/if-post-down.d hook`;
  }
  // The shim, sourced by dhclient-script, waits in a `bash -c` of its own.
  if (!parent || !isRoot(parent) || !isShell(parent)) return `the parent of process ${waiter.pid} is gone or not a root shell`;
  return parent.argv.slice(1).some((a) => basename(a) === 'dhclient-script') ? undefined : `process ${parent.pid} (${parent.argv.slice(0, 2).join(' ')}) is not a dhclient-script`;
}

/** Reads the waiter's open files and its parent, then checks them (refuseHookChain). */
export function checkHookProcess(kind: HookKind, waiter: ProcInfo, slot: string, proc = '/proc'): string | undefined {
  const parent = kind === 'dhclient-hook' ? readProc(waiter.ppid, proc) : undefined;
  return refuseHookChain(kind, slot, waiter, readOpenFiles(waiter.pid, proc), parent);
}
