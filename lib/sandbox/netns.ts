// Network namespaces as a sandbox: named namespaces (`ip netns add`), the
// programs run inside them, and their removal (every process in them killed,
// then `ip netns delete`, which takes their veths along). Used by the demo;
// every program goes through lib/exec/run.ts (argv, never a shell).

import { readFileSync, readdirSync } from 'node:fs';
import { run, start, type RunResult, type Started } from '../exec/run.js';

/** The PATH programs in the sandbox get (a hook's environment is as bare). */
export const SANDBOX_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ExecOptions {
  /** Throw on a non-zero exit (default true). */
  reject?: boolean;
  input?: string;
  /** Added to the base environment: PATH and LANG=C only. */
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** A network namespace; `wrap` is the argv prefix that runs a program in it. */
export class Namespace {
  /** Added to every program's environment (a marker that finds them again: `processesWith`). */
  env: Record<string, string> = {};

  constructor(
    readonly name: string,
    readonly wrap: (argv: readonly string[]) => string[] = (argv) => ['ip', 'netns', 'exec', name, ...argv],
  ) {}

  exec(argv: readonly string[], opts: ExecOptions = {}): Promise<RunResult> {
    return run(this.wrap(argv), {
      env: { PATH: SANDBOX_PATH, LANG: 'C', ...this.env, ...opts.env },
      reject: opts.reject ?? true,
      input: opts.input,
      timeoutMs: opts.timeoutMs ?? 30_000,
    });
  }

  /** A long-running program in the namespace, output to logFile. */
  start(argv: readonly string[], logFile: string, env: Record<string, string> = {}): Started {
    return start(this.wrap(argv), { logFile, env: { PATH: SANDBOX_PATH, LANG: 'C', ...this.env, ...env } });
  }

  /** `ip -json ARGS`, parsed. */
  async ipJson<T = unknown>(args: readonly string[]): Promise<T> {
    const r = await this.exec(['ip', '-json', ...args]);
    return (r.stdout.trim() ? JSON.parse(r.stdout) : []) as T;
  }

  /** `ip ARGS` as a person reads it: lines, tabs as spaces. */
  async ipLines(args: readonly string[]): Promise<string[]> {
    const r = await this.exec(['ip', ...args]);
    return r.stdout.split('\n').map((l) => l.replace(/\t/g, ' ').trimEnd()).filter(Boolean);
  }

  async setSysctl(values: Record<string, string | number>): Promise<void> {
    const pairs = Object.entries(values).map(([k, v]) => `${k}=${v}`);
    if (pairs.length) await this.exec(['sysctl', '-q', '-w', ...pairs]);
  }

  /** One echo request; true when the reply came. `from`: an address or a device (`ping -I`). */
  async ping(to: string, opts: { from?: string; timeoutS?: number } = {}): Promise<boolean> {
    const argv = ['ping', '-n', '-q', '-c', '1', '-W', String(opts.timeoutS ?? 2)];
    if (opts.from) argv.push('-I', opts.from);
    argv.push(to);
    return (await this.exec(argv, { reject: false })).exitCode === 0;
  }
}

export async function addNetns(name: string): Promise<Namespace> {
  await run(['ip', 'netns', 'add', name]);
  return new Namespace(name);
}

/** Names of all named network namespaces. */
export async function listNetns(): Promise<string[]> {
  const r = await run(['ip', 'netns', 'list'], { reject: false });
  return r.stdout
    .split('\n')
    .map((line) => line.split(' ')[0]!)
    .filter(Boolean);
}

/** Pids of the processes whose network namespace is `name`. */
export async function netnsPids(name: string): Promise<number[]> {
  const r = await run(['ip', 'netns', 'pids', name], { reject: false });
  return r.stdout
    .split('\n')
    .map((s) => Number.parseInt(s, 10))
    .filter((n) => Number.isInteger(n) && n > 1);
}

/** True when the process exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export function readPidFile(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Pids of the processes whose environment holds `entry` (NAME=value), daemons that forked included. */
export function processesWith(entry: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, 'latin1').split('\0').includes(entry) && isAlive(Number(name))) found.push(Number(name));
    } catch {
      // gone, or a kernel thread
    }
  }
  return found;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGTERM, up to graceMs for them to go, then SIGKILL. */
export async function killPids(pids: Iterable<number>, graceMs = 1000): Promise<void> {
  const live = [...new Set(pids)].filter((p) => p > 1 && p !== process.pid && isAlive(p));
  const send = (sig: NodeJS.Signals) => {
    for (const pid of live) {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  };
  send('SIGTERM');
  for (let waited = 0; waited < graceMs && live.some(isAlive); waited += 20) await delay(20);
  if (!live.some(isAlive)) return;
  send('SIGKILL');
  for (let waited = 0; waited < 2000 && live.some(isAlive); waited += 20) await delay(20);
}

/** Kills every process in the namespace, then deletes it (its veths go with it). */
export async function deleteNetns(name: string, graceMs = 1000): Promise<void> {
  if (!(await listNetns()).includes(name)) return;
  await killPids(await netnsPids(name), graceMs);
  const r = await run(['ip', 'netns', 'delete', name], { reject: false });
  if (r.exitCode !== 0 && (await listNetns()).includes(name)) throw new Error(`ip netns delete ${name}: ${r.stderr.trim()}`);
}

/** Polls `check` until it returns a truthy value; undefined after timeoutMs. */
export async function poll<T>(check: () => Promise<T> | T, timeoutMs: number, stepMs = 50): Promise<T | undefined> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch {
      // not yet
    }
    if (Date.now() >= end) return undefined;
    await delay(stepMs);
  }
}
