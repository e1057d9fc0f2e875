// Long-lived `ip -N -json -4|-6 -batch -` processes for the daemon: the state
// read and the changes of every event it applies go to a process that is
// already running, so an event costs no fork (lib/exec/ip-session.ts is the
// one-shot form a hook uses when it works alone).
//
// It is a Runner answering two calls per family and handing everything else
// (undo batches with -force, names the batch tokenizer cannot carry) to the
// ordinary runner:
//   ip -N -json -F -batch -   a read: one output line per input line
//   ip -F -batch -            changes: written, then a marker command
//                             (`link show dev lo`) whose output line says
//                             they all ran
// ip stops at the first failing line (no -force): the process exits, its
// `Command failed -:N` is renumbered as if the batch ran alone, and the next
// call starts a fresh process.
//
// iproute2 caches interface index ↔ name for its whole life (ll_map): a
// long-lived ip prints a renamed interface under its old name and resolves
// `dev NAME` to a deleted interface's index. So every read starts with a
// fresh `link show` (added when the caller did not ask for it), and when the
// (index, name) pairs differ from the previous read of that process, the
// process is replaced and the read done again by the new one.

import { spawn, type ChildProcess } from 'node:child_process';
import type { Family } from '../net/address.js';
import { CommandError, run as defaultRun, type RunOptions, type RunResult, type Runner } from './run.js';

export interface IpServerOptions {
  fallback?: Runner;
  /** argv that starts ip (tests: ['ip', '-n', NAMESPACE]). */
  ip?: readonly string[];
  /** Longest a read or a batch of changes may take before the process is killed. */
  timeoutMs?: number;
  /** Told when a process is replaced (link set changed, died, timed out). */
  onRestart?: (family: Family, why: string) => void;
}

export interface IpServer {
  run: Runner;
  /** Ends the processes (they exit on EOF). */
  close(): void;
  /** Processes started so far (tests, the daemon's log). */
  readonly started: number;
  /** Characters of ip output held and not handed out (tests: none once every call has returned, however many ran). */
  readonly buffered: number;
}

const MARKER = 'link show dev lo';
const LINKS = 'link show';

/** `ifindex:name` pairs of a `link show` JSON line, in order. */
export function linkSignature(line: string): string {
  try {
    const links = JSON.parse(line) as { ifindex?: unknown; ifname?: unknown }[];
    return links.map((l) => `${l.ifindex}:${l.ifname}`).join(';');
  } catch {
    return `unparsable:${Math.random()}`; // never equal: the next read gets a fresh process
  }
}

class Proc {
  child: ChildProcess;
  /** Output not handed out yet: take() drops what it hands out, so a process that lives for months holds one answer at most. */
  stdout = '';
  /** What ip wrote to stderr since the current read or batch was sent (send()). */
  stderr = '';
  linesSent = 0;
  dead = false;
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  wake?: () => void;
  signature?: string;
  readonly exited: Promise<void>;

  constructor(argv: readonly string[]) {
    this.child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8');
    this.child.stderr!.setEncoding('utf8');
    this.child.stdout!.on('data', (s: string) => {
      this.stdout += s;
      this.wake?.();
    });
    this.child.stderr!.on('data', (s: string) => (this.stderr += s));
    this.child.stdin!.on('error', () => {});
    this.exited = new Promise((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null) => {
        this.exit ??= { code, signal };
        this.dead = true;
        resolve();
        this.wake?.();
      };
      this.child.on('error', () => done(null, null));
      this.child.on('close', done);
    });
  }

  /** Lines of output not handed out yet, complete ones only. */
  pendingLines(): string[] {
    const end = this.stdout.lastIndexOf('\n');
    return end < 0 ? [] : this.stdout.slice(0, end).split('\n');
  }

  /** Hands out the first `n` lines of output and forgets them. */
  take(n: number): string {
    let i = 0;
    for (let k = 0; k < n; k++) i = this.stdout.indexOf('\n', i) + 1;
    const out = this.stdout.slice(0, i);
    this.stdout = this.stdout.slice(i);
    return out;
  }

  /** Waits until `ready()` or the process ends or the time is up; true when ready. */
  async wait(ready: () => boolean, timeoutMs: number): Promise<boolean> {
    if (ready()) return true;
    if (this.dead) return false;
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(false), timeoutMs);
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve(ok);
      };
      this.wake = () => {
        if (ready()) finish(true);
        else if (this.dead) finish(false);
      };
    });
  }

  /** Sends a read or a batch: its stderr is what ip writes from now on. */
  send(text: string, lines: number) {
    this.stderr = '';
    this.linesSent += lines;
    this.child.stdin!.write(text);
  }

  kill() {
    if (this.dead) return;
    this.dead = true;
    this.child.stdin!.end();
    this.child.kill('SIGKILL');
  }
}

const countLines = (input: string) => input.split('\n').filter((l) => l.trim() !== '').length;
const withNewline = (input: string) => (input.endsWith('\n') ? input : `${input}\n`);

