// One routing change at a time per host: hooks for 64 interfaces may run at
// once, and each re-converges the shared `iif lo` band. A lock file under
// run_dir holds the owner's pid; a lock whose owner is dead is taken over.

import { mkdir, open, readFile, rm } from 'node:fs/promises';
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
  await mkdir(runDir, { recursive: true, mode: 0o755 });
  const path = join(runDir, 'routing.lock');
  const deadline = Date.now() + timeoutMs;
  for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
    try {
      const fh = await open(path, 'wx', 0o600);
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return async () => {
        await rm(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (owner > 0 && !alive(owner)) {
      await rm(path, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(`routing lock ${path} held by pid ${owner || '?'} for more than ${timeoutMs} ms`);
    }
    await sleep(delay);
  }
}
