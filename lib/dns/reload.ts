// Tells the host's dnsmasq to re-read its servers-file: SIGHUP to the one
// process named in its pid file, and only if that process is dnsmasq. Never
// a signal to every dnsmasq (a host may run others: libvirt's, a DHCP server).

import { readFileSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';

export type ReloadResult =
  | { kind: 'signalled'; pid: number }
  /** No pid file or no such process: nothing to tell (not an error). */
  | { kind: 'not-running'; why: string }
  /** The pid file names something that is not dnsmasq: left alone. */
  | { kind: 'refused'; pid?: number; why: string };

/** The dnsmasq of a pid file, or why there is none to talk to. */
export type FoundDnsmasq = { kind: 'found'; pid: number } | Exclude<ReloadResult, { kind: 'signalled' }>;

export interface ReloadDeps {
  /** Where /proc is (tests use a fake tree). */
  procRoot?: string;
  kill?: (pid: number, signal: NodeJS.Signals) => void;
}

const errno = (err: unknown) => (err as NodeJS.ErrnoException).code;

/** The dnsmasq whose pid is in `pidFile`, checked to be dnsmasq (its comm and its executable's name). */
export function findDnsmasq(pidFile: string, procRoot = '/proc'): FoundDnsmasq {
  let text: string;
  try {
    text = readFileSync(pidFile, 'utf8');
  } catch (err) {
    if (errno(err) === 'ENOENT') return { kind: 'not-running', why: `no pid file ${pidFile}` };
    throw err;
  }
  const pidText = text.trim();
  if (!/^[1-9]\d{0,9}$/.test(pidText)) {
    return { kind: 'refused', why: `expected a process id in ${pidFile}, received ${JSON.stringify(pidText.slice(0, 40))}` };
  }
  const pid = Number(pidText);
  let comm: string;
  try {
    comm = readFileSync(join(procRoot, String(pid), 'comm'), 'utf8').trim();
  } catch (err) {
    if (errno(err) === 'ENOENT') return { kind: 'not-running', why: `pid ${pid} from ${pidFile} is not running` };
    throw err;
  }
  if (comm !== 'dnsmasq') {
    return { kind: 'refused', pid, why: `pid ${pid} from ${pidFile} is ${JSON.stringify(comm)}, not dnsmasq` };
  }
  // comm can be set by any process; the executable's name cannot. After a
  // package upgrade the link reads ".../dnsmasq (deleted)".
  let exe: string | undefined;
  try {
    exe = basename(readlinkSync(join(procRoot, String(pid), 'exe')));
  } catch (err) {
    if (errno(err) === 'ENOENT') return { kind: 'not-running', why: `pid ${pid} from ${pidFile} is not running` };
    if (errno(err) !== 'EACCES' && errno(err) !== 'EPERM') throw err;
  }
  if (exe !== undefined && !/^dnsmasq( \(deleted\))?$/.test(exe)) {
    return { kind: 'refused', pid, why: `pid ${pid} from ${pidFile} runs ${JSON.stringify(exe)}, not dnsmasq` };
  }
  return { kind: 'found', pid };
}

/** SIGHUPs the dnsmasq whose pid is in `pidFile`, after checking it is dnsmasq. */
export function reloadDnsmasq(pidFile: string, deps: ReloadDeps = {}): ReloadResult {
  const kill = deps.kill ?? ((pid, signal) => process.kill(pid, signal));
  const found = findDnsmasq(pidFile, deps.procRoot);
  if (found.kind !== 'found') return found;
  const { pid } = found;
  try {
    kill(pid, 'SIGHUP');
  } catch (err) {
    if (errno(err) === 'ESRCH') return { kind: 'not-running', why: `pid ${pid} from ${pidFile} exited` };
    throw err;
  }
  return { kind: 'signalled', pid };
}
