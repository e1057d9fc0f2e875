import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

// The one place that starts programs. Argument vectors only, never a shell.
// node:child_process rather than execa: hooks run on every DHCP event and
// execa costs ~25 ms of start-up even bundled (see README, Benchmarks).

export interface RunResult {
  command: string[];
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface RunOptions {
  /** Written to the program's standard input. */
  input?: string;
  /** Resolve with the result instead of throwing on a non-zero exit. */
  reject?: boolean;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** A failed command with its whole context: argv, exit, stderr, duration. */
export class CommandError extends Error {
  readonly shortMessage: string;
  constructor(readonly result: RunResult, cause?: Error) {
    const how = cause
      ? cause.message
      : result.signal
        ? `killed by ${result.signal}`
        : `exit code ${result.exitCode}`;
    const shortMessage = `command failed (${how}): ${formatCommand(result.command)}`;
    super(result.stderr.trim() ? `${shortMessage}\n${result.stderr.trim()}` : shortMessage, { cause });
    this.name = 'CommandError';
    this.shortMessage = shortMessage;
  }
}

/** Quotes an argv for humans (logs, --dry-run); never fed to a shell. */
export function formatCommand(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

export type Runner = (argv: readonly string[], options?: RunOptions) => Promise<RunResult>;

/** Runs argv[0] with the rest as arguments and collects its output. */
export const run: Runner = (argv, options = {}) =>
  new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), {
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let spawnError: Error | undefined;
    child.on('error', (e) => (spawnError = e));
    child.stdin.on('error', () => {}); // the program may exit without reading
    child.stdin.end(options.input ?? '');
    child.on('close', (exitCode, signal) => {
      const result: RunResult = {
        command: [...argv],
        exitCode,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        durationMs: performance.now() - started,
      };
      if (spawnError || ((exitCode !== 0 || signal) && options.reject !== false)) {
        reject(new CommandError(result, spawnError));
      } else resolve(result);
    });
  });

export interface Started {
  pid: number;
  /** Resolves when the program has exited (its code, or null when a signal ended it). */
  exited: Promise<number | null>;
}

/**
 * Starts a long-running program (dnsmasq, a daemon) in its own session, its
 * output appended to logFile, not waited for: it may outlive this process
 * (the caller stops it by pid). Argument vector, never a shell.
 */
export function start(argv: readonly string[], options: { logFile: string; env?: NodeJS.ProcessEnv }): Started {
  const fd = openSync(options.logFile, 'a', 0o600);
  try {
    const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', fd, fd], env: options.env ?? process.env });
    const exited = new Promise<number | null>((resolve) => {
      child.on('error', () => resolve(null));
      child.on('exit', (code) => resolve(code));
    });
    child.unref();
    if (!child.pid) throw new Error(`could not start ${formatCommand(argv)}`);
    return { pid: child.pid, exited };
  } finally {
    closeSync(fd);
  }
}
