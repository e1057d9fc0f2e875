// One routing change at a time per host: hooks for 64 interfaces may run at
// once, and each re-converges the shared `iif lo` band. A lock file under
// run_dir holds the owner's pid; a lock whose owner is dead is taken over.
// Synchronous file calls: a hook does a handful, and the async ones would
// start libuv's thread pool (milliseconds of every hook's latency).

import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the routing lock (waits up to timeoutMs), returns the release function. */
export async function takeLock(runDir: string, timeoutMs = 15_000): Promise<() => Promise<void>> {
  mkdirSync(runDir, { recursive: true, mode: 0o755 }); // dnsmasq reads its servers-file here
  const path = join(runDir, 'routing.lock');
  const deadline = Date.now() + timeoutMs;
  for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return async () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let owner = 0;
    try {
      owner = Number(readFileSync(path, 'utf8').trim());
    } catch {
      continue; // released meanwhile
    }
    if (owner > 0 && !alive(owner)) {
      rmSync(path, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(`routing lock ${path} held by pid ${owner || '?'} for more than ${timeoutMs} ms`);
    }
    await sleep(delay);
  }
}
