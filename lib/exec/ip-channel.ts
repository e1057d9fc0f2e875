// The one way to `ip`: read the state of a family, apply a batch of changes.
//
// Starting a program from Node forks the whole runtime (~5 ms before the
// program even runs), so reads and changes go to an `ip -N -json -4|-6
// -batch -` process already running: it runs its input line by line and
// flushes each command's JSON as one line. A read takes one line per `show`
// command; a batch of changes is followed by a marker (`link show dev lo`)
// whose line says they all ran. ip stops at the first failing change: the
// process exits, its `Command failed -:N` is renumbered as if the batch ran
// alone, and the next call starts a fresh process.
//
// ip caches interface index ↔ name for its whole life (ll_map): a long-lived
// ip prints a renamed interface under its old name and resolves `dev NAME`
// to a deleted interface's index. So every read starts with `link show`, and
// when the (index, name) pairs differ from the previous read of that process,
// the process is replaced and the read done again.
//
// What one process cannot do runs in processes of its own (run.ts): forced
// batches (undo), names the batch tokenizer cannot carry (one argv at a
// time), a read whose lines did not come in time (read at exit; failing
// that, one command at a time), and anything after close().

import { spawn, type ChildProcess } from 'node:child_process';
import type { Family } from '../net/address.js';
import { CommandError, run, type RunResult } from './run.js';

/** What a read can ask for, and the command that shows it. */
const SHOW = { links: 'link show', addresses: 'addr show', routes: 'route show table all', rules: 'rule show' } as const;
export type IpTable = keyof typeof SHOW;

export interface IpApplied {
  /** Lines that took effect before the failure (all of them when it is unknown which did). */
  ran: number;
  error?: CommandError;
}

export interface IpChannel {
  /** The raw `ip -json` output (one JSON array) of each table asked for, of one family. */
  read<T extends IpTable>(family: Family, tables: readonly T[]): Promise<Record<T, string>>;
  /** Applies `ip` commands (argv after `ip -4|-6`) as one batch; stops at the first failure, unless forced. */
  apply(family: Family, commands: readonly (readonly string[])[], options?: { force?: boolean }): Promise<IpApplied>;
  /** Ends the processes (ip exits on EOF); the caller does not wait for them. Idempotent. */
  close(): void;
}

/** The channel over ip processes, as its constructor returns it. */
export interface IpProcesses extends IpChannel {
  /** Starts the process of a family now rather than at its first call. */
  start(family: Family): void;
  /** Processes started so far (tests). */
  readonly started: number;
  /** Characters of ip output held and not handed out (tests: none once every call has returned). */
  readonly buffered: number;
}

export interface IpChannelOptions {
  /** argv that starts ip (tests: ['ip', '-n', NAMESPACE]). */
  ip?: readonly string[];
  /** Longest a read or a batch of changes may take in the long-lived process before it is killed. */
  timeoutMs?: number;
  /** Longest a read waits for its lines before it is done by a process of its own. */
  readTimeoutMs?: number;
  /** Told when a process is replaced (link set changed, died, timed out). */
  onRestart?: (family: Family, why: string) => void;
}

