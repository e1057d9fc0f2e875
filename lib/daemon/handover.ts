// The hook hand-over: how a hook's shell gives its event to the running
// daemon without starting a runtime (~65 ms a DHCP event). The daemon makes
// the FIFOs DIR/hook.fifo and DIR/slot.0 … slot.N-1 once, at start. A hook
// claims a free slot K by creating DIR/claim.K (noclobber: O_EXCL, no
// process), opens slot.K read-write on fd 3 (never blocks), writes `KIND P K`
// to hook.fifo, and reads the reply in bash (P): bash's `read -t` waits with
// a bound and no process of its own, where dash needs timeout(1) and cat (two
// starts, ~3 ms each on a small VM). The if-up.d hook is bash itself; the
// dhclient shim (sourced by dash) writes its request from a subshell that
// then execs bash, so the daemon works while bash starts. The daemon here:
//   1. waits until P runs bash (a PID gone first: the hook gave up),
//   2. checks P is a root bash holding slot.K open, the hook itself or under
//      dhclient-script (lib/proc/hook-process.ts),
//   3. reads the event from /proc/P/environ (the variables the hook's shell
//      exported when it started bash, never serialized by a shell) once it
//      is whole (bash hides one entry at a time while it starts), runs the
//      very command the executable would (the same typed parsers) with the
//      jobs going through the event service's queue
//      (lib/dispatch/service.ts),
//   4. writes to slot.K, in one write, while P still holds it: the
//      requester's PID and the reply's length in bytes on a line, then the
//      command's stdout lines, its log lines (`log …`, the hook puts them on
//      stderr), `status=N` and `done`; refused: the length 0,
//   5. removes claim.K once P no longer holds slot.K (it read its reply, gave
//      up or is gone): the daemon, which reads the request, frees the slot.
// One reader per slot: the hook holds the slot read-write (its open never
// blocks), so a slot claimed again while its last reader still read would
// share the reply between two hooks. Hence the claim outlives the reader,
// the reply goes only to a requester that holds its slot, and the hook takes
// only a reply that names it.
// The hook never sees end of file on its slot: it checks every quarter
// second that the daemon lives. A reply without `done` (refused), a daemon
// gone, or none within 10 s makes the hook run the executable alone, as
// without a daemon. Only root can write: DIR is root's and 0700, like the
// socket's. A claim whose request never reached the daemon stays until the
// daemon restarts; with every slot claimed, hooks work alone at once.

