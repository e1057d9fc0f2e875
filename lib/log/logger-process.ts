import { spawn, type ChildProcess } from 'node:child_process';

// logger(1), in a module of its own: log.ts imports it only when a line goes
// to syslog, so runs that log nothing there never load node:child_process.
// (A dynamic `import('node:child_process')` would not do: the single
// executable has no dynamic import of built-in modules; a module of ours is
// bundled and initialised lazily instead.)

/** Starts `logger --prio-prefix` for this process; lines go to its stdin. */
export function spawnLogger(): ChildProcess {
  return spawn('logger', ['--id=' + process.pid, '-t', 'multihomed-routing', '--prio-prefix'], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
}