const MARKER = 'link show dev lo';
const isMarker = (line: string) => line.startsWith('[{"ifindex":1,');
/** iproute2's batch tokenizer splits on white space, honours quotes and drops `#…`. */
const batchSafe = (arg: string) => arg !== '' && !/["'#\\\s]/.test(arg);

/** `ifindex:name` pairs of a `link show` JSON line, in order. */
function linkSignature(line: string): string {
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
  take(n: number): string[] {
    let i = 0;
    for (let k = 0; k < n; k++) i = this.stdout.indexOf('\n', i) + 1;
    const out = this.stdout.slice(0, i);
    this.stdout = this.stdout.slice(i);
    return out.split('\n').slice(0, n);
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

  /** Sends commands: its stderr is what ip writes from now on. */
  send(lines: readonly string[]) {
    this.stderr = '';
    this.linesSent += lines.length;
    this.child.stdin!.write(`${lines.join('\n')}\n`);
  }

  /** Ends input: ip exits once it has run what it has; nobody waits for it. */
  end() {
    if (!this.dead) this.child.stdin!.end();
    this.child.unref();
    for (const s of [this.child.stdout, this.child.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();
  }

  kill() {
    if (this.dead) return;
    this.dead = true;
    this.child.stdin!.end();
    this.child.kill('SIGKILL');
  }
}

/** Line N of the stderr of a batch (`Command failed -:N`): lines before it ran; without it, any may have. */
function failed(result: RunResult, lines: number): IpApplied {
  const m = /Command failed -:(\d+)/.exec(result.stderr);
  return { ran: m ? Number(m[1]) - 1 : lines, error: new CommandError(result) };
}

/** The daemon's channel: a process per family, started when first needed and kept until close(). */
export function openIpChannel(options: IpChannelOptions = {}): IpProcesses {
  const ip = options.ip ?? ['ip'];
  const timeoutMs = options.timeoutMs ?? 10_000;
  const readTimeoutMs = options.readTimeoutMs ?? timeoutMs;
  const procs = new Map<Family, Proc>();
  const chains = new Map<Family, Promise<unknown>>();
  let started = 0;
  let closed = false;

  function proc(f: Family): Proc {
    let p = procs.get(f);
    if (!p || p.dead) {
      p = new Proc([...ip, '-N', '-json', `-${f}`, '-batch', '-']);
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
  /** One call at a time per family: a process answers in order. */
  function queued<T>(f: Family, work: () => Promise<T>): Promise<T> {
    const next = (chains.get(f) ?? Promise.resolve()).then(work);
    chains.set(f, next.catch(() => {}));
    return next;
  }

  /** A read in a process of its own: one batch read at exit, else one command at a time. */
  async function readAlone(f: Family, commands: string[]): Promise<string[]> {
    const argv = [...ip, '-N', '-json', `-${f}`];
    const batch = await run([...argv, '-batch', '-'], { input: `${commands.join('\n')}\n`, reject: false });
    const lines = batch.stdout.split('\n').filter((l) => l.trim() !== '');
    if (batch.exitCode === 0 && lines.length === commands.length && lines.every((l) => l.startsWith('['))) return lines;
    return Promise.all(commands.map(async (c) => (await run([...argv, ...c.split(' ')])).stdout));
  }

  async function readLines(f: Family, commands: string[], retry = true): Promise<string[]> {
    if (closed) return readAlone(f, commands);
    const p = proc(f);
    p.send(commands);
    const ok = await p.wait(() => p.pendingLines().length >= commands.length, readTimeoutMs);
    if (!ok) {
      // ip stopped (a failing command) or does not flush: this read runs in a process of its own.
      replace(f, p.dead ? `ip exited (${p.stderr.trim().split('\n').at(-1) ?? ''})` : 'ip did not answer a read');
      return readAlone(f, commands);
    }
    const lines = p.take(commands.length);
    const signature = linkSignature(lines[0]!);
    if (p.signature !== undefined && p.signature !== signature && retry) {
      replace(f, 'interfaces changed since the last read (ip caches their names)');
      return readLines(f, commands, false);
    }
    p.signature = signature;
    return lines;
  }

  async function applyLines(f: Family, commands: readonly (readonly string[])[], force: boolean): Promise<IpApplied> {
    const argv = ['ip', `-${f}`, ...(force ? ['-force'] : []), '-batch', '-'];
    if (!commands.every((c) => c.every(batchSafe))) {
      // A name with quotes or '#' cannot go through the batch tokenizer: argv, one by one.
      for (let i = 0; i < commands.length; i++) {
        const r = await run([...ip, `-${f}`, ...commands[i]!], { reject: false });
        if (r.exitCode !== 0 && !force) return { ran: i, error: new CommandError({ ...r, command: ['ip', `-${f}`, ...commands[i]!] }) };
      }
      return { ran: commands.length };
    }
    const lines = commands.map((c) => c.join(' '));
    if (force || closed) {
      // -force keeps going past failures (an undo): a process of its own, not the one a failure would end.
      const r = await run([...ip, ...argv.slice(1)], { input: `${lines.join('\n')}\n`, reject: false });
      return r.exitCode === 0 || force ? { ran: lines.length } : failed({ ...r, command: argv }, lines.length);
    }
    const t0 = performance.now();
    const p = proc(f);
    const before = p.linesSent;
    p.send([...lines, MARKER]);
    if (await p.wait(() => p.pendingLines().some(isMarker), timeoutMs)) {
      p.take(p.pendingLines().findIndex(isMarker) + 1);
      return { ran: lines.length };
    }
    if (!p.dead) p.kill();
    await p.exited;
    const stderr = p.stderr.replace(/Command failed -:(\d+)/g, (_, n: string) => `Command failed -:${Number(n) - before}`);
    const code = p.exit?.code ?? null;
    replace(f, 'ip stopped at a failing change');
    return failed({
      command: argv, exitCode: code === 0 ? 1 : code, signal: p.exit?.signal ?? null, stdout: '',
      stderr: stderr || 'ip did not finish the changes in time', durationMs: performance.now() - t0,
    }, lines.length);
  }

  return {
    read: (family, tables) => queued(family, async () => {
      // `link show` first, asked for or not: it tells whether the process's names are still right.
      const asked: IpTable[] = tables.filter((t) => t !== 'links');
      const lines = await readLines(family, [SHOW.links, ...asked.map((t) => SHOW[t])]);
      const out: Partial<Record<IpTable, string>> = tables.some((t) => t === 'links') ? { links: lines[0]! } : {};
      asked.forEach((t, i) => (out[t] = lines[i + 1]!));
      return out as Record<(typeof tables)[number], string>;
    }),
    apply: (family, commands, o = {}) =>
      commands.length ? queued(family, () => applyLines(family, commands, o.force ?? false)) : Promise.resolve({ ran: 0 }),
    start: (family) => void proc(family),
    close() {
      closed = true;
      for (const p of procs.values()) p.end();
      procs.clear();
    },
    get started() {
      return started;
    },
    get buffered() {
      return [...procs.values()].reduce((n, p) => n + p.stdout.length + p.stderr.length, 0);
    },
  };
}

/**
 * A hook's channel: the event's family starts now (while the hook takes the
 * routing lock), a read that does not come within a second is done at exit,
 * and close() must be called when the hook is done (ip waits for its input).
 */
export function openHookIpChannel(family: Family, options: IpChannelOptions = {}): IpProcesses {
  const channel = openIpChannel({ readTimeoutMs: 1000, ...options });
  channel.start(family);
  return channel;
}
