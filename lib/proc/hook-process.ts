// A process as /proc shows it, and the check that a PID handed to the daemon
// over its hand-over FIFO (lib/daemon/handover.ts) is a hook waiting for its
// answer: coreutils `timeout` running `cat DIR/slot.K` (the slot the request
// names), started by the hook's shell (dhclient-script; the if-up.d /
// if-post-down.d hook), both root's. Only root can write the FIFO; the check
// keeps a stale, reused or mistaken PID from making the daemon apply another
// process's environment.

import { readFileSync, readlinkSync } from 'node:fs';
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

/** The process's environment as it was started with; an entry without `=` is dropped. */
export function readEnviron(pid: number, maxBytes: number, proc = '/proc'): Record<string, string> {
  const raw = readFileSync(`${proc}/${pid}/environ`);
  if (raw.length > maxBytes) throw new Error(`environment of ${raw.length} bytes, more than ${maxBytes}`);
  const env: Record<string, string> = Object.create(null);
  for (const entry of raw.toString('utf8').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

const isRoot = (p: ProcInfo) => p.uids.length > 0 && p.uids.every((u) => u === 0);
const isShell = (p: ProcInfo) => SHELLS.has(basename(p.exe));
// install.sh's hook is PREFIX-independent in name: …/if-up.d/multihomed-routing or …/if-post-down.d/multihomed-routing.
const isIfupdownHook = (arg: string) => basename(arg) === 'multihomed-routing' && ['if-up.d', 'if-post-down.d'].includes(basename(dirname(arg)));

/**
 * Why [waiter, its parent] is not a hook of `kind` waiting on `slot` for the
 * daemon, or undefined when it is. Pure: tests hand it made-up processes.
 */
export function refuseHookChain(kind: HookKind, slot: string, chain: readonly (ProcInfo | undefined)[]): string | undefined {
  const [waiter, hook] = chain;
  if (!waiter) return 'the process is gone';
  const [cat, path] = waiter.argv.slice(-2);
  if (!isRoot(waiter) || basename(waiter.exe) !== 'timeout' || basename(cat ?? '') !== 'cat' || path !== slot) {
    return `process ${waiter.pid} is not the hook's timeout(1) waiting on ${slot} (${waiter.exe})`;
  }
  if (!hook || !isRoot(hook) || !isShell(hook)) return `the hook of process ${waiter.pid} is gone or not a root shell`;
  const args = hook.argv.slice(1);
  const ok = kind === 'dhclient-hook' ? args.some((a) => basename(a) === 'dhclient-script') : args.some(isIfupdownHook);
  return ok ? undefined : `process ${hook.pid} (${hook.argv.slice(0, 2).join(' ')}) is not a ${kind === 'dhclient-hook' ? 'dhclient-script' : 'if-up.d/if-post-down.d hook'}`;
}

/** Reads the waiter and its parent, then checks them (refuseHookChain). */
export function checkHookProcess(kind: HookKind, pid: number, slot: string, proc = '/proc'): string | undefined {
  const waiter = readProc(pid, proc);
  const hook = waiter && readProc(waiter.ppid, proc);
  return refuseHookChain(kind, slot, [waiter, hook]);
}
