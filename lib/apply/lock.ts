// One routing change at a time per host: hooks for 64 interfaces may run at
// once, and each re-converges the shared band (and main's suppress rule).

import { join } from 'node:path';
import { takeLockFile } from '../fs/lock.js';

/** Takes the routing lock under run_dir (waits up to timeoutMs), returns the release function. */
export async function takeLock(runDir: string, timeoutMs = 15_000): Promise<() => Promise<void>> {
  const release = await takeLockFile(join(runDir, 'routing.lock'), timeoutMs);
  return async () => release();
}
