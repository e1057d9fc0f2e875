// A long-running program whose standard output is read line by line (the
// watcher's `ip monitor`). Argument vector, never a shell, like run.ts.

import { spawn } from 'node:child_process';

export interface Followed {
  pid: number | undefined;
  /** Resolves when the program has exited (code, or the signal that ended it). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  stop(): void;
}

/** Starts argv and calls onLine for each complete line of its output. */
export function follow(argv: readonly string[], onLine: (line: string) => void): Followed {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let rest = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    const text = rest + chunk;
    const lines = text.split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    if (stderr.length < 4096) stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    let done = false;
    child.on('error', (err) => {
      if (done) return;
      done = true;
      resolve({ code: null, signal: null, stderr: err.message });
    });
    child.on('close', (code, signal) => {
      if (done) return;
      done = true;
      if (rest) onLine(rest);
      resolve({ code, signal, stderr });
    });
  });
  return {
    pid: child.pid,
    exited,
    stop: () => {
      child.kill('SIGTERM');
    },
  };
}