import { closeSync, constants, fstatSync, openSync, readdirSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { basename, join } from 'node:path';
import type { CommandContext } from '../cli/context.js';
import type { Config } from '../config/schema.js';
import type { Job, Outcome } from '../dispatch/job.js';
import { run } from '../exec/run.js';
import { createLogger, type Logger, type Syslog } from '../log/log.js';
import { checkHookProcess, readOpenFiles, readProc, wholeEnviron, type HookKind, type ProcInfo } from '../proc/hook-process.js';
import { trace } from '../trace/trace.js';
import { prepareSocketDir } from './socket.js';
import type { Service } from './service.js';

/** What the daemon runs for a handed-over hook: the executable's command, its jobs through `dispatch`. */
export type HandoverHook = (ctx: CommandContext, dispatch: (job: Job) => Promise<Outcome>) => Promise<number>;

export interface HandoverOptions {
  dir: string;
  /** The daemon's config as last read (SIGHUP re-reads it). */
  config(): Config;
  configPath: string;
  log: Logger;
  syslog: Syslog;
  hooks: Partial<Record<HookKind, HandoverHook>>;
  /** A job through the event service's queue, its lines through `log`. */
  dispatch(job: Job, log: Logger, wanted: () => boolean): Promise<Outcome>;
  /** Is the config file still as the daemon last read it? */
  configCurrent(): boolean;
}

const HANDOVER_FIFO = 'hook.fifo';
const HANDOVER_PID = 'daemon.pid';
/** Hooks served at once; one more finds no free slot and works alone. */
const HANDOVER_SLOTS = 32;
/** How long the daemon waits for a hook's subshell to become bash, and for its environment to be whole. */
const EXEC_WAIT_MS = 2_000;
const MAX_ENVIRON_BYTES = 256 * 1024;
/** Below the pipe buffer (64 KiB): the reply is one non-blocking write, its header line included. */
const MAX_REPLY_BYTES = 32 * 1024;
/** The header line: a PID (10 digits at most), a space, a length (5 digits at most, the hooks read no more), a line break. */
const HEADER_BYTES = 17;
const REQUEST = /^(dhclient-hook|ifupdown) ([1-9][0-9]{0,9}) ([0-9]{1,2})$/;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The process once `pid` runs bash (the dhclient shim's subshell execs it
 * right after its request; the if-up.d hook is bash already), or whatever it
 * runs at `deadline` (the check refuses it); undefined when it is gone
 * first. The kernel links the new exe before it lays out the new argv,
 * which is waited for here (the environment: wholeEnviron).
 */
async function runningBash(pid: number, deadline: number): Promise<ProcInfo | undefined> {
  for (;;) {
    const p = readProc(pid);
    if (!p || (basename(p.exe) === 'bash' && basename(p.argv[0] ?? '') === 'bash') || Date.now() > deadline) return p;
    await sleep(1);
  }
}

/** The slot opened for writing, or undefined when no reader holds it (the hook gave up) or it is not our FIFO. */
function openReply(path: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch {
    return undefined; // ENXIO: nobody reads it
  }
  const st = fstatSync(fd);
  if (st.isFIFO() && st.uid === 0) return fd;
  closeSync(fd);
  return undefined;
}

/**
 * The reply to `pid`: its PID and length in bytes on a line, then log lines, stdout lines, status, `done`;
 * within MAX_REPLY_BYTES (log lines go first). Without NUL bytes: bash's `read` drops them, and the
 * length would not add up.
 */
export function encodeHandoverReply(pid: number, out: string, logLines: readonly string[], status: number): string {
  const tail = [...out.replaceAll('\0', ' ').split('\n').filter(Boolean), `status=${status}`, 'done'].map((l) => `${l}\n`).join('');
  let logs = '';
  for (const l of logLines) {
    const line = `log ${l.replace(/[\0\r\n]/g, ' ')}\n`;
    if (Buffer.byteLength(logs + line + tail) > MAX_REPLY_BYTES - HEADER_BYTES) break;
    logs += line;
  }
  return addressed(pid, logs + tail);
}

/** What a refused hand-over gets: an empty reply (no `done`), and its hook works alone at once. */
export const refusedReply = (pid: number): string => addressed(pid, '');

function addressed(pid: number, body: string): string {
  return `${pid} ${Buffer.byteLength(body)}\n${body}`;
}

export async function startHandover(o: HandoverOptions): Promise<Service> {
  const { dir, log } = o;
  prepareSocketDir(dir);
  for (const name of readdirSync(dir)) rmSync(join(dir, name), { force: true }); // a dead daemon's FIFOs
  const fifo = join(dir, HANDOVER_FIFO);
  const slotPath = (k: number) => join(dir, `slot.${k}`);
  await run(['mkfifo', '-m', '600', fifo, ...Array.from({ length: HANDOVER_SLOTS }, (_, k) => slotPath(k))]);
  // O_RDWR: never blocks and never sees EOF when the last writer closes.
  const input = new Socket({ fd: openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK), readable: true, writable: false });
  const inFlight = new Map<number, Promise<void>>();
  let buffered = '';
  let closing = false; // claims still held are removed at the next start

  /** The reply to a request, or undefined when there is none to give (refused, gone, failed): the hook then works alone. */
  async function answer(kind: HookKind, pid: number, slot: string): Promise<string | undefined> {
    const hook = o.hooks[kind];
    const deadline = Date.now() + EXEC_WAIT_MS;
    const waiter = await runningBash(pid, deadline);
    if (!waiter) {
      log.debug('hand-over dropped: the hook gave up or was never there', { pid });
      return undefined;
    }
    const refused = !hook ? `no ${kind} hand-over` : checkHookProcess(kind, waiter, slot) ?? (o.configCurrent() ? undefined : 'the config file changed since the daemon read it (systemctl reload multihomed-routing)');
    if (refused || !hook) {
      log.warn('refused a hand-over; the hook works alone', { kind, pid, reason: refused });
      return undefined;
    }
    try {
      // Read while bash may still be importing it (the shim's request comes before its exec).
      const env = await wholeEnviron(pid, MAX_ENVIRON_BYTES, deadline);
      if (!env) {
        log.warn('refused a hand-over; the hook works alone', { kind, pid, reason: `the environment of process ${pid} was not whole within ${EXEC_WAIT_MS} ms (an entry without =)` });
        return undefined;
      }
      trace('hand-over checked and read');
      const lines: string[] = [];
      let out = '';
      const jobLog = createLogger({ source: kind, verbose: false, syslog: o.config().syslog, sink: o.syslog, write: (l) => lines.push(l) });
      jobLog.debug('handed over to the daemon', { pid: process.pid });
      const ctx: CommandContext = {
        args: [], env, options: { configPath: o.configPath, dryRun: false, verbose: false },
        config: o.config, log: jobLog, out: (t) => void (out += t),
      };
      // A job that waited in the queue past the hook's time-out is dropped: the hook then works alone.
      const status = await hook(ctx, (job) => o.dispatch(job, jobLog, () => readProc(pid) !== undefined));
      log.debug('hand-over served', { kind, pid, status });
      return encodeHandoverReply(pid, out, lines, status);
    } catch (err) {
      log.warn(`hand-over failed; the hook works alone: ${(err as Error).message}`, { kind, pid });
      return undefined;
    }
  }

  async function serve(kind: HookKind, pid: number, slot: string): Promise<void> {
    trace('hand-over request read');
    const reply = await answer(kind, pid, slot);
    // Only to the requester, while it holds its slot: never to a hook that claimed the slot since.
    const fd = readOpenFiles(pid).includes(slot) ? openReply(slot) : undefined;
    if (fd === undefined) {
      if (reply !== undefined) log.warn('hand-over answer dropped: the hook no longer waits on its slot (it gave up or was killed)', { kind, pid });
      return;
    }
    try {
      writeSync(fd, reply ?? refusedReply(pid)); // refused: the hook works alone at once
      trace('hand-over answered');
    } finally {
      closeSync(fd);
    }
  }

  /** Frees slot K once `pid` no longer holds it (it read its reply, gave up, or is gone): one reader per slot. */
  async function release(pid: number, slot: string, k: number): Promise<void> {
    for (let i = 0; !closing && readOpenFiles(pid).includes(slot); i++) await sleep(i < 100 ? 1 : 100);
    rmSync(join(dir, `claim.${k}`), { force: true });
  }

  input.setEncoding('utf8');
  input.on('data', (chunk: string) => {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const m = REQUEST.exec(line);
      const k = Number(m?.[3]);
      if (!m || k >= HANDOVER_SLOTS || inFlight.has(k)) {
        log.warn(m ? `refused a hand-over: slot ${k} is unknown or busy` : 'refused a malformed hand-over line', { bytes: line.length });
        continue;
      }
      // The claim goes once the request is done with, whatever its outcome, and its hook let go of the slot.
      const pid = Number(m[2]);
      const served = serve(m[1] as HookKind, pid, slotPath(k))
        .catch((err: Error) => log.warn(`hand-over reply not written: ${err.message}`, { pid }))
        .then(() => release(pid, slotPath(k), k))
        .finally(() => inFlight.delete(k));
      inFlight.set(k, served);
    }
    if (buffered.length > 64) buffered = ''; // no request is that long: drop the garbage, keep reading
  });
  input.on('error', (err) => log.error(`hand-over FIFO: ${err.message}`));
  // Last, and whole (rename): a hook hands over only while this file names a live process.
  writeFileSync(join(dir, `${HANDOVER_PID}.new`), `${process.pid}\n`, { mode: 0o600 });
  renameSync(join(dir, `${HANDOVER_PID}.new`), join(dir, HANDOVER_PID));
  log.debug('hand-over FIFO open', { fifo });

  return {
    name: 'handover',
    async close() {
      // New hooks first go the executable's way; those already handed over are answered.
      for (const name of [HANDOVER_PID, HANDOVER_FIFO]) rmSync(join(dir, name), { force: true });
      input.destroy();
      closing = true;
      await Promise.allSettled([...inFlight.values()]);
    },
  };
}