export function openIpServer(options: IpServerOptions = {}): IpServer {
  const fallback = options.fallback ?? defaultRun;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const procs = new Map<Family, Proc>();
  const chains = new Map<Family, Promise<unknown>>();
  let started = 0;
  let closed = false;

  const readArgv = (f: Family) => ['ip', '-N', '-json', `-${f}`, '-batch', '-'];
  const applyArgv = (f: Family) => ['ip', `-${f}`, '-batch', '-'];
  const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

  function proc(f: Family): Proc {
    let p = procs.get(f);
    if (!p || p.dead) {
      const argv = [...(options.ip ?? ['ip']), ...readArgv(f).slice(1)];
      p = new Proc(argv);
      started++;
      procs.set(f, p);
    }
    return p;
  }
  function replace(f: Family, why: string) {
    procs.get(f)?.kill();
    procs.delete(f);
    options.onRestart?.(f, why);
  }

  const result = (argv: readonly string[], t0: number, fields: Partial<RunResult>): RunResult => ({
    command: [...argv], exitCode: 0, signal: null, stdout: '', stderr: '', durationMs: performance.now() - t0, ...fields,
  });

  async function read(f: Family, argv: readonly string[], input: string, runOptions: RunOptions, retry = true): Promise<RunResult> {
    const t0 = performance.now();
    const p = proc(f);
    const asked = input.trimStart().startsWith(`${LINKS}\n`);
    const text = asked ? withNewline(input) : `${LINKS}\n${withNewline(input)}`;
    const want = countLines(text);
    p.send(text, want);
    const ok = await p.wait(() => p.pendingLines().length >= want, timeoutMs);
    if (!ok) {
      // ip stopped (a failing command) or hangs: this read runs in a process of its own.
      replace(f, p.dead ? `ip exited (${p.stderr.trim().split('\n').at(-1) ?? ''})` : 'ip did not answer a read');
      return fallback(argv, runOptions);
    }
    const out = p.take(want);
    const links = out.slice(0, out.indexOf('\n'));
    const signature = linkSignature(links);
    if (p.signature !== undefined && p.signature !== signature && retry) {
      replace(f, 'interfaces changed since the last read (ip caches their names)');
      return read(f, argv, input, runOptions, false);
    }
    p.signature = signature;
    return result(argv, t0, { stdout: asked ? out : out.slice(links.length + 1) });
  }

  async function apply(f: Family, argv: readonly string[], input: string, runOptions: RunOptions): Promise<RunResult> {
    const t0 = performance.now();
    const p = procs.get(f);
    // Changes go only to the process that made the read they were planned from.
    if (!p || p.dead) return fallback(argv, runOptions);
    const before = p.linesSent;
    const lines = countLines(input);
    p.send(`${withNewline(input)}${MARKER}\n`, lines + 1);
    const ok = await p.wait(() => p.pendingLines().some((l) => l.startsWith('[{"ifindex":1,')), timeoutMs);
    let r: RunResult;
    if (ok) {
      const pending = p.pendingLines();
      const out = p.take(pending.findIndex((l) => l.startsWith('[{"ifindex":1,')) + 1);
      r = result(argv, t0, { stdout: out.slice(0, out.lastIndexOf('\n', out.length - 2) + 1) });
    } else {
      if (!p.dead) p.kill();
      await p.exited;
      const stderr = p.stderr.replace(/Command failed -:(\d+)/g, (_, n: string) => `Command failed -:${Number(n) - before}`);
      r = result(argv, t0, { exitCode: p.exit?.code ?? null, signal: p.exit?.signal ?? null, stderr: stderr || 'ip did not finish the changes in time' });
      if (r.exitCode === 0) r.exitCode = 1; // ended without the marker: not a success
      replace(f, 'ip stopped at a failing change');
    }
    if (r.exitCode !== 0 && runOptions.reject !== false) throw new CommandError(r);
    return r;
  }

  const run: Runner = (argv, runOptions = {}) => {
    const f: Family | undefined = argv.includes('-4') ? 4 : argv.includes('-6') ? 6 : undefined;
    if (closed || f === undefined || runOptions.input === undefined) return fallback(argv, runOptions);
    const kind = same(argv, readArgv(f)) ? 'read' : same(argv, applyArgv(f)) ? 'apply' : undefined;
    if (!kind) return fallback(argv, runOptions);
    const input = runOptions.input as string;
    const next = (chains.get(f) ?? Promise.resolve()).then(() => (kind === 'read' ? read(f, argv, input, runOptions) : apply(f, argv, input, runOptions)));
    chains.set(f, next.catch(() => {}));
    return next;
  };

  return {
    run,
    get started() {
      return started;
    },
    get buffered() {
      let n = 0;
      for (const p of procs.values()) n += p.stdout.length + p.stderr.length;
      return n;
    },
    close() {
      closed = true;
      for (const p of procs.values()) {
        if (!p.dead) p.child.stdin!.end();
      }
      procs.clear();
    },
  };
}
