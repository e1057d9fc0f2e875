// Is our stderr the systemd journal? systemd sets JOURNAL_STREAM to the
// "device:inode" of the stream it connects a service's stderr to; a process
// whose fd 2 is still that stream has its lines in the journal already, so
// sending them through logger(1) as well would log each one twice
// (systemd.exec(5), JOURNAL_STREAM). A child whose stderr was redirected
// elsewhere inherits the variable but not the stream: hence the fstat.

import { fstatSync } from 'node:fs';

/** True when fd 2 is the stream JOURNAL_STREAM names. */
export function stderrIsJournal(env: NodeJS.ProcessEnv, statStderr: () => { dev: number; ino: number } = () => fstatSync(2)): boolean {
  const m = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? '');
  if (!m) return false;
  try {
    const st = statStderr();
    return st.dev === Number(m[1]) && st.ino === Number(m[2]);
  } catch {
    return false;
  }
}
