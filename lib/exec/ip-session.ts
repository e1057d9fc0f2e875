// One `ip` process for a hook's state read and its changes of one family.
//
// Starting a program from Node forks the whole runtime (~5 ms of the hook's
// own time, before the program even runs), and a hook used two: `ip -json
// -batch -` to read, `ip -batch -` to apply. `ip -batch` runs its standard
// input line by line and, with -json, flushes each command's output as one
// line, so one process can answer the read, wait while the plan is made,
// then take the changes and exit.
//
// The session is a Runner: the reader and the applier keep calling
// `run(argv, {input})` as before. It answers two calls itself:
//   ip -N -json -F -batch -   (reads: one output line per input line)
//   ip -F -batch -            (the first apply batch: the session's last input;
//                              `Command failed -:N` is renumbered as if it ran alone)
// and hands everything else (the other family, -force undo batches, a second
// apply, anything after the process ended) to the ordinary runner. Should
// the read's output not come line by line (an ip that does not flush), stdin
// is closed after a while and the output read at exit; the changes then go
// through a process of their own. `close()` must be called when the caller
// is done (ip waits for its standard input until then).

import { spawn, type ChildProcess } from 'node:child_process';
import type { Family } from '../net/address.js';
import { CommandError, run as defaultRun, type RunOptions, type RunResult, type Runner } from './run.js';

export interface IpSession {
  /** Runner answering the session's reads and first apply batch; the rest goes to the fallback. */
  run: Runner;
  /** Ends the session's input if nothing did; ip exits on its own, the caller's process need not wait for it. Idempotent. */
  close(): void;
}

export interface IpSessionOptions {
  /** Runner for everything the session does not answer. */
  fallback?: Runner;
  /** argv that starts ip (tests: ['ip', '-n', NAMESPACE]). */
  ip?: readonly string[];
  /** How long a read may wait for its lines before stdin is closed to get them. */
  flushTimeoutMs?: number;
}

const sameArgv = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Starts `ip -N -json -<family> -batch -` now; see the file comment. */
export function openIpSession(family: Family, options: IpSessionOptions = {}): IpSession {
  const fallback = options.fallback ?? defaultRun;
  const readArgv = ['ip', '-N', '-json', `-${family}`, '-batch', '-'];
  const applyArgv = ['ip', `-${family}`, '-batch', '-'];
  const started = performance.now();
  let child: ChildProcess | undefined;
  try {
    child = spawn(options.ip?.[0] ?? 'ip', [...(options.ip?.slice(1) ?? []), ...readArgv.slice(1)], { stdio: ['pipe', 'pipe', 'pipe'] });
  } catch {
    child = undefined;
  }
  let ended = !child; // stdin closed: nothing more can be sent
  let exit: { code: number | null; signal: NodeJS.Signals | null; error?: Error } | undefined;
  let stdout = '';
  let stderr = '';
  let consumed = 0; // characters of stdout already handed out
  let linesSent = 0;
  let onChange: (() => void) | undefined; // the one pending read or apply
  const exited = new Promise<void>((resolve) => {
    if (!child) return resolve();
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stdout!.on('data', (s: string) => {
      stdout += s;
      onChange?.();
    });
    child.stderr!.on('data', (s: string) => (stderr += s));
    child.stdin!.on('error', () => {}); // ip gone: seen at close
    child.on('error', (error) => {
      exit ??= { code: null, signal: null, error };
      ended = true;
      resolve();
      onChange?.();
    });
    child.on('close', (code, signal) => {
      exit ??= { code, signal };
      ended = true;
      resolve();
      onChange?.();
    });
  });

  const end = () => {
    if (!ended) {
      ended = true;
      child!.stdin!.end();
    }
  };
  /** Ends the session without changes: ip exits on EOF by itself, nobody waits for it. */
  const close = () => {
    end();
    if (child && !onChange) {
      child.unref();
      (child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
      (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
    }
  };

  const result = (argv: readonly string[], fields: Partial<RunResult>): RunResult => ({
    command: [...argv],
    exitCode: 0,
    signal: null,
    stdout: '',
    stderr: '',
    durationMs: performance.now() - started,
    ...fields,
  });

  /** Writes read commands and waits for one output line each (or the end of ip). */
  async function read(argv: readonly string[], input: string): Promise<RunResult> {
    const want = input.split('\n').filter((l) => l.trim() !== '').length;
    linesSent += want;
    child!.stdin!.write(input.endsWith('\n') ? input : `${input}\n`);
    const complete = () => {
      let count = 0;
      for (let i = consumed; (i = stdout.indexOf('\n', i) + 1) > 0; ) if (++count >= want) return i;
      return -1;
    };
    await new Promise<void>((resolve) => {
      const timer = setTimeout(end, options.flushTimeoutMs ?? 1000);
      onChange = () => {
        if (complete() < 0 && !exit) return;
        clearTimeout(timer);
        onChange = undefined;
        resolve();
      };
      onChange();
    });
    const upTo = complete();
    if (upTo < 0 || (exit && exit.code !== 0)) {
      // ip stopped (a failing command, a crash): the caller runs the commands one by one.
      const out = stdout.slice(consumed);
      consumed = stdout.length;
      return result(argv, { exitCode: exit?.code ?? null, signal: exit?.signal ?? null, stdout: out, stderr });
    }
    const out = stdout.slice(consumed, upTo);
    consumed = upTo;
    return result(argv, { stdout: out });
  }

  /** Sends the changes as the session's last input and waits for ip to exit. */
  async function apply(argv: readonly string[], input: string, options: RunOptions): Promise<RunResult> {
    const before = linesSent;
    const errBefore = stderr.length;
    ended = true;
    child!.stdin!.end(input);
    await exited;
    const renumbered = stderr.slice(errBefore).replace(/Command failed -:(\d+)/g, (_, n: string) => `Command failed -:${Number(n) - before}`);
    const r = result(argv, { exitCode: exit?.code ?? null, signal: exit?.signal ?? null, stdout: stdout.slice(consumed), stderr: renumbered });
    if (exit?.error || ((r.exitCode !== 0 || r.signal) && options.reject !== false)) throw new CommandError(r, exit?.error);
    return r;
  }

  return {
    run: (argv, runOptions = {}) => {
      if (!ended && !exit && runOptions.input !== undefined && !onChange) {
        if (sameArgv(argv, readArgv)) return read(argv, runOptions.input);
        if (sameArgv(argv, applyArgv)) return apply(argv, runOptions.input, runOptions);
      }
      return fallback(argv, runOptions);
    },
    close,
  };
}
