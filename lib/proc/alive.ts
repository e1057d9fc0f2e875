// Whether a process still runs: for lock holders and for the views a daemon
// leaves in run_dir (a stale view says nothing about now).

/** True while `pid` exists (EPERM: it exists, owned by someone else). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
